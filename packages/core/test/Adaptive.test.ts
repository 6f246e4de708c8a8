/**
 * The adaptive pool (spec 5.1): Twisted ticket 5298's deadlock under a hard cap, completed by the adaptive policy;
 * paced creation and slow release, stepped with the TestClock. Workers are in-process thread workers whose
 * "thread" is nothing: a task that waits holds its worker, as a blocked thread would.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"
import { TestClock } from "effect/testing"
import type * as Team from "../src/Team.ts"
import * as TeamPool from "../src/TeamPool.ts"

const startThread = Effect.succeed(Context.empty())

const statistics = (team: Team.Team<never, unknown>) =>
  Effect.map(team.statistics, (s) => [s.idleWorkerCount, s.busyWorkerCount, s.backloggedWorkCount])

/** Lets every fiber that can run, run. */
const settle = Effect.gen(function*() {
  for (let i = 0; i < 20; i++) yield* Effect.yieldNow
})

/**
 * Ticket 5298: two tasks each submit a subtask and wait for it. With two workers at most, both workers wait for
 * subtasks that wait for a worker.
 */
const waitingOnEachOther = (team: Team.Team<never, unknown>) =>
  Effect.gen(function*() {
    const done: Array<string> = []
    const parent = (name: string) =>
      Effect.gen(function*() {
        const child = yield* Deferred.make<void>()
        yield* Effect.orDie(team.do(Effect.andThen(Deferred.succeed(child, undefined), Effect.void)))
        yield* Deferred.await(child)
        done.push(name)
      })
    yield* team.do(parent("a"))
    yield* team.do(parent("b"))
    return done
  })

describe("Adaptive pool", () => {
  it.effect("ticket 5298: under a hard cap, tasks waiting for subtasks deadlock the pool", () =>
    Effect.gen(function*() {
      const team = yield* TeamPool.make({ currentLimit: Effect.succeed(2), startThread })
      const done = yield* waitingOnEachOther(team)
      yield* settle
      yield* TestClock.adjust("1 hour")
      yield* settle
      assert.deepStrictEqual(done, [])
      // Both workers busy with a parent, both subtasks backlogged, for good.
      assert.deepStrictEqual(yield* statistics(team), [0, 2, 2])
    }))

  it.effect("ticket 5298: the adaptive policy completes it, creating a worker per pacing step", () =>
    Effect.gen(function*() {
      const team = yield* TeamPool.make({
        currentLimit: Effect.succeed(Infinity),
        startThread,
        adaptive: { pacing: Schedule.spaced("100 millis") }
      })
      const done = yield* waitingOnEachOther(team)
      yield* settle
      // The first worker came at once and holds "a"; "b" and a's subtask wait for the token.
      assert.deepStrictEqual(yield* statistics(team), [0, 1, 2])
      yield* TestClock.adjust("100 millis")
      yield* settle
      // One more worker, paced: it takes the oldest backlog, "b", which now waits too.
      assert.deepStrictEqual(yield* statistics(team), [0, 2, 2])
      yield* TestClock.adjust("100 millis")
      yield* settle
      // A third worker runs a's subtask: "a" finishes, its worker takes b's subtask, "b" finishes.
      assert.deepStrictEqual(done, ["a", "b"])
      assert.deepStrictEqual(yield* statistics(team), [3, 0, 0])
    }))

  it.effect("creation above the minimum is paced: one worker per step of the schedule, up to the ceiling", () =>
    Effect.gen(function*() {
      const team = yield* TeamPool.make({
        currentLimit: Effect.succeed(4),
        startThread,
        adaptive: { minWorkers: 1, pacing: Schedule.spaced("1 second") }
      })
      const gate = yield* Deferred.make<void>()
      for (let i = 0; i < 10; i++) yield* team.do(Deferred.await(gate))
      yield* settle
      // The minimum worker is free of pacing, the second takes the token.
      assert.deepStrictEqual(yield* statistics(team), [0, 2, 8])
      yield* TestClock.adjust("999 millis")
      yield* settle
      assert.deepStrictEqual(yield* statistics(team), [0, 2, 8])
      yield* TestClock.adjust("1 millis")
      yield* settle
      assert.deepStrictEqual(yield* statistics(team), [0, 3, 7])
      yield* TestClock.adjust("1 second")
      yield* settle
      assert.deepStrictEqual(yield* statistics(team), [0, 4, 6])
      // The ceiling holds.
      yield* TestClock.adjust("10 seconds")
      yield* settle
      assert.deepStrictEqual(yield* statistics(team), [0, 4, 6])
      yield* Deferred.succeed(gate, undefined)
      yield* settle
      assert.deepStrictEqual(yield* statistics(team), [4, 0, 0])
    }))

  it.effect("idle workers are released after the keep-alive, at most releaseAtMost per look, down to the minimum", () =>
    Effect.gen(function*() {
      const team = yield* TeamPool.make({
        currentLimit: Effect.succeed(Infinity),
        startThread,
        adaptive: {
          minWorkers: 1,
          pacing: Schedule.spaced("10 millis"),
          keepAlive: "5 seconds",
          release: Schedule.spaced("1 second"),
          releaseAtMost: 2
        }
      })
      const gate = yield* Deferred.make<void>()
      for (let i = 0; i < 6; i++) yield* team.do(Deferred.await(gate))
      yield* settle
      for (let i = 0; i < 5; i++) {
        yield* TestClock.adjust("10 millis")
        yield* settle
      }
      assert.deepStrictEqual(yield* statistics(team), [0, 6, 0])
      yield* Deferred.succeed(gate, undefined)
      yield* settle
      assert.deepStrictEqual(yield* statistics(team), [6, 0, 0])
      // The workers became idle at 50 ms; the looks at 1 s ... 5 s find them idle for less than the keep-alive.
      yield* TestClock.adjust("5 seconds")
      yield* settle
      assert.deepStrictEqual(yield* statistics(team), [6, 0, 0])
      // From the look at 6 s on, two per look, never below the minimum.
      yield* TestClock.adjust("1 second")
      yield* settle
      assert.deepStrictEqual(yield* statistics(team), [4, 0, 0])
      yield* TestClock.adjust("1 second")
      yield* settle
      assert.deepStrictEqual(yield* statistics(team), [2, 0, 0])
      yield* TestClock.adjust("1 second")
      yield* settle
      assert.deepStrictEqual(yield* statistics(team), [1, 0, 0])
      yield* TestClock.adjust("1 minute")
      yield* settle
      assert.deepStrictEqual(yield* statistics(team), [1, 0, 0])
    }))

  it.effect("a worker that takes work again is not released: its keep-alive starts over", () =>
    Effect.gen(function*() {
      const team = yield* TeamPool.make({
        currentLimit: Effect.succeed(Infinity),
        startThread,
        adaptive: { keepAlive: "5 seconds", release: Schedule.spaced("1 second"), releaseAtMost: 10 }
      })
      yield* team.do(Effect.void)
      yield* settle
      assert.deepStrictEqual(yield* statistics(team), [1, 0, 0])
      yield* TestClock.adjust("4 seconds")
      yield* team.do(Effect.void)
      yield* settle
      yield* TestClock.adjust("4 seconds")
      yield* settle
      assert.deepStrictEqual(yield* statistics(team), [1, 0, 0])
      yield* TestClock.adjust("1 second")
      yield* settle
      assert.deepStrictEqual(yield* statistics(team), [0, 0, 0])
      const fiber = yield* Effect.forkChild(team.do(Effect.void))
      yield* Fiber.join(fiber)
      yield* settle
      assert.deepStrictEqual(yield* statistics(team), [1, 0, 0])
    }))
})
