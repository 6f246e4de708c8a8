/**
 * A pool's dynamic limit (`currentLimit`), checked: the same check for `ThreadPool` and `TeamPool`.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import { InvalidLimit } from "../ThreadError.ts"
import * as Describe from "./describe.ts"

/** Reads `limit`: a non-negative integer or `Infinity`; anything else, or a failure, is {@link InvalidLimit}. */
export const validate = (limit: Effect.Effect<number, unknown>): Effect.Effect<number, InvalidLimit> =>
  Effect.matchCauseEffect(limit, {
    onFailure: (cause) =>
      Cause.hasInterruptsOnly(cause)
        ? Effect.failCause(cause as Cause.Cause<never>)
        : Effect.fail(new InvalidLimit({ message: "currentLimit failed", cause: Cause.squash(cause) })),
    onSuccess: (n) =>
      typeof n === "number" && (n === Infinity || (Number.isInteger(n) && n >= 0))
        ? Effect.succeed(n)
        : Effect.fail(
          new InvalidLimit({
            message: `currentLimit must be a non-negative integer or Infinity, got ${Describe.describe(n)}`
          })
        )
  })
