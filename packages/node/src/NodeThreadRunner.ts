/**
 * The thread side on Node: serves tasks in a `worker_threads` thread.
 *
 * A worker entry file ends with `NodeThreadRunner.serve([...handlers])`. The thread tells the pool it is ready once
 * the file has loaded, serves until the pool closes it, then lets the thread exit.
 *
 * @since 0.1.0
 */
import type * as Task from "@effect-threads/core/Task"
import * as ThreadRunner from "@effect-threads/core/ThreadRunner"
import * as NodeWorkerRunner from "@effect/platform-node/NodeWorkerRunner"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import type { WorkerError } from "effect/workers/WorkerError"

/**
 * Serves `handlers` on the current thread. Call it once, at the end of the worker entry file.
 *
 * **Example** (A worker entry, `tasks.ts`)
 *
 * ```ts
 * import { Effect } from "effect"
 * import * as Task from "@effect-threads/core/Task"
 * import * as NodeThreadRunner from "@effect-threads/node/NodeThreadRunner"
 * import { CountPrimes } from "./tasks-api.ts"
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
  handlers: ReadonlyArray<Task.AnyHandler<R | ThreadRunner.CurrentRunner>>,
  options?: {
    /**
     * Provides what the handlers need, built once when the thread starts: services, a `Tracer` that exports the
     * thread's spans, a logger.
     */
    readonly layer?: Layer.Layer<R, E> | undefined
  }
): Fiber.Fiber<void, WorkerError | E> => {
  const program = ThreadRunner.make(handlers).pipe(Effect.provide(NodeWorkerRunner.layer))
  // Without a layer, the handlers need nothing (R is never).
  return Effect.runFork(
    options?.layer === undefined
      ? program as unknown as Effect.Effect<void, WorkerError>
      : Effect.provide(program, options.layer)
  )
}
