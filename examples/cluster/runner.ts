/**
 * One runner process: registers with the cluster in Postgres, takes its share of the shards and runs the tasks it
 * receives on a local pool of worker threads over `tasks.ts`. Its settings come from the environment:
 *
 * - `PG_URL`: the cluster's database, `postgres://user@host:port/database`
 * - `RUNNER_NAME`: a name its tasks report (default: `runner-<pid>`)
 * - `RUNNER_HOST`, `RUNNER_PORT`: where the other processes reach it (default host `127.0.0.1`)
 * - `THREADS`: its pool's threads (default 2)
 * - `SHARDING`: `tuned` or `default` (see `settings.ts`; default `tuned`), the same on every process
 *
 * It prints `ready` once it serves. On SIGTERM or SIGINT it hands its shards over, lets the tasks it runs finish,
 * and exits with code 0 (`ClusterRunner.teardown`).
 */
import { ClusterRunner, PgCluster } from "@effect-threads/cluster"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Config, Console, Effect, Layer } from "effect"
import { tasks } from "./api.ts"
import { readyLine, shardingOptions } from "./settings.ts"

const settings = Config.all({
  url: Config.String("PG_URL"),
  name: Config.String("RUNNER_NAME").pipe(Config.withDefault(`runner-${process.pid}`)),
  host: Config.String("RUNNER_HOST").pipe(Config.withDefault("127.0.0.1")),
  port: Config.Port("RUNNER_PORT"),
  threads: Config.Int("THREADS").pipe(Config.withDefault(2)),
  sharding: Config.Literals(["tuned", "default"], "SHARDING").pipe(Config.withDefault("tuned" as const))
})

const main = Effect.gen(function*() {
  const { host, name, port, sharding, threads, url } = yield* settings
  yield* Layer.build(PgCluster.layerRunner({
    tasks,
    entry: new URL("./tasks.ts", import.meta.url),
    minThreads: threads,
    maxThreads: threads,
    // The threads read the runner's name from their environment.
    workerOptions: { env: { ...process.env, RUNNER_NAME: name } },
    postgres: { url },
    host,
    port,
    sharding: shardingOptions(sharding)
  }))
  yield* Console.log(readyLine)
  return yield* Effect.never
})

NodeRuntime.runMain(Effect.scoped(main), { teardown: ClusterRunner.teardown })
