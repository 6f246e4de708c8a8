/**
 * One platform thread over a `worker_threads` `Worker` (a thread that may start from a bundle is `starting.ts`'s).
 *
 * @internal
 */
import type { ThreadEvents, ThreadHandle } from "@effect-threads/core/ThreadPlatform"
import * as WorkerThreads from "node:worker_threads"

/** A started `Worker` as a platform thread: `onExit` once, from its `exit` event, with its first error. */
export const attach = (worker: WorkerThreads.Worker, events: ThreadEvents): ThreadHandle => {
  let error: unknown = undefined
  let terminated = false
  const terminate = (): void => {
    worker.terminate().then(undefined, () => undefined)
  }
  worker.on("message", events.onBatch)
  worker.on("error", (cause) => {
    error ??= cause
  })
  worker.on("messageerror", (cause) => {
    error ??= cause
    terminate()
  })
  worker.once("exit", (exitCode) => events.onExit({ exitCode, error, terminated }))
  return {
    post: (batch, transfer) => worker.postMessage(batch, transfer as ReadonlyArray<WorkerThreads.Transferable>),
    terminate: () => {
      if (terminated) return
      terminated = true
      terminate()
    }
  }
}

/**
 * A batch held for a thread not there yet, checked as the thread's port would check it: a value the platform cannot
 * clone throws here, to the pool (which then finds the message at fault, as when a post throws), not later when the
 * batch is sent and the thread would have to end. A batch with a transfer list is held unchecked (a clone without
 * its transfers would refuse what only transfers carry, a port); if its late post throws, the thread ends.
 */
export const checked = <A>(batch: A, transfer: ReadonlyArray<unknown>): A => {
  if (transfer.length === 0) structuredClone(batch)
  return batch
}
