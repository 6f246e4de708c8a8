/**
 * The cluster settings every process of the example agrees on: runners and the job's client must use the same
 * sharding options.
 */
import type { PgCluster } from "@effect-threads/cluster"

/** Which sharding settings a cluster runs with. */
export type Sharding = "tuned" | "default"

/**
 * `tuned`: shard locks refreshed every second and expiring after 4 s, assignments read every 500 ms, so the shards of
 * a runner that died move within seconds. `default`: the engine's own (refresh 10 s, expiration 35 s, assignments
 * every 3 s).
 */
export const shardingOptions = (sharding: Sharding): PgCluster.ShardingOptions =>
  sharding === "tuned"
    ? {
      shardLockRefreshInterval: "1 second",
      shardLockExpiration: "4 seconds",
      refreshAssignmentsInterval: "500 millis"
    }
    : {}

/** What a runner prints on its standard output once it serves: the job waits for it. */
export const readyLine = "ready"
