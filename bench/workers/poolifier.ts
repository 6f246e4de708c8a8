/**
 * The worker of poolifier: the first task function (`add`) is its default; `rows` and `bytes` answer how many rows or
 * bytes of a cost curve's payload arrived.
 */
import { ThreadWorker } from "poolifier"
import { fib } from "./fib.ts"

export default new ThreadWorker<unknown, number>({
  add: (n) => (n as number ?? 0) + 1,
  fib: (n) => fib(n as number ?? 0),
  rows: (rows) => (rows as ReadonlyArray<unknown>).length,
  bytes: (bytes) => (bytes as Uint8Array).byteLength
})
