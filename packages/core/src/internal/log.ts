/**
 * The default report of a failed task (Twisted's `logException`), for `ThreadPool` and `Team` alike.
 *
 * @internal
 */
import type * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"

/** Logs `cause` at error level. */
export const logExceptionDefault = (cause: Cause.Cause<unknown>): Effect.Effect<void> =>
  Effect.logError("Unhandled error in team work", cause)
