/**
 * The thread pool on Node: `ThreadPool` over `worker_threads`.
 *
 * Each thread runs a worker entry file (a `.ts` file runs through Node's type stripping, no build step) that serves
 * tasks with `NodeThreadRunner.serve`. The layer spawns threads from that file, terminates a thread at once when it
 * must die (a task that ignores its interrupt past the grace period), and when its scope closes leaves no thread
 * alive.
 *
 * @since 0.1.0
 */
import * as ThreadPool from "@effect-threads/core/ThreadPool"
import * as NodeWorker from "@effect/platform-node/NodeWorker"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Worker from "effect/workers/Worker"
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
}

/**
 * The platform part alone: `effect/workers`' Node platform, a spawner for `entry`, and the `Terminate` service that
 * ends a thread at once. Threads are named `<pool name>-<thread id>`.
 *
 * @stability stable
 * @category layers
 * @since 0.1.0
 */
export const layerPlatform = (
  options: Pick<Options, "entry" | "workerOptions" | "name">
): Layer.Layer<Worker.WorkerPlatform | Worker.Spawner> =>
  Layer.unwrap(Effect.sync(() => {
    const live = new Map<number, WorkerThreads.Worker>()
    const prefix = options.name ?? "ThreadPool"
    const spawn = (id: number): WorkerThreads.Worker => {
      const worker = new WorkerThreads.Worker(options.entry, { ...options.workerOptions, name: `${prefix}-${id}` })
      live.set(id, worker)
      worker.once("exit", () => live.delete(id))
      return worker
    }
    const terminate = (id: number): Effect.Effect<void> =>
      Effect.suspend(() => {
        const worker = live.get(id)
        return worker === undefined ? Effect.void : Effect.promise(() => worker.terminate()).pipe(Effect.asVoid)
      })
    return Layer.mergeAll(NodeWorker.layerPlatform, Worker.layerSpawner(spawn)).pipe(
      Layer.provideMerge(Layer.succeed(ThreadPool.Terminate)(terminate))
    )
  }))

/**
 * A started `ThreadPool` on `worker_threads`.
 *
 * **Example** (A pool of 2 to 4 threads)
 *
 * ```ts
 * import { Effect } from "effect"
 * import * as ThreadPool from "@effect-threads/core/ThreadPool"
 * import { NodeThreadPool } from "@effect-threads/node"
 * import { CountPrimes } from "./tasks-api.ts"
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
export const layer = (options: Options) => ThreadPool.layer(options).pipe(Layer.provide(layerPlatform(options)))

/**
 * Creates a pool that has not started, in the current scope, with the Node platform provided: for code that wants
 * Twisted's explicit `start` and `stop`.
 *
 * @stability stable
 * @category constructors
 * @since 0.1.0
 */
export const make = (options: Options) => ThreadPool.make(options).pipe(Effect.provide(layerPlatform(options)))
