/**
 * The thread pool on Node: `ThreadPool` over `worker_threads`.
 *
 * Each thread runs a worker entry file (a `.ts` file runs through Node's type stripping, no build step) that serves
 * tasks with `NodeThreadRunner.serve`. The platform spawns threads from that file, reports each thread's exit with
 * its real exit code and the error that ended it, and terminates a thread at once when the pool says so.
 *
 * @since 0.1.0
 */
import type { AlreadyQuit } from "@effect-threads/core/AlreadyQuit"
import type { InvalidLimit, ThreadStartFailed } from "@effect-threads/core/ThreadError"
import { ThreadPlatform } from "@effect-threads/core/ThreadPlatform"
import * as ThreadPool from "@effect-threads/core/ThreadPool"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as Os from "node:os"
import * as Path from "node:path"
import * as WorkerThreads from "node:worker_threads"

/**
 * Options of {@link layer}: the pool's options plus where its threads come from.
 *
 * @stability stable
 * @category models
 * @since 0.1.0
 */
export interface Options extends ThreadPool.Options {
  /** The worker entry file, e.g. `new URL("./tasks.ts", import.meta.url)`. */
  readonly entry: URL | string
  /** Options for each `new Worker(entry, options)`: `resourceLimits`, `env`, `execArgv`, ... */
  readonly workerOptions?: Omit<WorkerThreads.WorkerOptions, "name"> | undefined
  /**
   * Node's compile cache for the threads' modules (`NODE_COMPILE_CACHE`): a directory, `true` for Node's own
   * default (`<tmpdir>/node-compile-cache`), or `false`. Default `true`: a thread that loads `effect/Schema` starts
   * about a third faster from the second start on (the first writes the cache). Left alone when the threads' `env`
   * already says, or is `SHARE_ENV`.
   */
  readonly compileCache?: boolean | string | undefined
}

/** The threads' environment, with the compile cache switched on where the options ask for it. */
const threadEnv = (options: Pick<Options, "workerOptions" | "compileCache">): WorkerThreads.WorkerOptions["env"] => {
  const env = options.workerOptions?.env
  const cache = options.compileCache ?? true
  if (cache === false || typeof env === "symbol") return env
  const base = (env ?? process.env) as Readonly<Record<string, string | undefined>>
  if (base.NODE_COMPILE_CACHE !== undefined || base.NODE_DISABLE_COMPILE_CACHE !== undefined) return env
  return { ...base, NODE_COMPILE_CACHE: cache === true ? Path.join(Os.tmpdir(), "node-compile-cache") : cache }
}

/**
 * The platform part alone: a `ThreadPlatform` over `worker_threads`. Threads are named `<pool name>-<thread id>`.
 *
 * **Details**
 *
 * A thread's `onExit` comes once, from the worker's `exit` event, with its exit code and the first error of its
 * `error` event (an uncaught exception, an entry that cannot be loaded). A `messageerror` (a message from the thread
 * that cannot be deserialized) ends the thread, with that as its error. `terminate` is `worker.terminate()`.
 *
 * @stability stable
 * @category layers
 * @since 0.1.0
 */
export const layerPlatform = (
  options: Pick<Options, "entry" | "workerOptions" | "name" | "compileCache">
): Layer.Layer<ThreadPlatform> =>
  Layer.sync(ThreadPlatform)(() => {
    const env = threadEnv(options)
    return ThreadPlatform.of({
      spawn: (id, events) => {
        const worker = new WorkerThreads.Worker(options.entry, {
          ...options.workerOptions,
          ...(env === undefined ? {} : { env }),
          name: `${options.name ?? "ThreadPool"}-${id}`
        })
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
    })
  })

/**
 * A started `ThreadPool` on `worker_threads`.
 *
 * **Example** (A pool of 2 to 4 threads)
 *
 * ```ts
 * import { Effect, Schema } from "effect"
 * import * as Task from "@effect-threads/core/Task"
 * import * as ThreadPool from "@effect-threads/core/ThreadPool"
 * import { NodeThreadPool } from "@effect-threads/node"
 *
 * // declared once, in a module the worker entry imports too
 * const CountPrimes = Task.make("CountPrimes", {
 *   payload: Schema.Struct({ from: Schema.Number, to: Schema.Number }),
 *   success: Schema.Number
 * })
 *
 * const PoolLive = NodeThreadPool.layer({
 *   entry: new URL("./tasks.ts", import.meta.url),
 *   minThreads: 2,
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
  ThreadPool.InvalidPoolSize | AlreadyQuit | InvalidLimit | ThreadStartFailed
> => ThreadPool.layer(options).pipe(Layer.provide(layerPlatform(options)))

/**
 * Creates a pool that has not started, in the current scope, with the Node platform provided: for code that wants
 * Twisted's explicit `start` and `stop`.
 *
 * @stability stable
 * @category constructors
 * @since 0.1.0
 */
export const make = (
  options: Options
): Effect.Effect<ThreadPool.ThreadPoolShape, ThreadPool.InvalidPoolSize, Scope.Scope> =>
  ThreadPool.make(options).pipe(Effect.provide(layerPlatform(options)))
