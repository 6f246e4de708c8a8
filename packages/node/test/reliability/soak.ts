/**
 * The soak: many tiny tasks through a two-thread pool, in waves, each wave submitted at once. Every caller's exit
 * is counted (settlements must equal submissions) and every result checked; the heap and RSS are read after each
 * wave (after a forced GC when the process runs with `--expose-gc`). `Soak.test.ts` runs a short version in the
 * suite; `pnpm soak` (`scripts/soak.ts` → `soak-main.ts`) runs the full one and bounds the memory.
 */
import { ThreadPool } from "@effect-threads/core"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Api from "../fixtures/reliability-api.ts"
import { countingPlatform, entry, isIdle, waitIdle, waitUntil } from "./support.ts"

/** Options of {@link soak}. */
export interface SoakOptions {
  readonly waves: number
  readonly tasksPerWave: number
  /** The pool's `concurrentTasksPerThread`. Default 1 (Twisted's semantics). */
  readonly concurrentTasksPerThread?: number | undefined
  /** Called after each wave with its figures. */
  readonly onWave?: ((wave: WaveFigures) => void) | undefined
}

/** What one wave did, and the memory after it. */
export interface WaveFigures {
  readonly wave: number
  readonly tasks: number
  readonly millis: number
  /** `process.memoryUsage()` after the wave (and a forced GC when available), in bytes. */
  readonly heapUsed: number
  readonly rss: number
}

/** What the soak did. */
export interface SoakReport {
  readonly submitted: number
  /** Callers whose effect ended, however it ended: must equal `submitted`. */
  readonly settled: number
  /** Callers that got the right result. */
  readonly correct: number
  /** Callers that settled more than once (must be none: a fiber exits once). */
  readonly settledTwice: number
  /** The first few wrong outcomes, described. */
  readonly wrong: ReadonlyArray<string>
  readonly waves: ReadonlyArray<WaveFigures>
  readonly millis: number
  readonly gcForced: boolean
  /** Threads spawned and exited, counted by the platform; alive after the pool's scope closed. */
  readonly threadsSpawned: number
  readonly threadsAliveAfterClose: number
  /** The pool's statistics after the last wave. */
  readonly statistics: ThreadPool.Statistics
}

const forceGc = (): boolean => {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) return false
  gc()
  gc()
  return true
}

/** Runs the soak; the pool lives in a scope of its own, closed before the report is made. */
export const soak = (options: SoakOptions): Effect.Effect<SoakReport> =>
  Effect.gen(function*() {
    const platform = countingPlatform(entry)
    const total = options.waves * options.tasksPerWave
    // Per task: 0 not settled, 1 settled right, 2 settled wrong; settling again is counted apart.
    const outcomes = new Uint8Array(total)
    const wrong: Array<string> = []
    let settled = 0
    let correct = 0
    let settledTwice = 0
    const waves: Array<WaveFigures> = []
    let gcForced = false
    const started = performance.now()

    const record = (id: number, exit: Exit.Exit<number, unknown>) =>
      Effect.sync(() => {
        if (outcomes[id] !== 0) {
          settledTwice++
          return
        }
        settled++
        if (Exit.isSuccess(exit) && exit.value === 2 * id + 1) {
          outcomes[id] = 1
          correct++
        } else {
          outcomes[id] = 2
          if (wrong.length < 10) wrong.push(`task ${id}: ${Exit.isSuccess(exit) ? exit.value : String(exit.cause)}`)
        }
      })

    const statistics = yield* Effect.scoped(Effect.gen(function*() {
      const pool = yield* ThreadPool.makeStarted({
        name: "soak",
        minThreads: 2,
        maxThreads: 2,
        concurrentTasksPerThread: options.concurrentTasksPerThread
      }).pipe(Effect.provide(platform.layer), Effect.orDie)
      for (let wave = 0; wave < options.waves; wave++) {
        const first = wave * options.tasksPerWave
        const waveStarted = performance.now()
        yield* Effect.forEach(
          Array.from({ length: options.tasksPerWave }, (_, i) => first + i),
          (id) => pool.deferToThread(Api.Twice, id).pipe(Effect.onExit((exit) => record(id, exit)), Effect.ignore),
          { concurrency: "unbounded", discard: true }
        )
        const millis = performance.now() - waveStarted
        yield* waitIdle(pool)
        gcForced = forceGc()
        const memory = process.memoryUsage()
        const figures = {
          wave: wave + 1,
          tasks: options.tasksPerWave,
          millis,
          heapUsed: memory.heapUsed,
          rss: memory.rss
        }
        waves.push(figures)
        options.onWave?.(figures)
      }
      const statistics = yield* pool.statistics
      return statistics
    }))
    yield* waitUntil("every thread exited", Effect.sync(() => platform.alive() === 0))
    return {
      submitted: total,
      settled,
      correct,
      settledTwice,
      wrong,
      waves,
      millis: performance.now() - started,
      gcForced,
      threadsSpawned: platform.counts.spawned,
      threadsAliveAfterClose: platform.alive(),
      statistics
    }
  })

/** Whether the statistics say the pool is idle with its two threads, none replaced, none crashed. */
export const idleWithTwoThreads = (s: ThreadPool.Statistics): boolean =>
  isIdle(s) && s.workerCount === 2 && s.threadsStarted === 2 && s.threadsCrashed === 0

/** A size in MB, for the figures. */
export const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`
