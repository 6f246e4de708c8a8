/**
 * Twisted's `pool(currentLimit, threadFactory)` (spec 1.9): the limit is read only when a worker would be created, and
 * a limit that is not a number of workers is a typed error for the task that needed a worker, never a hang.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as TeamPool from "../src/TeamPool.ts"

const startThread = Effect.succeed(Context.empty())

const settle = Effect.gen(function*() {
  for (let i = 0; i < 10; i++) yield* Effect.yieldNow
})

describe("TeamPool", () => {
  it.effect("currentLimit is consulted only when a worker would be created", () =>
    Effect.gen(function*() {
      let reads = 0
      const team = yield* TeamPool.make({ currentLimit: Effect.sync(() => (reads++, 2)), startThread })
      yield* team.do(Effect.void)
      assert.strictEqual(reads, 1)
      yield* settle
      // An idle worker exists: no creation, no read.
      yield* team.do(Effect.void)
      assert.strictEqual(reads, 1)
      yield* settle
      yield* team.grow(3)
      // grow reads it on every step: 2 workers at most, so the second step is refused.
      assert.strictEqual(reads, 3)
      assert.strictEqual((yield* team.statistics).idleWorkerCount, 2)
    }))

  it.effect("a limit of 0 backlogs every task", () =>
    Effect.gen(function*() {
      const team = yield* TeamPool.make({ currentLimit: Effect.succeed(0), startThread })
      yield* team.do(Effect.void)
      yield* team.do(Effect.void)
      assert.deepStrictEqual(yield* team.statistics, { idleWorkerCount: 0, busyWorkerCount: 0, backloggedWorkCount: 2 })
    }))

  for (
    const [label, limit, message] of [
      ["negative", Effect.succeed(-1), "non-negative integer"],
      ["NaN", Effect.succeed(NaN), "got NaN"],
      ["fractional", Effect.succeed(1.5), "got 1.5"],
      ["failing", Effect.fail("no limit today"), "currentLimit failed"]
    ] as const
  ) {
    it.effect(`a ${label} limit fails the task that needed a worker with InvalidLimit, and keeps nothing`, () =>
      Effect.gen(function*() {
        const team = yield* TeamPool.make({ currentLimit: limit, startThread })
        let ran = false
        const error = yield* Effect.flip(team.do(Effect.sync(() => void (ran = true))))
        assert.instanceOf(error, TeamPool.InvalidLimit)
        assert.include(error.message, message)
        yield* settle
        assert.isFalse(ran)
        assert.deepStrictEqual(yield* team.statistics, {
          idleWorkerCount: 0,
          busyWorkerCount: 0,
          backloggedWorkCount: 0
        })
        const growError = yield* Effect.flip(team.grow(1))
        assert.instanceOf(growError, TeamPool.InvalidLimit)
      }))
  }

  it.effect("closing the scope quits the team: do fails with AlreadyQuit afterwards", () =>
    Effect.gen(function*() {
      const team = yield* Effect.scoped(
        Effect.tap(TeamPool.make({ currentLimit: Effect.succeed(2), startThread }), (team) => team.do(Effect.void))
      )
      assert.isTrue(yield* team.isQuit)
      const error = yield* Effect.flip(team.do(Effect.void))
      assert.strictEqual(error._tag, "AlreadyQuit")
    }))
})
