/**
 * Twisted's `_convenience.Quit`: the flag every worker and team keeps. The pattern is always "set or check the flag
 * first, then act".
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import { AlreadyQuit } from "../AlreadyQuit.ts"

/** @internal */
export interface Quit {
  /** Whether `set` has run. */
  readonly isSet: boolean
  /** Fails with `AlreadyQuit` if the flag is set, otherwise does nothing. */
  readonly check: Effect.Effect<void, AlreadyQuit>
  /** Checks, then sets the flag: a second `set` fails with `AlreadyQuit`. */
  readonly set: Effect.Effect<void, AlreadyQuit>
}

/** @internal */
export const alreadyQuit: Effect.Effect<never, AlreadyQuit> = Effect.fail(new AlreadyQuit())

/** @internal */
export const make = (): Quit => {
  let isSet = false
  return {
    get isSet() {
      return isSet
    },
    check: Effect.suspend(() => isSet ? alreadyQuit : Effect.void),
    set: Effect.suspend(() => {
      if (isSet) return alreadyQuit
      isSet = true
      return Effect.void
    })
  }
}
