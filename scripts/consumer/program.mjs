// Runs inside a throwaway npm project (see ../consumer-test.ts) that installed the packed tarballs and effect.
// Grow it: import more of @effect-threads/core and @effect-threads/node, run something and check the result.
// It must print `consumer: ok` as its last step; throwing or a non-zero exit fails the consumer test.
import * as Core from "@effect-threads/core"
import { Effect } from "effect"
import { readdirSync } from "node:fs"
import { createRequire } from "node:module"
import { fileURLToPath } from "node:url"

const names = Object.keys(Core).sort()
console.log(`@effect-threads/core exports: ${names.join(", ")}`)
if (names.length === 0) throw new Error("@effect-threads/core exports nothing")

// effect resolves to one and the same file from here and from every installed @effect-threads package.
const effectHere = fileURLToPath(import.meta.resolve("effect"))
for (const name of readdirSync(new URL("./node_modules/@effect-threads/", import.meta.url))) {
  const entry = fileURLToPath(import.meta.resolve(`@effect-threads/${name}`))
  const effectThere = createRequire(entry).resolve("effect")
  if (effectThere !== effectHere) {
    throw new Error(`@effect-threads/${name} resolves effect to ${effectThere}, not ${effectHere}`)
  }
  console.log(`@effect-threads/${name}: ${entry.slice(entry.indexOf("node_modules"))}, same effect`)
}

const answer = Effect.runSync(Effect.succeed(21).pipe(Effect.map((n) => n * 2)))
if (answer !== 42) throw new Error(`expected 42, got ${answer}`)

// A task of our own, on a real thread, from the packed packages: a result, and a typed failure across the thread.
const { ThreadPool } = Core
const { NodeThreadPool } = await import("@effect-threads/node")
const { Negative, Square } = await import("./api.mjs")
const onThread = Effect.gen(function*() {
  const pool = yield* ThreadPool.ThreadPool
  const squares = yield* Effect.forEach([1, 2, 3, 4], (n) => pool.deferToThread(Square, n), { concurrency: 4 })
  const failure = yield* Effect.flip(pool.deferToThread(Square, -2))
  const stats = yield* pool.statistics
  return { squares, failure, stats }
}).pipe(
  Effect.provide(NodeThreadPool.layer({ entry: new URL("./tasks.mjs", import.meta.url), minThreads: 1, maxThreads: 2 }))
)
const { failure, squares, stats } = await Effect.runPromise(onThread)
if (squares.join(",") !== "1,4,9,16") throw new Error(`expected squares 1,4,9,16, got ${squares}`)
if (!(failure instanceof Negative) || failure.n !== -2) throw new Error(`expected Negative(-2), got ${failure}`)
console.log(
  `on threads: squares ${squares.join(",")}, typed failure ${failure._tag}, threads started ${stats.threadsStarted}`
)

// The browser package installs and loads beside them (its pool needs Web Workers, tested in Chromium).
const Browser = await import("@effect-threads/browser")
const browserNames = Object.keys(Browser).sort().join(", ")
if (browserNames !== "BrowserThreadPool, BrowserThreadRunner") throw new Error(`browser exports: ${browserNames}`)
console.log(`@effect-threads/browser exports: ${browserNames}`)

// The cluster package: the same tasks over an embedded cluster (no database), and a durable call run once.
const { ClusterThreadPool, NodeCluster } = await import("@effect-threads/cluster")
const overCluster = Effect.gen(function*() {
  const pool = yield* ThreadPool.ThreadPool
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

console.log("consumer: ok")
