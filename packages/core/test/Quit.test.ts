/**
 * Port of Twisted's `twisted._threads.test.test_convenience.QuitTests` (spec 4.A, tests 1-5).
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { AlreadyQuit } from "../src/AlreadyQuit.ts"
import * as Quit from "../src/internal/quit.ts"

describe("QuitTests", () => {
  it.effect("isInitiallySet: a new Quit is not set", () =>
    Effect.gen(function*() {
      const quit = Quit.make()
      assert.isFalse(quit.isSet)
    }))

  it.effect("setSetsSet: set() sets isSet", () =>
    Effect.gen(function*() {
      const quit = Quit.make()
      yield* quit.set
      assert.isTrue(quit.isSet)
    }))

  it.effect("checkDoesNothing: check() on a fresh flag succeeds with undefined and leaves it unset", () =>
    Effect.gen(function*() {
      const quit = Quit.make()
      const result = yield* quit.check
      assert.isUndefined(result)
      assert.isFalse(quit.isSet)
    }))

  it.effect("checkAfterSetRaises: check() after set() fails with AlreadyQuit", () =>
    Effect.gen(function*() {
      const quit = Quit.make()
      yield* quit.set
      assert.instanceOf(yield* Effect.flip(quit.check), AlreadyQuit)
      assert.isTrue(quit.isSet)
    }))

  it.effect("setTwiceRaises: a second set() fails with AlreadyQuit", () =>
    Effect.gen(function*() {
      const quit = Quit.make()
      yield* quit.set
      assert.instanceOf(yield* Effect.flip(quit.set), AlreadyQuit)
      assert.isTrue(quit.isSet)
    }))
})
