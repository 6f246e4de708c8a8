/**
 * Helpers of the reliability suite, on top of `../helpers.ts` (the kit's waiting, idleness and exits, the
 * thread-counting platform): the suite's entry, a seeded random generator, and exits described for messages.
 */
import { onlyFailure } from "@effect-threads/conformance/kit"
import * as Cause from "effect/Cause"
import * as Exit from "effect/Exit"

export {
  countingPlatform,
  isIdle,
  isInterruptedOnly,
  onlyFailure,
  type ThreadCounts,
  waitIdle,
  waitUntil
} from "../helpers.ts"

/** The worker entry of the reliability suite. */
export const entry = new URL("../fixtures/reliability-tasks.ts", import.meta.url)

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

/** `_tag` of the single typed failure of an exit, for messages. */
export const describeExit = (exit: Exit.Exit<unknown, unknown>): string => {
  if (Exit.isSuccess(exit)) return `success ${JSON.stringify(exit.value)}`
  if (Cause.hasInterruptsOnly(exit.cause)) return "interrupted"
  const error = onlyFailure(exit)
  return error === undefined ? `cause ${String(Cause.squash(exit.cause))}` : `failure ${String(error)}`
}
