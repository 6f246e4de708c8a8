/**
 * The worker of the hand-written batched dispatcher (`bench/bulk.ts`): one message per batch, `[id, op, inputs]` in,
 * `[id, outputs]` out. Ops as `raw.ts`'s: 0 `n + 1`, 1 `fib(n)`.
 */
import { parentPort } from "node:worker_threads"
import { fib } from "./fib.ts"

const port = parentPort
if (port === null) throw new Error("workers/raw-batched.ts must run in a worker thread")
port.on("message", ([id, op, inputs]: [number, number, ReadonlyArray<number>]) => {
  port.postMessage([id, inputs.map((n) => op === 0 ? n + 1 : fib(n))])
})
