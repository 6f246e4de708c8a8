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
import { type ThreadEvents, type ThreadHandle, ThreadPlatform } from "@effect-threads/core/ThreadPlatform"
import * as ThreadPool from "@effect-threads/core/ThreadPool"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Os from "node:os"
import * as Path from "node:path"
import * as WorkerThreads from "node:worker_threads"
import * as Entries from "./internal/entries.ts"
import * as Starting from "./internal/starting.ts"
import * as Worker from "./internal/worker.ts"

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
  /**
   * Threads start from the entry bundled (with rolldown), which loads in well under half the time of the entry as it
   * is: the entry's module graph (`effect/Schema` alone is about 140 modules) is what a thread's start costs.
   * Default `true` on Node; on Bun only when set (`true` or `{ cacheDir }`); never on Deno. The bundle is made when
   * the first thread starts and cached, keyed by every file it was made from: later pools and processes reuse it
   * while none of them changed (each start checks their sizes and times). `{ cacheDir }` puts the cache there
   * instead of `node_modules/.cache/effect-threads` in the nearest `node_modules` above the entry (or
   * `<tmpdir>/effect-threads-<uid>` where that cannot be written). `false` starts the entry as it is.
   *
   * Threads started from a bundle map stack traces to the entry's own source files and lines (source maps, for files
   * outside `node_modules`); `import.meta.url`, `new URL("./file", import.meta.url)` and dynamic
   * imports behave as in the entry, and `import.meta.main` is true in the entry alone. An entry that cannot be bundled
   * safely (`import.meta` used as a whole, a CommonJS entry, a specifier computed at run time that the cache's
   * directory would resolve otherwise) starts as it is; a bundler failure, or a cache that cannot be written, starts
   * it as it is after one warning. A thread of a bundle that ends before it is ready, or has not loaded it within half
   * the `startTimeout` (an infinite one: never), gets a thread of the entry as it is (beside it while it runs: the
   * first one ready is kept). Where that one starts and the bundle did not, the entry's threads start as it is for an
   * hour (one warning; the cache remembers), then try the bundle again (after a failure again, silently, 4 hours,
   * then 16, at most a week).
   *
   * @since 0.4.0
   */
  readonly bundle?: boolean | { readonly cacheDir?: string | undefined } | undefined
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

/** Whether a pool with these options bundles its entry: by default on Node; on Bun when asked; never on Deno. */
const bundles = (options: Pick<Options, "bundle" | "workerOptions">): boolean =>
  options.bundle !== false && options.workerOptions?.eval !== true && process.versions.deno === undefined &&
  (process.versions.bun === undefined || options.bundle !== undefined)

/**
 * How long a thread's bundle may take to be made and loaded before a thread of the entry as it is starts beside it:
 * half the pool's `startTimeout` (30 seconds by default), so that either has time to start; none when it is infinite.
 */
const bundleBudget = (startTimeout: Duration.Input | undefined): number => {
  const timeout = startTimeout === undefined ? undefined : Option.getOrUndefined(Duration.fromInput(startTimeout))
  return timeout === undefined ? 15_000 : Duration.toMillis(timeout) / 2
}

/**
 * The platform part alone: a `ThreadPlatform` over `worker_threads`. Threads are named `<pool name>-<thread id>`.
 *
 * **Details**
 *
 * A thread's `onExit` comes once, from the worker's `exit` event, with its exit code and the first error of its
 * `error` event (an uncaught exception, an entry that cannot be loaded). A `messageerror` (a message from the thread
 * that cannot be deserialized) ends the thread, with that as its error. `terminate` is `worker.terminate()`.
 * Where the entry is bundled (`bundle`), the first threads wait for the bundle to be made; a warning about it is
 * logged with the layer's context.
 *
 * @stability stable
 * @category layers
 * @since 0.1.0
 */
export const layerPlatform = (
  options: Pick<Options, "entry" | "workerOptions" | "name" | "compileCache" | "bundle" | "startTimeout">
): Layer.Layer<ThreadPlatform> =>
  Layer.effect(ThreadPlatform)(Effect.map(Effect.context<never>(), (context) => {
    const env = threadEnv(options)
    const bundle = typeof options.bundle === "object" ? options.bundle : {}
    const config: Entries.Config = {
      entry: options.entry,
      cacheDir: bundle.cacheDir,
      conditions: Entries.conditionsOf(options.workerOptions?.execArgv ?? process.execArgv),
      warn: (message) => Effect.runForkWith(context)(Effect.logWarning(message))
    }
    const next = bundles(options) ? Entries.next(config) : () => ({ entry: options.entry, bundled: false })
    const attach = (start: Entries.Start, id: number, events: ThreadEvents): ThreadHandle =>
      Worker.attach(
        new WorkerThreads.Worker(start.entry, {
          ...options.workerOptions,
          ...(env === undefined ? {} : { env }),
          name: `${options.name ?? "ThreadPool"}-${id}`
        }),
        events
      )
    const plain: Entries.Start = { entry: options.entry, bundled: false }
    const budget = bundleBudget(options.startTimeout)
    return ThreadPlatform.of({
      spawn: (id, events) => {
        const start = next()
        if (!(start instanceof Promise) && !start.bundled) return attach(start, id, events)
        // the bundle (made, or in the making) with the plain entry behind it
        return Starting.start(start, {
          attach: (from, candidate) => attach(from, id, candidate),
          plain,
          budget,
          blame: (bundled, why) => Entries.unusable(config, bundled, why),
          proven: Entries.proven
        }, events)
      }
    })
  }))

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
  ThreadPool.InvalidOptions | AlreadyQuit | InvalidLimit | ThreadStartFailed
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
): Effect.Effect<ThreadPool.ThreadPoolShape, ThreadPool.InvalidOptions, Scope.Scope> =>
  ThreadPool.make(options).pipe(Effect.provide(layerPlatform(options)))
