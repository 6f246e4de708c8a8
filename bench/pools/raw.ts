/**
 * The hand-written baseline: two `worker_threads`, one `postMessage` per task, round robin, a map of pending
 * promises. No error handling, no queue, no cancellation: the floor that any pool pays on top of.
 */
import { Worker } from "node:worker_threads"
import { fromPromises, type Pool } from "./Pool.ts"

export const make = async (): Promise<Pool> => {
  const entry = new URL("../workers/raw.ts", import.meta.url)
  const workers = [new Worker(entry), new Worker(entry)]
  const pending = new Map<number, (result: number) => void>()
  let nextId = 0
  let turn = 0
  const onMessage = ([id, result]: [number, number]) => {
    const resolve = pending.get(id)
    pending.delete(id)
    resolve?.(result)
  }
  for (const worker of workers) worker.on("message", onMessage)
  const call = (op: number, n: number) =>
    new Promise<number>((resolve) => {
      const id = nextId++
      pending.set(id, resolve)
      workers[turn]!.postMessage([id, op, n])
      turn = (turn + 1) % workers.length
    })
  return fromPromises({
    add: (n) => call(0, n),
    fib: (n) => call(1, n),
    close: async () => {
      await Promise.all(workers.map((worker) => worker.terminate()))
    }
  })
}
