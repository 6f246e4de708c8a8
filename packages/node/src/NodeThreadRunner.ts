/**
 * The thread side on Node: serves tasks in a `worker_threads` thread.
 *
 * A worker entry file ends with `NodeThreadRunner.serve([...handlers])`. The thread tells the pool it is ready once
 * the file has loaded (and the `layer`, if any, is built), serves until the pool closes it, then lets the thread
 * exit.
 *
 * A thread's start is mostly the loading of its entry's module graph (`effect/Schema`'s, which every task module
 * brings, is about 140 modules). `NodeThreadPool` therefore starts its threads from the entry bundled into one file
 * and cached (its `bundle` option), which starts in under twice an empty thread's time, with Node's compile cache on
 * (`compileCache`). Stack traces in the thread name the entry's own files (source maps).
 *
 * @since 0.1.0
 */
import type * as Task from "@effect-threads/core/Task"
import type { RunnerPort } from "@effect-threads/core/ThreadPlatform"
import * as ThreadRunner from "@effect-threads/core/ThreadRunner"
import * as Cause from "effect/Cause"
import type * as Fiber from "effect/Fiber"
import { createRequire } from "node:module"
import type * as V8 from "node:v8"
import * as WorkerThreads from "node:worker_threads"

/**
 * The runner's port on the current thread's `parentPort`. A message that cannot be deserialized ends the thread
 * with an error. Outside a worker thread there is none.
 *
 * **Details**
 *
 * Closing removes the port's listeners, then closes the port where it can be closed: Node's and Bun's `parentPort`
 * have `close()`, Deno's has not (its thread ends once nothing listens), so the thread ends on all three.
 *
 * @stability stable
 * @category constructors
 * @since 0.2.0
 */
export const makePort = (parent: WorkerThreads.MessagePort): RunnerPort => {
  let listening: ((batch: unknown) => void) | undefined
  const onMessageError = (error: unknown): never => {
    throw error
  }
  return {
    post: (batch, transfer) => parent.postMessage(batch, transfer as ReadonlyArray<WorkerThreads.Transferable>),
    listen: (onBatch) => {
      listening = onBatch
      parent.on("message", onBatch)
      parent.on("messageerror", onMessageError)
    },
    close: () => {
      if (listening !== undefined) parent.off("message", listening)
      parent.off("messageerror", onMessageError)
      listening = undefined
      // Deno's `parentPort` has no `close()` (the Node types say it has).
      const port: Partial<Pick<WorkerThreads.MessagePort, "close">> = parent
      if (typeof port.close === "function") port.close()
    },
    heapUsed: () => (v8 ??= loadV8()).getHeapStatistics().used_heap_size
  }
}

/**
 * `node:v8`, loaded when the pool first asks for the heap (`recycle.heapAbove`): importing it loads Node's streams
 * (for heap snapshots), about 10 ms of a thread's start that a thread without a heap limit need not pay.
 */
let v8: typeof V8 | undefined
const loadV8 = (): typeof V8 =>
  (typeof process.getBuiltinModule === "function"
    ? process.getBuiltinModule("node:v8")
    : createRequire(import.meta.url)("node:v8")) as typeof V8

/**
 * Serves `handlers` on the current thread. Call it once, at the end of the worker entry file. A `layer` that fails
 * to build ends the thread with its error, which the pool reports as a start failure.
 *
 * **Example** (A worker entry, `tasks.ts`)
 *
 * ```ts
 * import { Effect, Schema } from "effect"
 * import * as Task from "@effect-threads/core/Task"
 * import * as NodeThreadRunner from "@effect-threads/node/NodeThreadRunner"
 *
 * // declared once, in a module the program that calls it imports too
 * const CountPrimes = Task.make("CountPrimes", {
 *   payload: Schema.Struct({ from: Schema.Number, to: Schema.Number }),
 *   success: Schema.Number
 * })
 *
 * // the work itself: plain code (here, the primes in [from, to) by trial division)
 * const countPrimes = (from: number, to: number): number => {
 *   let count = 0
 *   for (let n = Math.max(2, from); n < to; n++) {
 *     let d = 2
 *     while (d * d <= n && n % d !== 0) d++
 *     if (d * d > n) count++
 *   }
 *   return count
 * }
 *
 * NodeThreadRunner.serve([
 *   Task.implement(CountPrimes, ({ from, to }) => Effect.sync(() => countPrimes(from, to)))
 * ])
 * ```
 *
 * @stability stable
 * @category running
 * @since 0.1.0
 */
export const serve = <R = never, E = never>(
  handlers: ReadonlyArray<Task.AnyHandler<R | ThreadRunner.ThreadRunner>>,
  options?: ThreadRunner.ServeOptions<R, E> | undefined
): Fiber.Fiber<void, E> => {
  const parent = WorkerThreads.parentPort
  if (parent === null) throw new Error("NodeThreadRunner.serve runs in a worker thread, not on the main thread")
  const fiber = ThreadRunner.serve(makePort(parent), handlers, options)
  fiber.addObserver((exit) => {
    if (exit._tag === "Failure" && !Cause.hasInterruptsOnly(exit.cause)) {
      // The thread ends with the error: the pool sees a start failure, with the error as its cause.
      const error = Cause.squash(exit.cause)
      queueMicrotask(() => {
        throw error
      })
    }
  })
  return fiber
}
