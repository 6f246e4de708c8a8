/**
 * The example's cluster on one machine: a private Postgres, runner processes, and this process as a client that
 * sends them tasks (`PgCluster.layerClient`: it runs none itself).
 */
import { PgCluster } from "@effect-threads/cluster"
import { ThreadPool } from "@effect-threads/core"
import { Context, Data, Effect, Layer, Schedule } from "effect"
import type { Scope } from "effect"
import { Job } from "./api.ts"
import * as Postgres from "./postgres.ts"
import { type Runner, spawnRunner } from "./runners.ts"
import { type Sharding, shardingOptions } from "./settings.ts"

export interface ClusterOptions {
  readonly runners: number
  /** Threads of each runner's pool. */
  readonly threads: number
  readonly sharding: Sharding
}

/** Starts `runners` runner processes (`runner-1`, `runner-2`, ...) at once, and waits until each serves. */
export const startRunners = (postgres: Postgres.Postgres, options: ClusterOptions) =>
  Effect.forEach(
    Array.from({ length: options.runners }, (_, i) => `runner-${i + 1}`),
    (name) => spawnRunner({ name, url: postgres.url, sharding: options.sharding, threads: options.threads }),
    { concurrency: "unbounded" }
  )

/** The `ThreadPool` service of this process: a client of the cluster in `postgres`, with the runners' sharding. */
export const client = (postgres: Postgres.Postgres, sharding: Sharding) =>
  PgCluster.layerClient({ postgres: { url: postgres.url }, sharding: shardingOptions(sharding) })

/** The runners did not all take a share of the shards in time. */
export class NotSpread extends Data.TaggedError("NotSpread")<{ readonly message: string }> {}

/**
 * Waits until work sent to the cluster reaches every runner: each has taken its share of the shards (a runner
 * takes them all while it is alone, and gives some up as others join). Probes with rounds of 32 empty jobs.
 */
export const awaitSpread = (runners: ReadonlyArray<Runner>) =>
  Effect.gen(function*() {
    const served = new Set<string>()
    const round = Effect.forEach(
      Array.from({ length: 32 }, (_, id) => id),
      (id) => Effect.map(ThreadPool.deferToThread(Job, { id, ms: 0 }), (result) => served.add(result.runner)),
      { concurrency: "unbounded" }
    )
    yield* round.pipe(
      Effect.repeat({ until: () => runners.every((runner) => served.has(runner.name)), schedule: Schedule.spaced(100) })
    )
  }).pipe(
    Effect.timeoutOrElse({
      duration: "1 minute",
      orElse: () => Effect.fail(new NotSpread({ message: "the runners did not all take shards within a minute" }))
    })
  )

/** A whole cluster for the current scope, ready: Postgres, the runners, and a client over them. */
export interface Cluster {
  readonly postgres: Postgres.Postgres
  readonly runners: ReadonlyArray<Runner>
  readonly pool: Context.Context<ThreadPool.Executor>
}

export const start = (options: ClusterOptions) =>
  Effect.gen(function*() {
    const postgres = yield* Postgres.start
    const runners = yield* startRunners(postgres, options)
    const pool = yield* Layer.build(client(postgres, options.sharding))
    yield* awaitSpread(runners).pipe(Effect.provideContext(pool))
    return { postgres, runners, pool } satisfies Cluster
  }) satisfies Effect.Effect<Cluster, unknown, Scope.Scope>
