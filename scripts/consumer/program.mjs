// Runs inside a throwaway npm project (see ../consumer-test.ts) that installed the packed tarballs of core, node and
// browser, and effect. It must print `consumer: ok` as its last step; throwing or a non-zero exit fails the test.
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

console.log("consumer: ok")
