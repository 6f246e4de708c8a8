/**
 * Helpers of the core tests over InProcessThreads: waiting turn by turn of the event loop (messages between the
 * pool and its in-process threads are events), never for time.
 */
import * as Effect from "effect/Effect"

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
