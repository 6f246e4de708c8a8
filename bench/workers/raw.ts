/**
 * The worker of the hand-written dispatcher: one message per task, `[id, op, input]` in, `[id, result]` out. Ops:
 * 0 `n + 1`, 1 `fib(n)`, 2 the number of rows of an array, 3 the length in bytes of a typed array.
 */
import { parentPort } from "node:worker_threads"
import { fib } from "./fib.ts"

const port = parentPort
if (port === null) throw new Error("workers/raw.ts must run in a worker thread")
port.on("message", ([id, op, input]: [number, number, unknown]) => {
  port.postMessage([
    id,
    op === 0
      ? (input as number) + 1
      : op === 1
      ? fib(input as number)
      : op === 2
      ? (input as ReadonlyArray<unknown>).length
      : (input as Uint8Array).byteLength
  ])
})
