/**
 * The thread pool in the browser: `ThreadPool` over dedicated Web Workers.
 *
 * Each thread is a module worker that the user creates in `spawn`, written as
 * `new Worker(new URL("./tasks.ts", import.meta.url), { type: "module" })` so that the bundler (Vite) finds the
 * entry, compiles it and gives it a URL. The entry serves tasks with `BrowserThreadRunner.serve`. The platform
 * spawns workers through `spawn`, reports a worker's death (an error event, or its termination), and terminates a
 * worker at once when the pool says so.
 *
 * @since 0.1.0
 */
import type { AlreadyQuit } from "@effect-threads/core/AlreadyQuit"
import type { InvalidLimit, ThreadStartFailed } from "@effect-threads/core/ThreadError"
import { type ThreadExit, ThreadPlatform } from "@effect-threads/core/ThreadPlatform"
import * as ThreadPool from "@effect-threads/core/ThreadPool"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import { CLOSED } from "./internal/closed.ts"

/**
 * Creates the Web Worker of a thread, given the thread's id (1, 2, ...; a replacement thread gets a new id).
 *
 * @stability stable
 * @category models
 * @since 0.1.0
 */
export type Spawn = (id: number) => globalThis.Worker

/**
 * Options of {@link layer}: the pool's options plus where its workers come from.
 *
 * @stability stable
 * @category models
 * @since 0.1.0
 */
export interface Options extends ThreadPool.Options {
  /**
   * Creates a worker, e.g. `() => new Worker(new URL("./tasks.ts", import.meta.url), { type: "module" })`. Write
   * the `new Worker(new URL(...))` expression out in full where you declare it: that is the shape Vite looks for
   * to bundle the entry.
   */
  readonly spawn: Spawn
}

/** What the page knows of a failed worker: an `ErrorEvent` has a message and a place, a load failure has neither. */
const describeError = (event: Event): string => {
  if (typeof ErrorEvent === "function" && event instanceof ErrorEvent) {
    const where = event.filename === "" ? "" : ` (${event.filename}:${event.lineno}:${event.colno})`
    return `the worker reported an error: ${event.message === "" ? "(no message)" : event.message}${where}`
  }
  return "the worker reported an error event without a message (its script may have failed to load)"
}

/**
 * The platform part alone: a `ThreadPlatform` over `globalThis.Worker`, creating each worker with `spawn`.
 *
 * **Details**
 *
 * A browser worker has no exit event, so the platform decides when a worker ended: an `error` event (an uncaught
 * error, a script that failed to load) or a `messageerror` event is its death (the event is marked as handled, the
 * worker terminated, and `onExit` reports the event's description as the error); `terminate` ends it at once. In
 * each case `onExit` comes once, in a later microtask, with no exit code.
 *
 * @stability stable
 * @category layers
 * @since 0.1.0
 */
export const layerPlatform = (options: { readonly spawn: Spawn }): Layer.Layer<ThreadPlatform> =>
  Layer.succeed(ThreadPlatform)(ThreadPlatform.of({
    spawn: (id, events) => {
      const worker = options.spawn(id)
      let ended = false
      const end = (exit: ThreadExit): void => {
        if (ended) return
        ended = true
        worker.removeEventListener("message", onMessage)
        worker.removeEventListener("error", onError)
        worker.removeEventListener("messageerror", onMessageError)
        worker.terminate()
        queueMicrotask(() => events.onExit(exit))
      }
      const onMessage = (event: MessageEvent): void =>
        event.data === CLOSED ? end({ exitCode: 0 }) : events.onBatch(event.data)
      const onError = (event: Event): void => {
        event.preventDefault()
        end({ error: new Error(describeError(event)) })
      }
      const onMessageError = (): void =>
        end({ error: new Error("a message from the worker could not be deserialized") })
      worker.addEventListener("message", onMessage)
      worker.addEventListener("error", onError)
      worker.addEventListener("messageerror", onMessageError)
      return {
        post: (batch, transfer) => worker.postMessage(batch, transfer as Array<Transferable>),
        terminate: () => end({ terminated: true })
      }
    }
  }))

/**
 * A started `ThreadPool` on Web Workers.
 *
 * **Example** (A pool of up to 4 workers in a Vite app)
 *
 * ```ts
 * import { Effect, Schema } from "effect"
 * import * as Task from "@effect-threads/core/Task"
 * import * as ThreadPool from "@effect-threads/core/ThreadPool"
 * import { BrowserThreadPool } from "@effect-threads/browser"
 *
 * // declared once, in a module the worker entry imports too
 * const CountPrimes = Task.make("CountPrimes", {
 *   payload: Schema.Struct({ from: Schema.Number, to: Schema.Number }),
 *   success: Schema.Number
 * })
 *
 * const PoolLive = BrowserThreadPool.layer({
 *   spawn: () => new Worker(new URL("./tasks.ts", import.meta.url), { type: "module" }),
 *   maxThreads: 4
 * })
 *
 * const program = ThreadPool.deferToThread(CountPrimes, { from: 0, to: 1_000_000 }).pipe(
 *   Effect.provide(PoolLive)
 * )
 * ```
 *
 * @stability stable
 * @category layers
 * @since 0.1.0
 */
export const layer = (
  options: Options
): Layer.Layer<
  ThreadPool.ThreadPool | ThreadPool.Executor,
  ThreadPool.InvalidOptions | AlreadyQuit | InvalidLimit | ThreadStartFailed
> => ThreadPool.layer(options).pipe(Layer.provide(layerPlatform(options)))

/**
 * Creates a pool that has not started, in the current scope, with the browser platform provided: for code that
 * wants Twisted's explicit `start` and `stop`.
 *
 * @stability stable
 * @category constructors
 * @since 0.1.0
 */
export const make = (
  options: Options
): Effect.Effect<ThreadPool.ThreadPoolShape, ThreadPool.InvalidOptions, Scope.Scope> =>
  ThreadPool.make(options).pipe(Effect.provide(layerPlatform(options)))
