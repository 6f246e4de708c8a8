// Type-checked beside types.ts where the cluster's tarball is installed (see ../consumer-test.ts).
import { ClusterThreadPool, NodeCluster, PgCluster } from "@effect-threads/cluster"
import { ThreadPool } from "@effect-threads/core"
import { Effect, Layer } from "effect"
import { Square } from "./types.ts"

type NotAny<T> = 0 extends 1 & T ? false : true

export const embedded = NodeCluster.layerEmbedded({ tasks: [Square], entry: new URL("./tasks.mjs", import.meta.url) })

export const runner = PgCluster.layerRunner({
  tasks: [Square],
  entry: new URL("./tasks.mjs", import.meta.url),
  host: "localhost",
  port: 34431,
  postgres: { url: "postgres://localhost/threads" }
})
export const runnerErrorIsTyped: NotAny<Layer.Error<typeof runner>> = true

export const client = PgCluster.layerClient({ postgres: { url: "postgres://localhost/threads" } })
export const clientErrorIsTyped: NotAny<Layer.Error<typeof client>> = true

export const once = ClusterThreadPool.deferOnce(Square, 3, { id: "three" })

// A cluster provides ThreadPool.Executor (what runs tasks), not ThreadPool.ThreadPool (a pool that owns threads).
export const runs: Effect.Effect<number, unknown> = ThreadPool.deferToThread(Square, 2).pipe(Effect.provide(embedded))
// @ts-expect-error broadcast needs ThreadPool.ThreadPool, which a cluster does not provide
export const broadcasts: Effect.Effect<unknown, unknown> = ThreadPool.broadcast(Square, 2).pipe(Effect.provide(client))
