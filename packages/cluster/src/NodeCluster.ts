/**
 * A ready-made cluster on Node for one machine: {@link layerEmbedded}, one process and no database (the process is
 * its own runner, in memory, its tasks on its own `NodeThreadPool`). For many machines, see `PgCluster`.
 *
 * @since 0.3.0
 */
import type { AlreadyQuit } from "@effect-threads/core/AlreadyQuit"
import type * as Task from "@effect-threads/core/Task"
import type { InvalidLimit, ThreadStartFailed } from "@effect-threads/core/ThreadError"
import * as ThreadPool from "@effect-threads/core/ThreadPool"
import * as NodeThreadPool from "@effect-threads/node/NodeThreadPool"
import * as MessageStorage from "effect/cluster/MessageStorage"
import * as RunnerAddress from "effect/cluster/RunnerAddress"
import * as RunnerHealth from "effect/cluster/RunnerHealth"
import * as Runners from "effect/cluster/Runners"
import * as RunnerStorage from "effect/cluster/RunnerStorage"
import * as Sharding from "effect/cluster/Sharding"
import * as ShardingConfig from "effect/cluster/ShardingConfig"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as ClusterRunner from "./ClusterRunner.ts"
import * as ClusterThreadPool from "./ClusterThreadPool.ts"

/**
 * Options of {@link layerEmbedded}: the tasks, the runner's pool, and the caller's options.
 *
 * @stability experimental
 * @category models
 * @since 0.3.0
 */
export interface EmbeddedOptions extends NodeThreadPool.Options {
  readonly tasks: ReadonlyArray<Task.Any>
  readonly cluster?: ClusterThreadPool.Options | undefined
}

/**
 * One process, no database: an in-memory cluster (what `effect/cluster`'s `TestRunner` assembles) whose one runner
 * is this process, serving `tasks` on a local `NodeThreadPool` over `entry`, and the `ThreadPool.Executor` service
 * (and the `ClusterThreadPool.DurableCalls`, kept in memory) over it. The same
 * program later runs on many machines by swapping this layer for {@link layerClient}. The runner's logs name it
 * `embedded-<pid>:0`. It fails as `NodeThreadPool.layer` does: the pool's options are invalid, or its first threads
 * do not start.
 *
 * @stability experimental
 * @category layers
 * @since 0.3.0
 */
export const layerEmbedded = (
  options: EmbeddedOptions
): Layer.Layer<
  ThreadPool.Executor | ClusterThreadPool.DurableCalls,
  ThreadPool.InvalidOptions | AlreadyQuit | InvalidLimit | ThreadStartFailed
> => {
  const local = NodeThreadPool.layer(options)
  // The caller's statistics are those of the one runner's pool: this process's.
  const caller = Layer.unwrap(Effect.gen(function*() {
    const pool = yield* ThreadPool.ThreadPool
    return ClusterThreadPool.layer({ ...options.cluster, runnerStatistics: Effect.map(pool.statistics, (s) => [s]) })
  }))
  return caller.pipe(
    Layer.provide(ClusterRunner.layer({ tasks: options.tasks })),
    Layer.provide(local),
    Layer.provide(inMemory)
  )
}

/**
 * The runner's address in its logs: this process (there is no port, nothing listens). `effect/cluster`'s
 * `TestRunner` would name its default address (`localhost:34431`), which is not this runner's.
 */
const embeddedAddress = RunnerAddress.make(`embedded-${process.pid}`, 0)

/** `effect/cluster`'s `TestRunner` (in-memory storage, no transport), with the runner named for what it is. */
const inMemory = Sharding.layer.pipe(
  Layer.provideMerge(Runners.layerNoop),
  Layer.provideMerge(MessageStorage.layerMemory),
  Layer.provide([RunnerStorage.layerMemory, RunnerHealth.layerNoop]),
  Layer.provide(ShardingConfig.layer({ runnerAddress: Option.some(embeddedAddress) }))
)
