import type * as PgCluster from "../../src/PgCluster.ts"

/** Short lock and refresh intervals, the same on every process of the test cluster. */
export const sharding: PgCluster.ShardingOptions = {
  shardLockRefreshInterval: "1 second",
  shardLockExpiration: "4 seconds",
  refreshAssignmentsInterval: "500 millis",
  entityTerminationTimeout: "10 seconds"
}
