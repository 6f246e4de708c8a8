// Runs where the cluster's tarball is installed too (see ../consumer-test.ts), beside program.mjs. It must print
// `cluster: ok` as its last step; throwing or a non-zero exit fails the consumer test.
import { ThreadPool } from "@effect-threads/core"
import { Effect } from "effect"
import { Negative, Square } from "./api.mjs"

// The cluster package: the same tasks over an embedded cluster (no database), and a durable call run once.
const { ClusterThreadPool, NodeCluster } = await import("@effect-threads/cluster")
const overCluster = Effect.gen(function*() {
  const pool = yield* ThreadPool.Executor
  const square = yield* pool.deferToThread(Square, 7, { key: "k" })
  const failure = yield* Effect.flip(pool.deferToThread(Square, -3))
  const once = yield* ClusterThreadPool.deferOnce(Square, 8, { id: "eight" })
  const again = yield* ClusterThreadPool.deferOnce(Square, 8, { id: "eight" })
  return { square, failure, once, again }
}).pipe(
  Effect.provide(
    NodeCluster.layerEmbedded({ tasks: [Square], entry: new URL("./tasks.mjs", import.meta.url), maxThreads: 2 })
  )
)
const clustered = await Effect.runPromise(overCluster)
if (clustered.square !== 49 || clustered.once !== 64 || clustered.again !== 64) {
  throw new Error(`cluster: expected 49, 64, 64, got ${JSON.stringify(clustered)}`)
}
if (!(clustered.failure instanceof Negative)) throw new Error(`cluster: expected Negative, got ${clustered.failure}`)
console.log(`over an embedded cluster: 7² = ${clustered.square}, typed failure ${clustered.failure._tag}, once 8² = 64`)

console.log("cluster: ok")
