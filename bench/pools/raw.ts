/**
 * The hand-written baseline: two `worker_threads` (or `threads`), one `postMessage` per task, round robin, a map of
 * pending promises. No error handling, no queue, no cancellation: the floor that any pool pays on top of. A transfer
 * is `postMessage(message, [buffer])`.
 */
import { Worker } from "node:worker_threads"
import { fromPromises, type Pool } from "./Pool.ts"

export const make = async (threads = 2): Promise<Pool> => {
  const entry = new URL("../workers/raw.ts", import.meta.url)
  const workers = Array.from({ length: threads }, () => new Worker(entry))
  const pending = new Map<number, (result: number) => void>()
  let nextId = 0
  let turn = 0
  const onMessage = ([id, result]: [number, number]) => {
    const resolve = pending.get(id)
    pending.delete(id)
    resolve?.(result)
  }
  for (const worker of workers) worker.on("message", onMessage)
  const call = (op: number, input: unknown, transfer?: ReadonlyArray<ArrayBuffer>) =>
    new Promise<number>((resolve) => {
      const id = nextId++
      pending.set(id, resolve)
      workers[turn]!.postMessage([id, op, input], transfer)
      turn = (turn + 1) % workers.length
    })
  return fromPromises({
    add: (n) => call(0, n),
    fib: (n) => call(1, n),
    rows: (rows) => call(2, rows),
    bytes: (bytes, transfer) => call(3, bytes, transfer ? [bytes.buffer] : undefined),
    close: async () => {
      await Promise.all(workers.map((worker) => worker.terminate()))
    }
  })
}
