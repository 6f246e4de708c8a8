/**
 * Clusters for many machines: runners and clients that share a Postgres database, which holds the cluster's
 * runners, shard locks and messages. {@link layerRunner} serves tasks; {@link layerClient} provides the
 * `ThreadPool.Executor` service to programs that only send them.
 *
 * @since 0.3.0
 */
import type { AlreadyQuit } from "@effect-threads/core/AlreadyQuit"
import type { InvalidLimit, ThreadStartFailed } from "@effect-threads/core/ThreadError"
import * as ThreadPool from "@effect-threads/core/ThreadPool"
import * as NodeThreadPool from "@effect-threads/node/NodeThreadPool"
import { layerClientProtocol, layerSocketServer } from "@effect/platform-node/NodeClusterSocket"
import * as NodeCrypto from "@effect/platform-node/NodeCrypto"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as RunnerAddress from "effect/cluster/RunnerAddress"
import * as RunnerHealth from "effect/cluster/RunnerHealth"
import * as Runners from "effect/cluster/Runners"
import * as RunnerStorage from "effect/cluster/RunnerStorage"
import * as ShardingConfig from "effect/cluster/ShardingConfig"
import * as SocketRunner from "effect/cluster/SocketRunner"
import * as SqlMessageStorage from "effect/cluster/SqlMessageStorage"
import * as SqlRunnerStorage from "effect/cluster/SqlRunnerStorage"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as RpcSerialization from "effect/rpc/RpcSerialization"
import type * as SocketServer from "effect/socket/SocketServer"
import * as SqlClient from "effect/sql/SqlClient"
import type * as SqlError from "effect/sql/SqlError"
import * as ClusterRunner from "./ClusterRunner.ts"
import * as ClusterThreadPool from "./ClusterThreadPool.ts"
import * as Statistics from "./internal/statistics.ts"

/**
 * The connection settings of the Postgres database the cluster shares.
 *
 * @stability experimental
 * @category models
 * @since 0.3.0
 */
export interface PostgresOptions {
  /** A connection URL, `postgres://user:password@host:5432/database`; or the fields below. */
  readonly url?: string | undefined
  readonly host?: string | undefined
  readonly port?: number | undefined
  readonly database?: string | undefined
  readonly username?: string | undefined
  readonly password?: string | undefined
  readonly ssl?: boolean | undefined
}

/**
 * A Postgres client (`@effect/sql-pg`) for the cluster's storage.
 *
 * @stability experimental
 * @category layers
 * @since 0.3.0
 */
export const layerPostgres = (
  options: PostgresOptions
): Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, SqlError.SqlError> =>
  PgClient.layer({
    ...(options.url === undefined ? {} : { url: Redacted.make(options.url) }),
    ...(options.host === undefined ? {} : { host: options.host }),
    ...(options.port === undefined ? {} : { port: options.port }),
    ...(options.database === undefined ? {} : { database: options.database }),
    ...(options.username === undefined ? {} : { username: options.username }),
    ...(options.password === undefined ? {} : { password: Redacted.make(options.password) }),
    ...(options.ssl === undefined ? {} : { ssl: options.ssl }),
    applicationName: "effect-threads-cluster"
  })

/**
 * Sharding settings every process of one cluster must agree on, and the intervals that decide how fast a dead
 * runner's shards move (see the README, "Failure semantics"). Where not given, the engine's defaults, except
 * {@link defaultSharding}.
 *
 * @stability experimental
 * @category models
 * @since 0.3.0
 */
export type ShardingOptions = Partial<Omit<ShardingConfig.ShardingConfig["Service"], "runnerAddress">>

/**
 * What this package changes from the engine's defaults: `entityMessagePollInterval` is 1 second (the engine's is 10),
 * so a stored call (`deferOnce`) sent before its caller knows which runner owns its shard (its first moments) is
 * read by that runner within a second, and a runner looks for shards to take every 2 seconds rather than 11.
 * `preemptiveShutdown` is false: a stopping runner finishes the calls it runs, and answers them, before it
 * unregisters and lets its shards go (the engine's `true` unregisters first and releases each shard as its entities
 * drain, one lock query a shard on the lock connection, which under load delayed the lock refresh past
 * `shardLockRefreshInterval`: the engine then stopped the entities still draining, and their calls ran twice).
 *
 * @stability experimental
 * @category models
 * @since 0.3.0
 */
export const defaultSharding: ShardingOptions = { entityMessagePollInterval: "1 second", preemptiveShutdown: false }

const storage = (postgres: ReturnType<typeof layerPostgres>) =>
  Layer.mergeAll(
    SqlMessageStorage.layer.pipe(Layer.provide(NodeCrypto.layerDigest)),
    Layer.orDie(SqlRunnerStorage.layer)
  ).pipe(Layer.provide(postgres))

/**
 * Options of {@link layerRunner}.
 *
 * @stability experimental
 * @category models
 * @since 0.3.0
 */
export interface RunnerOptions extends NodeThreadPool.Options, ClusterRunner.Options {
  readonly postgres: PostgresOptions
  /** Where other processes reach this runner. */
  readonly host: string
  readonly port: number
  /** Where it listens, when that differs (`0.0.0.0` in a container). */
  readonly listenHost?: string | undefined
  readonly sharding?: ShardingOptions | undefined
}

/**
 * A cluster runner: registers in Postgres, takes its share of the shards, and serves `tasks` on a local
 * `NodeThreadPool` over `entry`, whose statistics it writes to the database every second (for the clients'
 * `statistics`). Closing the layer (SIGTERM through `NodeRuntime.runMain`) refuses new calls (their callers send
 * them again, to the next owner of their shard), waits for the tasks it runs and answers them, then unregisters it
 * and hands its shards over.
 *
 * @stability experimental
 * @category layers
 * @since 0.3.0
 */
export const layerRunner = (
  options: RunnerOptions
): Layer.Layer<
  never,
  | ThreadPool.InvalidOptions
  | AlreadyQuit
  | InvalidLimit
  | ThreadStartFailed
  | SocketServer.SocketServerError
  | SqlError.SqlError
> => {
  const postgres = layerPostgres(options.postgres)
  const address = `${options.host}:${options.port}`
  const publisher = Layer.effectDiscard(ThreadPool.ThreadPool.use((pool) => Statistics.publish(address, pool)))
  return Layer.mergeAll(ClusterRunner.layer(options), publisher).pipe(
    Layer.provide(NodeThreadPool.layer(options)),
    Layer.provide(
      SocketRunner.layer.pipe(
        Layer.provide(RunnerHealth.layerPing.pipe(Layer.provide(Runners.layerRpc), Layer.provide(layerClientProtocol))),
        Layer.provide([layerSocketServer, layerClientProtocol]),
        Layer.provide(storage(postgres)),
        Layer.provide(ShardingConfig.layer({
          ...defaultSharding,
          ...options.sharding,
          runnerAddress: Option.some(RunnerAddress.make(options.host, options.port)),
          ...(options.listenHost === undefined ? {} : {
            runnerListenAddress: Option.some(RunnerAddress.make(options.listenHost, options.port))
          })
        })),
        Layer.provide(RpcSerialization.layerSchemaBinary())
      )
    ),
    Layer.provide(postgres)
  )
}

/**
 * Options of {@link layerClient}.
 *
 * @stability experimental
 * @category models
 * @since 0.3.0
 */
export interface ClientOptions extends ClusterThreadPool.Options {
  readonly postgres: PostgresOptions
  readonly sharding?: ShardingOptions | undefined
}

/**
 * The `ThreadPool.Executor` service (and `ClusterThreadPool.DurableCalls`, stored in Postgres) of a process that sends tasks
 * to the runners of a Postgres-backed cluster and runs none itself (`clientOnly`). A call waits at most
 * `runnerTimeout` (default 30 seconds) for a runner to be registered and healthy, then fails with
 * `ThreadStartFailed`; a call sent whose outcome waits while no runner has been up for `runnerTimeout` fails with
 * `ThreadCrashed`. Where the database could not be read meanwhile, both say so instead of "no runner". A call the
 * cluster interrupts (a runner that cannot refresh its shard locks stops the calls it runs) is sent again, at most 5
 * times (README, "Failure semantics").
 *
 * @stability experimental
 * @category layers
 * @since 0.3.0
 */
export const layerClient = (
  options: ClientOptions
): Layer.Layer<ClusterThreadPool.DurableCalls | ThreadPool.Executor, SqlError.SqlError> => {
  const postgres = layerPostgres(options.postgres)
  return Layer.unwrap(Effect.gen(function*() {
    const runners = yield* RunnerStorage.RunnerStorage
    const runnerCount = Effect.map(runners.getRunners, (all) => all.filter(([, healthy]) => healthy).length)
    const sql = yield* SqlClient.SqlClient
    const runnerStatistics = Effect.provideService(Statistics.read, SqlClient.SqlClient, sql)
    return ClusterThreadPool.layer({ ...options, runnerCount, runnerStatistics })
  })).pipe(
    Layer.provide(clientSharding),
    Layer.provide(storage(postgres)),
    Layer.provide(ShardingConfig.layer({ ...defaultSharding, ...options.sharding, runnerAddress: Option.none() })),
    Layer.provide(RpcSerialization.layerSchemaBinary()),
    Layer.provide(postgres)
  )
}

const clientSharding = SocketRunner.layerClientOnly.pipe(Layer.provide(layerClientProtocol))

/**
 * Runs a runner as the process's main program: {@link layerRunner}, launched with `NodeRuntime.runMain`. On
 * SIGTERM or SIGINT the runner refuses new calls, lets the tasks it runs finish (up to the cluster's
 * `entityTerminationTimeout`) and answers them, closes its thread pool, hands its shards over, and exits with code 0
 * ({@link ClusterRunner.teardown}; 1 if the runner failed).
 *
 * **Example** (A runner program, `runner.ts`)
 *
 * ```ts
 * import { Schema } from "effect"
 * import { Task } from "@effect-threads/core"
 * import { PgCluster } from "@effect-threads/cluster"
 *
 * // the tasks this runner serves, declared once in a module the callers and the worker entry import too
 * const tasks = [
 *   Task.make("CountPrimes", {
 *     payload: Schema.Struct({ from: Schema.Number, to: Schema.Number }),
 *     success: Schema.Number
 *   })
 * ]
 *
 * PgCluster.runRunner({
 *   tasks,
 *   entry: new URL("./tasks.ts", import.meta.url),
 *   postgres: { host: "db.internal", database: "cluster", username: "app", password: "secret" },
 *   host: "10.0.0.5",
 *   port: 34431
 * })
 * ```
 *
 * @stability experimental
 * @category running
 * @since 0.3.0
 */
export const runRunner = (options: RunnerOptions): void =>
  NodeRuntime.runMain(Layer.launch(layerRunner(options)), { teardown: ClusterRunner.teardown })
