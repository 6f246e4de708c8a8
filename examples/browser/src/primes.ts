/**
 * Counting primes by trial division: deliberately CPU-heavy, so that it shows what a pool of workers buys.
 */

/** Whether `n` is prime, by trial division up to its square root. */
export const isPrime = (n: number): boolean => {
  if (n < 2) return false
  if (n < 4) return true
  if (n % 2 === 0) return false
  for (let d = 3; d * d <= n; d += 2) {
    if (n % d === 0) return false
  }
  return true
}

/** The number of primes `p` with `from <= p < to`. */
export const countPrimes = (from: number, to: number): number => {
  let count = 0
  for (let n = from; n < to; n++) {
    if (isPrime(n)) count++
  }
  return count
}

/** Splits `[0, limit)` into ranges of `size` numbers (the last may be shorter). */
export const chunks = (limit: number, size: number): Array<{ readonly from: number; readonly to: number }> => {
  const ranges: Array<{ readonly from: number; readonly to: number }> = []
  for (let from = 0; from < limit; from += size) ranges.push({ from, to: Math.min(limit, from + size) })
  return ranges
}
