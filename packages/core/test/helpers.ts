/**
 * Helpers of the core tests over InProcessThreads: waiting turn by turn of the event loop (messages between the
 * pool and its in-process threads are events), never for time.
 */
import { assert } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Result from "effect/Result"

/** One turn of the event loop. */
export const turn: Effect.Effect<void> = Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))

/** `n` turns of the event loop, one after another. */
export const turns = (n: number): Effect.Effect<void> =>
  Effect.gen(function*() {
    for (let i = 0; i < n; i++) yield* turn
  })

/** Waits, turn by turn (at most `attempts`, 500 by default), until `condition` holds; dies naming `what` otherwise. */
export const until = <R>(
  what: string,
  condition: Effect.Effect<boolean, never, R>,
  attempts = 500
): Effect.Effect<void, never, R> =>
  Effect.gen(function*() {
    for (let i = 0; i < attempts; i++) {
      if (yield* condition) return
      yield* turn
    }
    return yield* Effect.die(new Error(`${what} did not happen`))
  })

/** The first typed failure of an exit, asserting that the exit failed and holds one. */
export const failureOf = (exit: Exit.Exit<unknown, unknown>): unknown => {
  assert.isTrue(Exit.isFailure(exit))
  const error = Cause.findError((exit as Exit.Failure<unknown, unknown>).cause)
  assert.isTrue(Result.isSuccess(error), "a typed failure")
  return (error as Result.Success<unknown, unknown>).success
}
