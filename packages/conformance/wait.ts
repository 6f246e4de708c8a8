/**
 * The waits of every real-thread test, with no test framework and no platform (the runtime checks copy this file
 * into a project of their own, beside `api.ts` and `handlers.ts`): {@link pollUntil}, which the kit's `waitUntil`
 * and the runtime checks' `waitUntil` wrap, and {@link makeDeadline}.
 */
import type * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"

/**
 * Polls `condition` every 5 ms until it holds (then `true`), at most `attempts` times (then `false`): never waits
 * for a fixed time, only bounds a wait for what comes at once where it comes at all.
 *
 * @since 0.1.0
 * @category waiting
 */
export const pollUntil = <E, R>(
  condition: Effect.Effect<boolean, E, R>,
  attempts: number
): Effect.Effect<boolean, E, R> =>
  Effect.gen(function*() {
    for (let i = 0; i < attempts; i++) {
      if (yield* condition) return true
      yield* Effect.sleep("5 millis")
    }
    return false
  })

/**
 * A clock that tells the real time but whose sleeps end only when the test passes the deadline: an `Effect.timeout`
 * on it fires at a point of the test's choosing (once a task runs in its thread), not at a time that may come first.
 *
 * @since 0.1.0
 * @category waiting
 */
export const makeDeadline = (
  live: Clock.Clock
): { readonly clock: Clock.Clock; readonly pass: Effect.Effect<void> } => {
  const passed = Deferred.makeUnsafe<void>()
  return {
    clock: {
      currentTimeMillisUnsafe: () => live.currentTimeMillisUnsafe(),
      currentTimeMillis: live.currentTimeMillis,
      currentTimeNanosUnsafe: () => live.currentTimeNanosUnsafe(),
      currentTimeNanos: live.currentTimeNanos,
      monotonicTimeNanosUnsafe: () => live.monotonicTimeNanosUnsafe(),
      monotonicTimeNanos: live.monotonicTimeNanos,
      sleep: () => Deferred.await(passed)
    },
    pass: Effect.asVoid(Deferred.succeed(passed, undefined))
  }
}
