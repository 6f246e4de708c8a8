/**
 * Helpers of the reliability suite, on top of `../helpers.ts` (waiting on a condition, the thread-counting
 * platform): the suite's entry, idleness with a bound, a seeded random generator, and the classification of exits.
 */
import { ThreadPool } from "@effect-threads/core"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { waitUntil } from "../helpers.ts"

export { countingPlatform, type ThreadCounts, waitUntil } from "../helpers.ts"

/** The worker entry of the reliability suite. */
export const entry = new URL("../fixtures/reliability-tasks.ts", import.meta.url)

/** Whether the pool has nothing busy, nothing backlogged and nothing in flight. */
export const isIdle = (s: ThreadPool.Statistics): boolean =>
  s.busyWorkerCount === 0 && s.backloggedWorkCount === 0 && s.tasksInFlight === 0

/** Waits until the pool is idle ({@link isIdle}). */
export const waitIdle = (pool: ThreadPool.ThreadPoolShape, attempts?: number): Effect.Effect<void> =>
  waitUntil("the pool is idle", Effect.map(pool.statistics, isIdle), attempts)

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
