/**
 * poolifier's `FixedThreadPool` with its defaults, two threads (or `threads`). A transfer is
 * `execute(payload, name, undefined, [buffer])`.
 *
 * `destroy()` of poolifier 5.3.2 never settles in about a third of the closes here: a thread exits on the kill
 * message before `terminate()` starts waiting for its `exit` event, which then never comes (and the process exits
 * with an unsettled promise). The pool counts as closed when `destroy()` settles or every thread has exited,
 * whichever comes first.
 */
import { fileURLToPath } from "node:url"
import { FixedThreadPool } from "poolifier"
import { fromPromises, type Pool } from "./Pool.ts"

export const make = async (threads = 2): Promise<Pool> => {
  const pool = new FixedThreadPool<unknown, number>(
    threads,
    fileURLToPath(new URL("../workers/poolifier.ts", import.meta.url)),
    { errorHandler: (error) => console.error("poolifier worker error", error) }
  )
  const close = async (): Promise<void> => {
    const exited = Promise.all(
      pool.workerNodes.map((node) =>
        new Promise<void>((resolve) => node.registerOnceWorkerEventHandler("exit", () => resolve()))
      )
    )
    await Promise.race([pool.destroy(), exited.then(() => new Promise<void>((resolve) => setImmediate(resolve)))])
  }
  return fromPromises({
    add: (n) => pool.execute(n),
    fib: (n) => pool.execute(n, "fib"),
    rows: (rows) => pool.execute(rows, "rows"),
    bytes: (bytes, transfer) => pool.execute(bytes, "bytes", undefined, transfer ? [bytes.buffer] : undefined),
    close
  })
}
