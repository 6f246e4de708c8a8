/**
 * The worker of the hand-written dispatcher: one message per task, `[id, op, n]` in, `[id, result]` out.
 */
import { parentPort } from "node:worker_threads"
import { fib } from "./fib.ts"

const port = parentPort
if (port === null) throw new Error("workers/raw.ts must run in a worker thread")
port.on("message", ([id, op, n]: [number, number, number]) => {
  port.postMessage([id, op === 0 ? n + 1 : fib(n)])
})
