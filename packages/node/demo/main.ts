/**
 * `pnpm demo`: counts the primes below a limit on a pool of worker threads, with a live view of the pool, then
 * compares the wall time with the same job on a pool of one thread.
 */
import { ThreadPool } from "@effect-threads/core"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import { availableParallelism } from "node:os"
import { NodeThreadPool } from "../src/index.ts"
import { CountPrimes } from "./api.ts"

const LIMIT = 8_000_000
const CHUNK = 100_000
const entry = new URL("./primes.ts", import.meta.url)
const tty = process.stdout.isTTY === true

const bar = (done: number, total: number, width = 30): string => {
  const full = Math.round((done / total) * width)
  return "#".repeat(full) + "-".repeat(width - full)
}

const render = (label: string, done: number, total: number, stats: ThreadPool.Statistics): string =>
  `${label} [${bar(done, total)}] ${String(done).padStart(3)}/${total} done` +
  ` | backlog ${stats.backloggedWorkCount} | busy ${stats.busyWorkerCount} | idle ${stats.idleWorkerCount}` +
  ` | threads ${stats.workerCount}`

const run = (label: string, threads: number) =>
  Effect.gen(function*() {
    const pool = yield* ThreadPool.ThreadPool
    const chunks = Array.from({ length: LIMIT / CHUNK }, (_, i) => ({ from: i * CHUNK, to: (i + 1) * CHUNK }))
    let done = 0
    const show = Effect.flatMap(pool.statistics, (stats) =>
      Effect.sync(() => {
        const line = render(label, done, chunks.length, stats)
        if (tty) process.stdout.write(`\r${line}`)
        else console.log(line)
      }))
    const ticker = yield* show.pipe(
      Effect.andThen(Effect.sleep(tty ? "50 millis" : "250 millis")),
      Effect.forever,
      Effect.forkChild
    )
    const start = performance.now()
    const counts = yield* Effect.forEach(
      chunks,
      (chunk) => Effect.tap(pool.deferToThread(CountPrimes, chunk), () => Effect.sync(() => done++)),
      { concurrency: "unbounded" }
    )
    const ms = performance.now() - start
    yield* Fiber.interrupt(ticker)
    yield* show
    if (tty) process.stdout.write("\n")
    return { primes: counts.reduce((a, b) => a + b, 0), ms, tasks: chunks.length, threads }
  }).pipe(Effect.provide(NodeThreadPool.layer({ entry, minThreads: threads, maxThreads: threads, name: label })))

const program = Effect.gen(function*() {
  const threads = Math.max(2, availableParallelism())
  console.log(`effect-threads demo: counting the primes below ${LIMIT.toLocaleString("en")} (${process.version})`)
  const one = yield* run("1 thread ", 1)
  const many = yield* run(`${threads} threads`, threads)
  if (one.primes !== many.primes) return yield* Effect.die(new Error("the two runs disagree"))
  console.log(`primes below ${LIMIT.toLocaleString("en")}: ${many.primes.toLocaleString("en")}`)
  console.log(`tasks: ${many.tasks} on ${threads} threads`)
  console.log(`wall time: ${many.ms.toFixed(0)} ms (1 thread: ${one.ms.toFixed(0)} ms)`)
  console.log(`speedup against one thread: ${(one.ms / many.ms).toFixed(2)}x`)
})

Effect.runPromise(program).catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
