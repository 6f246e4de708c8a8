/**
 * The demo's worker entry: counts primes by trial division, a deliberately CPU-heavy job.
 */
import * as Task from "@effect-threads/core/Task"
import * as Effect from "effect/Effect"
import * as NodeThreadRunner from "../src/NodeThreadRunner.ts"
import { CountPrimes } from "./api.ts"

export const countPrimes = (from: number, to: number): number => {
  let count = 0
  for (let n = Math.max(2, from); n < to; n++) {
    let prime = true
    for (let d = 2; d * d <= n; d++) {
      if (n % d === 0) {
        prime = false
        break
      }
    }
    if (prime) count++
  }
  return count
}

NodeThreadRunner.serve([Task.implement(CountPrimes, ({ from, to }) => Effect.sync(() => countPrimes(from, to)))])
