/**
 * Helpers of the core tests over InProcessThreads: waiting turn by turn of the event loop (messages between the
 * pool and its in-process threads are events), never for time.
 */
import * as Effect from "effect/Effect"

/** One turn of the event loop. */
export const turn: Effect.Effect<void> = Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))

/** Waits, turn by turn (at most 500), until `condition` holds; dies naming `what` otherwise. */
export const until = <R>(what: string, condition: Effect.Effect<boolean, never, R>): Effect.Effect<void, never, R> =>
  Effect.gen(function*() {
    for (let i = 0; i < 500; i++) {
      if (yield* condition) return
      yield* turn
    }
    return yield* Effect.die(new Error(`${what} did not happen`))
  })
