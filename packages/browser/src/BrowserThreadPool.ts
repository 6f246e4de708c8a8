/**
 * The thread pool in the browser: `ThreadPool` over dedicated Web Workers.
 *
 * Each thread is a module worker that the user creates in `spawn`, written as
 * `new Worker(new URL("./tasks.ts", import.meta.url), { type: "module" })` so that the bundler (Vite) finds the
 * entry, compiles it and gives it a URL. The entry serves tasks with `BrowserThreadRunner.serve`. The layer spawns
 * workers through `spawn`, terminates a worker at once when it must die (a task that ignores its interrupt past the
 * grace period), and when its scope closes leaves no worker alive.
 *
 * The platform part is written here against `effect/workers`' public types (`Worker.makePlatform`), because
 * `@effect/platform-browser` has no release that works with effect 4.1.
 *
 * @since 0.1.0
 */
import * as ThreadPool from "@effect-threads/core/ThreadPool"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import * as Worker from "effect/workers/Worker"
import { WorkerError, WorkerReceiveError } from "effect/workers/WorkerError"

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

const receiveError = (message: string): WorkerError => new WorkerError({ reason: new WorkerReceiveError({ message }) })

/**
 * The platform part alone: a `Worker.WorkerPlatform` over `globalThis.Worker`, a spawner that calls `spawn`, and
 * the `ThreadPool.Terminate` service that ends a worker at once.
 *
 * Closing a worker's scope posts the close message (`[1]`) and terminates the worker in the same turn: a browser
 * worker has no exit to wait for. An `error` or `messageerror` event ends the worker's run with a `WorkerError`
 * whose reason is a `WorkerReceiveError` carrying the event's message; the event is marked as handled, so it is not
 * reported again as an uncaught error of the page.
 *
 * @stability stable
 * @category layers
 * @since 0.1.0
 */
export const layerPlatform = (
  options: { readonly spawn: Spawn }
): Layer.Layer<Worker.WorkerPlatform | Worker.Spawner> =>
  Layer.unwrap(Effect.sync(() => {
    // The live workers by thread id, and for each listened-to worker the way to end its run from outside.
    const live = new Map<number, globalThis.Worker>()
    const endRun = new Map<globalThis.Worker, (message: string) => void>()

    const spawn = (id: number): globalThis.Worker => {
      const worker = options.spawn(id)
      live.set(id, worker)
      return worker
    }

    const forget = (worker: globalThis.Worker): void => {
      for (const [id, w] of live) {
        if (w === worker) live.delete(id)
      }
    }

    const platform = Worker.makePlatform<globalThis.Worker>()({
      setup: ({ scope, worker }) =>
        Effect.as(
          Scope.addFinalizer(
            scope,
            Effect.sync(() => {
              worker.postMessage([1])
              worker.terminate()
              forget(worker)
            })
          ),
          worker
        ),
      listen: ({ deferred, emit, port, scope }) =>
        Effect.suspend(() => {
          const fail = (message: string): void => {
            Deferred.doneUnsafe(deferred, Exit.fail(receiveError(message)))
          }
          const onMessage = (event: MessageEvent): void => emit(event.data)
          const onError = (event: Event): void => {
            event.preventDefault()
            fail(describeError(event))
          }
          const onMessageError = (): void => fail("a message from the worker could not be deserialized")
          port.addEventListener("message", onMessage)
          port.addEventListener("error", onError)
          port.addEventListener("messageerror", onMessageError)
          endRun.set(port, fail)
          return Scope.addFinalizer(
            scope,
            Effect.sync(() => {
              port.removeEventListener("message", onMessage)
              port.removeEventListener("error", onError)
              port.removeEventListener("messageerror", onMessageError)
              endRun.delete(port)
            })
          )
        })
    })

    // A terminated worker sends no event: its run is ended here, so the pool sees the thread die.
    const terminate = (id: number): Effect.Effect<void> =>
      Effect.sync(() => {
        const worker = live.get(id)
        if (worker === undefined) return
        live.delete(id)
        worker.terminate()
        endRun.get(worker)?.(`worker ${id} was terminated`)
      })

    return Layer.mergeAll(Layer.succeed(Worker.WorkerPlatform)(platform), Worker.layerSpawner(spawn)).pipe(
      Layer.provideMerge(Layer.succeed(ThreadPool.Terminate)(terminate))
    )
  }))

/**
 * A started `ThreadPool` on Web Workers.
 *
 * **Example** (A pool of up to 4 workers in a Vite app)
 *
 * ```ts
 * import { Effect } from "effect"
 * import * as ThreadPool from "@effect-threads/core/ThreadPool"
 * import { BrowserThreadPool } from "@effect-threads/browser"
 * import { CountPrimes } from "./api.ts"
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
export const layer = (options: Options) => ThreadPool.layer(options).pipe(Layer.provide(layerPlatform(options)))

/**
 * Creates a pool that has not started, in the current scope, with the browser platform provided: for code that
 * wants Twisted's explicit `start` and `stop`.
 *
 * @stability stable
 * @category constructors
 * @since 0.1.0
 */
export const make = (options: Options) => ThreadPool.make(options).pipe(Effect.provide(layerPlatform(options)))
