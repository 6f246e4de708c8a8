/**
 * piscina with its defaults (one task in flight per thread, Atomics on), two threads.
 */
import { Piscina } from "piscina"
import { fromPromises, type Pool } from "./Pool.ts"

export const make = async (): Promise<Pool> => {
  const pool = new Piscina<number, number>({
    filename: new URL("../workers/plain.ts", import.meta.url).href,
    minThreads: 2,
    maxThreads: 2
  })
  return fromPromises({
    add: (n) => pool.run(n),
    fib: (n) => pool.run(n, { name: "fib" }),
    close: () => pool.destroy()
  })
}
