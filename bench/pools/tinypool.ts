/**
 * tinypool with its defaults, two threads.
 */
import { Tinypool } from "tinypool"
import { fromPromises, type Pool } from "./Pool.ts"

export const make = async (): Promise<Pool> => {
  const pool = new Tinypool({
    filename: new URL("../workers/plain.ts", import.meta.url).href,
    minThreads: 2,
    maxThreads: 2
  })
  return fromPromises({
    add: (n) => pool.run(n) as Promise<number>,
    fib: (n) => pool.run(n, { name: "fib" }) as Promise<number>,
    close: () => pool.destroy()
  })
}
