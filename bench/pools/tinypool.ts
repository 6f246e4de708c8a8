/**
 * tinypool with its defaults, two threads (or `threads`). A transfer is `run(payload, { transferList: [buffer] })`.
 */
import { Tinypool } from "tinypool"
import { fromPromises, type Pool } from "./Pool.ts"

export const make = async (threads = 2): Promise<Pool> => {
  const pool = new Tinypool({
    filename: new URL("../workers/plain.ts", import.meta.url).href,
    minThreads: threads,
    maxThreads: threads
  })
  return fromPromises({
    add: (n) => pool.run(n) as Promise<number>,
    fib: (n) => pool.run(n, { name: "fib" }) as Promise<number>,
    rows: (rows) => pool.run(rows, { name: "rows" }) as Promise<number>,
    bytes: (bytes, transfer) =>
      pool.run(bytes, transfer ? { name: "bytes", transferList: [bytes.buffer] } : { name: "bytes" }) as Promise<
        number
      >,
    close: () => pool.destroy()
  })
}
