/**
 * @since 0.3.0
 */

/**
 * The runner side: serves the tasks of a worker entry to the cluster, on the runner's local thread pool.
 *
 * @since 0.3.0
 */
export * as ClusterRunner from "./ClusterRunner.ts"

/**
 * The caller side: the `ThreadPool.Executor` service (what runs tasks) over a cluster of runners.
 *
 * @since 0.3.0
 */
export * as ClusterThreadPool from "./ClusterThreadPool.ts"

/**
 * A ready-made cluster on Node for one machine: embedded, no database.
 *
 * @since 0.3.0
 */
export * as NodeCluster from "./NodeCluster.ts"

/**
 * The cluster protocol: the entities and their RPCs (`Run`, `RunStream`, `RunOnce`).
 *
 * @since 0.3.0
 */
export * as TaskEntity from "./TaskEntity.ts"

/**
 * Clusters for many machines: runners and clients sharing a Postgres database.
 *
 * @since 0.3.0
 */
export * as PgCluster from "./PgCluster.ts"
