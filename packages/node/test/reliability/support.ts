/**
 * Helpers of the reliability suite (copied from `../helpers.ts`, which another suite owns, and extended): waiting on
 * a condition instead of sleeping, a platform that counts the threads it spawns and the ones that exited, a seeded
 * random generator, and the classification of exits.
 */
import { ThreadPool } from "@effect-threads/core"
import * as NodeWorker from "@effect/platform-node/NodeWorker"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Worker from "effect/workers/Worker"
import * as WorkerThreads from "node:worker_threads"

/** The worker entry of the reliability suite. */
export const entry = new URL("../fixtures/reliability-tasks.ts", import.meta.url)

/**
 * Polls `condition` every 5 ms until it holds; dies naming `what` after `attempts` polls (10 s or more by default).
 */
export const waitUntil = <E, R>(
  what: string,
  condition: Effect.Effect<boolean, E, R>,
  attempts = 2000
): Effect.Effect<void, E, R> =>
  Effect.gen(function*() {
    for (let i = 0; i < attempts; i++) {
      if (yield* condition) return
      yield* Effect.sleep("5 millis")
    }
    return yield* Effect.die(new Error(`timed out waiting until ${what}`))
  })

/** Whether the pool has nothing busy, nothing backlogged and nothing in flight. */
export const isIdle = (s: ThreadPool.Statistics): boolean =>
  s.busyWorkerCount === 0 && s.backloggedWorkCount === 0 && s.tasksInFlight === 0

/** Waits until the pool is idle ({@link isIdle}). */
export const waitIdle = (pool: ThreadPool.ThreadPoolShape, attempts?: number): Effect.Effect<void> =>
  waitUntil("the pool is idle", Effect.map(pool.statistics, isIdle), attempts)

/** Counts of the threads a {@link countingPlatform} spawned. */
export interface ThreadCounts {
  spawned: number
  online: number
  exited: number
  /** Calls of the platform's `Terminate` for a live thread. */
  terminated: number
}

/**
 * The Node platform of `NodeThreadPool.layerPlatform`, with a spawn function that counts the threads it creates and
 * their `online` and `exit` events (the thread count for real, not the pool's own statistics), and the `Terminate`
 * service, counting its calls.
 */
export const countingPlatform = (
  entryFile: URL,
  workerOptions: WorkerThreads.WorkerOptions = {}
): {
  readonly counts: ThreadCounts
  readonly alive: () => number
  readonly layer: Layer.Layer<Worker.WorkerPlatform | Worker.Spawner>
} => {
  const counts: ThreadCounts = { spawned: 0, online: 0, exited: 0, terminated: 0 }
  const live = new Map<number, WorkerThreads.Worker>()
  const spawn = (id: number): WorkerThreads.Worker => {
    const worker = new WorkerThreads.Worker(entryFile, workerOptions)
    counts.spawned++
    live.set(id, worker)
    worker.once("online", () => void counts.online++)
    worker.once("exit", () => {
      counts.exited++
      live.delete(id)
    })
    return worker
  }
  const terminate = (id: number): Effect.Effect<void> =>
    Effect.suspend(() => {
      const worker = live.get(id)
      if (worker === undefined) return Effect.void
      counts.terminated++
      return Effect.asVoid(Effect.promise(() => worker.terminate()))
    })
  const layer = Layer.mergeAll(NodeWorker.layerPlatform, Worker.layerSpawner(spawn)).pipe(
    Layer.provideMerge(Layer.succeed(ThreadPool.Terminate)(terminate))
  )
  return { counts, alive: () => counts.spawned - counts.exited, layer }
}

/**
 * A small seeded generator (mulberry32): the same seed gives the same run, so a failure can be replayed by setting
 * the seed the test printed.
 */
export const makeRandom = (seed: number) => {
  let state = seed >>> 0
  const next = (): number => {
    state = (state + 0x6D2B79F5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return {
    /** A float in [0, 1). */
    next,
    /** An integer in [0, n). */
    int: (n: number): number => Math.floor(next() * n),
    /** Shuffles `items` in place (Fisher-Yates). */
    shuffle: <A>(items: Array<A>): Array<A> => {
      for (let i = items.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1))
        const item = items[i]!
        items[i] = items[j]!
        items[j] = item
      }
      return items
    }
  }
}

/** A seed from the environment variable `name` (to replay a run), or `fallback`. */
export const seedFrom = (name: string, fallback: number): number => {
  const value = process.env[name]
  const parsed = value === undefined ? NaN : Number(value)
  return Number.isInteger(parsed) ? parsed : fallback
}

/** Whether the exit is an interruption and nothing else. */
export const isInterruptedOnly = (exit: Exit.Exit<unknown, unknown>): boolean =>
  Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause)

/** The single typed failure of an exit, or undefined if the exit is not exactly one typed failure. */
export const onlyFailure = (exit: Exit.Exit<unknown, unknown>): unknown => {
  if (Exit.isSuccess(exit) || exit.cause.reasons.length !== 1) return undefined
  const reason = exit.cause.reasons[0]!
  return Cause.isFailReason(reason) ? reason.error : undefined
}

/** `_tag` of the single typed failure of an exit, for messages. */
export const describeExit = (exit: Exit.Exit<unknown, unknown>): string => {
  if (Exit.isSuccess(exit)) return `success ${JSON.stringify(exit.value)}`
  if (Cause.hasInterruptsOnly(exit.cause)) return "interrupted"
  const error = onlyFailure(exit)
  return error === undefined ? `cause ${String(Cause.squash(exit.cause))}` : `failure ${String(error)}`
}
