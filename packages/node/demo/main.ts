/**
 * `pnpm demo`: counts the primes below a limit on a pool of worker threads, with a live view of the pool, then
 * compares the wall time with the same job on a pool of one thread. On a terminal the live view is one line that
 * `log-update` redraws in place; without one (a pipe, a CI log) it prints a plain line per tick.
 */
import { ThreadPool } from "@effect-threads/core"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import logUpdate from "log-update"
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
        if (tty) logUpdate(line)
        else console.log(line)
      }))
    const ticker = yield* show.pipe(
      Effect.andThen(Effect.sleep(tty ? "50 millis" : "250 millis")),
      Effect.forever,
      Effect.forkChild
    )
    const start = performance.now()
    // One call for every chunk, in batches sized by the time a chunk takes (here one a batch), counted as they come.
    const counts = yield* Stream.fromIterable(chunks).pipe(
      ThreadPool.mapStream(CountPrimes),
      Stream.tap(() => Effect.sync(() => done++)),
      Stream.runCollect
    )
    const ms = performance.now() - start
    yield* Fiber.interrupt(ticker)
    yield* show
    if (tty) logUpdate.done()
    return { primes: counts.reduce((a, b) => a + b, 0), ms, tasks: chunks.length, threads }
  }).pipe(Effect.provide(NodeThreadPool.layer({ entry, minThreads: threads, maxThreads: threads, name: label })))

/**
 * The adaptive pool at work: a burst of tasks on a pool that keeps one thread, grows one thread per pacing step while
 * work waits (up to a ceiling of 4), and gives idle threads back after a keep-alive, one per look.
 */
const adaptive = Effect.gen(function*() {
  const pool = yield* ThreadPool.ThreadPool
  const start = performance.now()
  const at = () => ((performance.now() - start) / 1000).toFixed(2).padStart(5)
  const line = (stats: ThreadPool.Statistics, note: string) =>
    console.log(
      `  t=${at()}s threads ${stats.workerCount} | busy ${stats.busyWorkerCount} | idle ${stats.idleWorkerCount}` +
        ` | backlog ${String(stats.backloggedWorkCount).padStart(2)}${note}`
    )
  let last = ""
  const watch = Effect.flatMap(pool.statistics, (stats) =>
    Effect.sync(() => {
      const key = `${stats.workerCount}`
      if (key !== last) line(stats, "")
      last = key
    }))
  const watcher = yield* Effect.forkChild(Effect.forever(Effect.andThen(watch, Effect.sleep("20 millis"))))
  const chunks = Array.from({ length: 32 }, (_, i) => ({ from: i * CHUNK, to: (i + 1) * CHUNK }))
  yield* Effect.forEach(chunks, (chunk) => pool.deferToThread(CountPrimes, chunk), { concurrency: "unbounded" })
  line(yield* pool.statistics, "   <- burst done")
  yield* Effect.sleep("3 seconds")
  yield* Fiber.interrupt(watcher)
  line(yield* pool.statistics, "   <- idle threads released down to the minimum")
}).pipe(
  Effect.provide(NodeThreadPool.layer({
    entry,
    name: "adaptive",
    minThreads: 1,
    maxThreads: 4,
    adaptive: {
      pacing: Schedule.spaced("150 millis"),
      keepAlive: "1 second",
      release: Schedule.spaced("500 millis"),
      releaseAtMost: 1
    }
  }))
)

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
  console.log(
    "\nadaptive pool: keeps 1 thread, at most 4; a new thread every 150 ms while work waits;" +
      " idle threads released after 1 s, one every 500 ms"
  )
  yield* adaptive
})

Effect.runPromise(program).catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
