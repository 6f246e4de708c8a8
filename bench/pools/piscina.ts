/**
 * piscina with its defaults (one task in flight per thread, Atomics on), two threads (or `threads`). A transfer is
 * `run(payload, { transferList: [buffer] })`.
 */
import { Piscina } from "piscina"
import { fromPromises, type Pool } from "./Pool.ts"

export const make = async (threads = 2): Promise<Pool> => {
  const pool = new Piscina<unknown, number>({
    filename: new URL("../workers/plain.ts", import.meta.url).href,
    minThreads: threads,
    maxThreads: threads
  })
  return fromPromises({
    add: (n) => pool.run(n),
    fib: (n) => pool.run(n, { name: "fib" }),
    rows: (rows) => pool.run(rows, { name: "rows" }),
    bytes: (bytes, transfer) =>
      pool.run(bytes, transfer ? { name: "bytes", transferList: [bytes.buffer] } : { name: "bytes" }),
    close: () => pool.destroy()
  })
}
