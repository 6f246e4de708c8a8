/**
 * One platform thread over a `worker_threads` `Worker`, started at once or once its entry is known (the first
 * threads of a pool whose bundle is being made).
 *
 * @internal
 */
import type { ThreadEvents, ThreadExit, ThreadHandle } from "@effect-threads/core/ThreadPlatform"
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
 * A thread whose `Worker` is made once `start` settles: what is posted before waits, in order; a `terminate`
 * before means no `Worker` is made, and the exit is reported as terminated. A `Worker` that cannot be made, or a
 * waiting batch that cannot be posted, ends the thread with that error.
 */
export const later = <A>(
  start: Promise<A>,
  spawn: (start: A, events: ThreadEvents) => ThreadHandle,
  events: ThreadEvents
): ThreadHandle => {
  let handle: ThreadHandle | undefined
  let waiting: Array<readonly [unknown, ReadonlyArray<unknown>]> = []
  let terminated = false
  const began = (value: A): void => {
    if (terminated) return events.onExit({ terminated: true })
    let exited = false
    let failure: unknown = undefined
    try {
      handle = spawn(value, {
        onBatch: events.onBatch,
        onExit: (exit) => {
          exited = true
          events.onExit(failure === undefined ? exit : { ...exit, error: exit.error ?? failure })
        }
      })
    } catch (error) {
      return events.onExit({ error })
    }
    for (const [batch, transfer] of waiting) {
      try {
        handle.post(batch, transfer)
      } catch (error) {
        failure = error
        if (!exited) handle.terminate()
        break
      }
    }
    waiting = []
  }
  start.then(began, (error: unknown) => events.onExit({ error }))
  return {
    post: (batch, transfer) => {
      if (handle !== undefined) handle.post(batch, transfer)
      else if (!terminated) waiting.push([checked(batch, transfer), transfer])
    },
    terminate: () => {
      if (handle !== undefined) handle.terminate()
      else terminated = true
    }
  }
}

/**
 * A batch held for a thread not there yet, checked as the thread's port would check it: a value the platform cannot
 * clone throws here, to the pool (which then finds the message at fault, as when a post throws), not later when the
 * batch is sent and the thread would have to end. A batch with a transfer list is held unchecked (a clone without
 * its transfers would refuse what only transfers carry, a port); if its late post throws, the thread ends.
 */
const checked = <A>(batch: A, transfer: ReadonlyArray<unknown>): A => {
  if (transfer.length === 0) structuredClone(batch)
  return batch
}

/**
 * A thread started from a bundle, with the plain entry behind it: what is posted waits until the thread's first
 * message (its READY); a thread that ends before that, not terminated, is replaced by one from `fallback`, which
 * gets the waiting batches, and the pool never sees the first one's end. `recovered` is told the first one's end
 * when the replacement's first message comes (the bundle was at fault, not the entry: the entry failing both ways,
 * say its serve layer failing while a database is down, reports the replacement's end and blames nothing).
 */
export const withFallback = (
  first: (events: ThreadEvents) => ThreadHandle,
  fallback: (events: ThreadEvents) => ThreadHandle,
  recovered: (exit: ThreadExit) => void,
  events: ThreadEvents
): ThreadHandle => {
  let handle: ThreadHandle | undefined
  let waiting: Array<readonly [unknown, ReadonlyArray<unknown>]> | undefined = []
  let terminated = false
  let exited = false
  let failure: unknown = undefined
  const release = (): void => {
    const batches = waiting ?? []
    waiting = undefined
    for (const [batch, transfer] of batches) {
      try {
        handle!.post(batch, transfer)
      } catch (error) {
        failure = error
        if (!exited) handle!.terminate()
        return
      }
    }
  }
  const onExit = (exit: ThreadExit): void => {
    exited = true
    events.onExit(failure === undefined ? exit : { ...exit, error: exit.error ?? failure })
  }
  const replace = (firstExit: ThreadExit): void => {
    let told = false
    try {
      handle = fallback({
        onBatch: (batch) => {
          if (!told) {
            told = true
            recovered(firstExit)
          }
          events.onBatch(batch)
        },
        onExit
      })
    } catch (error) {
      return events.onExit({ error })
    }
    release()
  }
  try {
    handle = first({
      onBatch: (batch) => {
        release() // first, and before the pool hears: what it posts on READY must find the thread's port
        events.onBatch(batch)
      },
      onExit: (exit) => {
        if (waiting === undefined || terminated || exit.terminated === true) return onExit(exit)
        replace(exit)
      }
    })
  } catch {
    handle = fallback({ onBatch: events.onBatch, onExit }) // a throw here is the spawn's, as for any thread
    waiting = undefined
  }
  return {
    post: (batch, transfer) => {
      if (waiting !== undefined) waiting.push([checked(batch, transfer), transfer])
      else handle?.post(batch, transfer)
    },
    terminate: () => {
      terminated = true
      handle?.terminate()
    }
  }
}
