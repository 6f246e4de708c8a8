/**
 * A ready-made cluster on Node for one machine: {@link layerEmbedded}, one process and no database (the process is
 * its own runner, in memory, its tasks on its own `NodeThreadPool`). For many machines, see `PgCluster`.
 *
 * @since 0.3.0
 */
import type * as Task from "@effect-threads/core/Task"
import * as ThreadPool from "@effect-threads/core/ThreadPool"
import * as NodeThreadPool from "@effect-threads/node/NodeThreadPool"
import * as TestRunner from "effect/cluster/TestRunner"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
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
 * One process, no database: an in-memory cluster (`effect/cluster`'s `TestRunner`) whose one runner is this
 * process, serving `tasks` on a local `NodeThreadPool` over `entry`, and the `ThreadPool` service (and the
 * `ClusterThreadPool.DurableCalls`, kept in memory) over it. The same
 * program later runs on many machines by swapping this layer for {@link layerClient}.
 *
 * @stability experimental
 * @category layers
 * @since 0.3.0
 */
export const layerEmbedded = (
  options: EmbeddedOptions
): Layer.Layer<ThreadPool.ThreadPool | ClusterThreadPool.DurableCalls, unknown> => {
  const local = NodeThreadPool.layer(options)
  // The caller's statistics are those of the one runner's pool: this process's.
  const caller = Layer.unwrap(Effect.gen(function*() {
    const pool = yield* ThreadPool.ThreadPool
    return ClusterThreadPool.layer({ ...options.cluster, runnerStatistics: Effect.map(pool.statistics, (s) => [s]) })
  }))
  return caller.pipe(
    Layer.provide(ClusterRunner.layer({ tasks: options.tasks })),
    Layer.provide(local),
    Layer.provide(TestRunner.layer)
  )
}
