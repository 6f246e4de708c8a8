/**
 * The test kit of the packages that run real threads (`@effect-threads/node`, `@effect-threads/browser`, and the
 * conformance suite itself): one definition of each helper their tests share.
 *
 * - {@link waitUntil} and {@link waitStatistics}: wait for a condition, polled every 5 ms, never for a fixed time.
 * - {@link isIdle} and {@link waitIdle}: idle means nothing busy, nothing backlogged and nothing in flight.
 * - {@link isInterruptedOnly}, {@link onlyFailure}, {@link expectOnlyFailure}, {@link expectFailure} and
 *   {@link expectDefect}: what an exit holds.
 * - {@link counting}: a platform decorator that counts the threads it spawns, the ones that came online and exited.
 * - {@link Protocol}: the wire's tags, imported from core's source (its `internal/*` is not exported).
 *
 * Core's own tests (over `InProcessThreads`) wait turn by turn of the event loop instead: `packages/core/test/helpers.ts`.
 */
import type { ThreadPool } from "@effect-threads/core"
import type { ThreadPlatformShape } from "@effect-threads/core/ThreadPlatform"
import { assert } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Result from "effect/Result"

export * as Protocol from "../core/src/internal/wire/protocol.ts"

/**
 * Polls `condition` every 5 ms until it holds; dies naming `what` after `attempts` polls (10 s or more by default).
 *
 * @since 0.1.0
 * @category waiting
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

/**
 * Waits until the pool's statistics satisfy `holds` ({@link waitUntil}).
 *
 * @since 0.1.0
 * @category waiting
 */
export const waitStatistics = (
  pool: ThreadPool.ThreadPoolShape,
  what: string,
  holds: (s: ThreadPool.Statistics) => boolean,
  attempts?: number
): Effect.Effect<void> => waitUntil(what, Effect.map(pool.statistics, holds), attempts)

/**
 * Whether the pool is idle: nothing busy, nothing backlogged and nothing in flight.
 *
 * @since 0.1.0
 * @category waiting
 */
export const isIdle = (s: ThreadPool.Statistics): boolean =>
  s.busyWorkerCount === 0 && s.backloggedWorkCount === 0 && s.tasksInFlight === 0

/**
 * Waits until the pool is idle ({@link isIdle}).
 *
 * @since 0.1.0
 * @category waiting
 */
export const waitIdle = (pool: ThreadPool.ThreadPoolShape, attempts?: number): Effect.Effect<void> =>
  waitStatistics(pool, "the pool is idle", isIdle, attempts)

/**
 * Whether the exit is an interruption and nothing else.
 *
 * @since 0.1.0
 * @category exits
 */
export const isInterruptedOnly = (exit: Exit.Exit<unknown, unknown>): boolean =>
  Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause)

/**
 * The single typed failure of an exit, or `undefined` if the exit is not exactly one typed failure (for exits that
 * may be anything: see {@link expectOnlyFailure} to assert it).
 *
 * @since 0.1.0
 * @category exits
 */
export const onlyFailure = (exit: Exit.Exit<unknown, unknown>): unknown => {
  if (Exit.isSuccess(exit) || exit.cause.reasons.length !== 1) return undefined
  const reason = exit.cause.reasons[0]!
  return Cause.isFailReason(reason) ? reason.error : undefined
}

/**
 * The single typed failure of an exit, asserting that the exit failed with exactly one typed failure.
 *
 * @since 0.1.0
 * @category exits
 */
export const expectOnlyFailure = (exit: Exit.Exit<unknown, unknown>): unknown => {
  assert.isTrue(Exit.isFailure(exit), "the effect failed")
  const reasons = (exit as Exit.Failure<unknown, unknown>).cause.reasons
  assert.strictEqual(reasons.length, 1, "exactly one failure")
  const reason = reasons[0]!
  assert.isTrue(Cause.isFailReason(reason), "a typed failure")
  return (reason as Cause.Fail<unknown>).error
}

/**
 * The first typed failure of an exit, asserting that the exit failed and holds one (other reasons may be beside it:
 * see {@link expectOnlyFailure} for exactly one).
 *
 * @since 0.1.0
 * @category exits
 */
export const expectFailure = (exit: Exit.Exit<unknown, unknown>): unknown => {
  assert.isTrue(Exit.isFailure(exit), "it failed")
  const error = Cause.findError((exit as Exit.Failure<unknown, unknown>).cause)
  assert.isTrue(Result.isSuccess(error), "with a typed failure")
  return (error as Result.Success<unknown, unknown>).success
}

/**
 * The first defect of an exit, asserting that the exit failed and holds one.
 *
 * @since 0.1.0
 * @category exits
 */
export const expectDefect = (exit: Exit.Exit<unknown, unknown>): unknown => {
  assert.isTrue(Exit.isFailure(exit))
  const defect = Cause.findDefect((exit as Exit.Failure<unknown, unknown>).cause)
  assert.isTrue(Result.isSuccess(defect), "the exit holds a defect")
  return (defect as Result.Success<unknown, unknown>).success
}

/**
 * Counts of the threads a {@link counting} platform spawned.
 *
 * @since 0.1.0
 * @category platform
 */
export interface ThreadCounts {
  spawned: number
  /** Threads that posted their first batch (`[[READY]]`): their entry loaded and serves. */
  online: number
  /** Threads whose `onExit` came. */
  exited: number
  /** Calls of `terminate` for a live thread. */
  terminated: number
}

/**
 * Wraps any platform: counts the threads it spawns, the ones that came online (their first batch), the ones that
 * exited, and the `terminate` calls for a live thread (the thread count for real, not the pool's own statistics).
 *
 * @since 0.1.0
 * @category platform
 */
export const counting = (
  platform: ThreadPlatformShape
): { readonly counts: ThreadCounts; readonly alive: () => number; readonly platform: ThreadPlatformShape } => {
  const counts: ThreadCounts = { spawned: 0, online: 0, exited: 0, terminated: 0 }
  const spawn: ThreadPlatformShape["spawn"] = (id, events) => {
    let online = false
    let exited = false
    const handle = platform.spawn(id, {
      onBatch: (batch) => {
        if (!online) {
          online = true
          counts.online++
        }
        events.onBatch(batch)
      },
      onExit: (exit) => {
        exited = true
        counts.exited++
        events.onExit(exit)
      }
    })
    counts.spawned++
    let terminated = false
    return {
      post: handle.post,
      terminate: () => {
        if (!exited && !terminated) counts.terminated++
        terminated = true
        handle.terminate()
      }
    }
  }
  return { counts, alive: () => counts.spawned - counts.exited, platform: { spawn } }
}
