/**
 * Port of Twisted's `twisted._threads.test.test_memory.MemoryWorkerTests` (spec 4.B, tests 6-8), plus the rules of
 * spec 1.5 that the Twisted tests leave implicit, and tests of the clock-driven `MemoryWorker.layer`.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import { TestClock } from "effect/testing"
import { AlreadyQuit } from "../src/AlreadyQuit.ts"
import * as MemoryWorker from "../src/MemoryWorker.ts"
import * as Worker from "../src/Worker.ts"

class Boom extends Error {}

describe("MemoryWorkerTests", () => {
  it.effect("createWorkerAndPerform: do queues work, each perform runs exactly one item in FIFO order", () =>
    Effect.gen(function*() {
      const { perform, worker } = yield* MemoryWorker.make()
      assert.isTrue(Worker.isWorker(worker))
      assert.isTrue(Worker.isExclusive(worker))
      const done: Array<number> = []
      yield* worker.do(Effect.sync(() => void done.push(3)))
      yield* worker.do(Effect.sync(() => void done.push(4)))
      assert.deepStrictEqual(done, [])
      assert.isTrue(yield* perform)
      assert.deepStrictEqual(done, [3])
      assert.isTrue(yield* perform)
      assert.deepStrictEqual(done, [3, 4])
    }))

  it.effect("quitQuits: after quit, do and quit fail; work queued before quit still runs, then perform is false", () =>
    Effect.gen(function*() {
      const { perform, worker } = yield* MemoryWorker.make()
      const done: Array<number> = []
      yield* worker.do(Effect.sync(() => void done.push(7)))
      yield* worker.quit
      assert.instanceOf(yield* Effect.flip(worker.do(Effect.sync(() => void done.push(8)))), AlreadyQuit)
      assert.instanceOf(yield* Effect.flip(worker.quit), AlreadyQuit)
      assert.isTrue(yield* perform)
      assert.deepStrictEqual(done, [7])
      assert.isFalse(yield* perform)
      // The "no more work" marker stays: every later perform is false too.
      assert.isFalse(yield* perform)
      assert.deepStrictEqual(done, [7])
    }))

  it.effect("performWhenNothingToDoYet: perform on a new worker is false", () =>
    Effect.gen(function*() {
      const { pending, perform } = yield* MemoryWorker.make()
      assert.isFalse(yield* perform)
      assert.strictEqual(pending(), 0)
    }))
})

describe("MemoryWorker (spec 1.5)", () => {
  it.effect("a defect in an item propagates out of perform; the item is already removed", () =>
    Effect.gen(function*() {
      const { pending, perform, worker } = yield* MemoryWorker.make()
      const done: Array<string> = []
      const boom = new Boom("boom")
      yield* worker.do(Effect.die(boom))
      yield* worker.do(Effect.sync(() => void done.push("next")))
      const exit = yield* Effect.exit(perform)
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) assert.strictEqual(Cause.squash(exit.cause), boom)
      assert.strictEqual(pending(), 1)
      assert.isTrue(yield* perform)
      assert.deepStrictEqual(done, ["next"])
      assert.isFalse(yield* perform)
    }))

  it.effect("work added during a perform goes to the end of the list and is not run re-entrantly", () =>
    Effect.gen(function*() {
      const { pending, perform, worker } = yield* MemoryWorker.make()
      const done: Array<string> = []
      yield* worker.do(Effect.gen(function*() {
        done.push("outer start")
        yield* Effect.orDie(worker.do(Effect.sync(() => void done.push("inner"))))
        done.push("outer end")
      }))
      yield* worker.do(Effect.sync(() => void done.push("second")))
      assert.isTrue(yield* perform)
      assert.deepStrictEqual(done, ["outer start", "outer end"])
      assert.strictEqual(pending(), 2)
      assert.isTrue(yield* perform)
      assert.isTrue(yield* perform)
      assert.deepStrictEqual(done, ["outer start", "outer end", "second", "inner"])
      assert.isFalse(yield* perform)
    }))

  it.effect("pending counts waiting items and not the quit marker", () =>
    Effect.gen(function*() {
      const { pending, perform, worker } = yield* MemoryWorker.make()
      yield* worker.do(Effect.void)
      yield* worker.do(Effect.void)
      assert.strictEqual(pending(), 2)
      yield* worker.quit
      assert.strictEqual(pending(), 2)
      yield* perform
      assert.strictEqual(pending(), 1)
      yield* perform
      assert.strictEqual(pending(), 0)
      assert.isFalse(yield* perform)
    }))

  it.effect("makeUnsafe gives an exclusive worker that queues work like make", () =>
    Effect.gen(function*() {
      const memory = MemoryWorker.makeUnsafe()
      let ran = 0
      yield* memory.worker.do(Effect.sync(() => void ran++))
      assert.strictEqual(ran, 0)
      assert.isTrue(yield* memory.perform)
      assert.strictEqual(ran, 1)
    }))
})

describe("MemoryWorker.layer", () => {
  it.effect("the driver performs one item per worker each tick of the TestClock", () =>
    Effect.gen(function*() {
      const memory = yield* MemoryWorker.MemoryWorkers
      const a = yield* memory.make
      const b = yield* memory.make
      const done: Array<string> = []
      yield* a.do(Effect.sync(() => void done.push("a1")))
      yield* a.do(Effect.sync(() => void done.push("a2")))
      yield* b.do(Effect.sync(() => void done.push("b1")))
      assert.strictEqual(yield* memory.pending, 3)
      yield* Effect.yieldNow
      assert.deepStrictEqual(done, [])
      yield* TestClock.adjust("1 millis")
      assert.deepStrictEqual(done, ["a1", "b1"])
      assert.strictEqual(yield* memory.pending, 1)
      yield* TestClock.adjust("1 millis")
      assert.deepStrictEqual(done, ["a1", "b1", "a2"])
      assert.strictEqual(yield* memory.pending, 0)
    }).pipe(Effect.provide(MemoryWorker.layer())))

  it.effect("adjusting the clock by several ticks runs several rounds", () =>
    Effect.gen(function*() {
      const memory = yield* MemoryWorker.MemoryWorkers
      const worker = yield* memory.make
      const done: Array<number> = []
      for (let i = 0; i < 5; i++) yield* worker.do(Effect.sync(() => void done.push(i)))
      yield* TestClock.adjust("3 millis")
      assert.deepStrictEqual(done, [0, 1, 2])
      yield* TestClock.adjust("10 millis")
      assert.deepStrictEqual(done, [0, 1, 2, 3, 4])
    }).pipe(Effect.provide(MemoryWorker.layer())))

  it.effect("the tick option sets how far the clock moves per round", () =>
    Effect.gen(function*() {
      const memory = yield* MemoryWorker.MemoryWorkers
      const worker = yield* memory.make
      let ran = 0
      yield* worker.do(Effect.sync(() => void ran++))
      yield* worker.do(Effect.sync(() => void ran++))
      yield* TestClock.adjust("9 millis")
      assert.strictEqual(ran, 0)
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(ran, 1)
      yield* TestClock.adjust("10 millis")
      assert.strictEqual(ran, 2)
    }).pipe(Effect.provide(MemoryWorker.layer({ tick: "10 millis" }))))

  it.effect("step runs one round by hand and reports whether anything ran", () =>
    Effect.gen(function*() {
      const memory = yield* MemoryWorker.MemoryWorkers
      const a = yield* memory.make
      const b = yield* memory.make
      const done: Array<string> = []
      assert.isFalse(yield* memory.step)
      yield* a.do(Effect.sync(() => void done.push("a1")))
      yield* a.do(Effect.sync(() => void done.push("a2")))
      yield* b.do(Effect.sync(() => void done.push("b1")))
      assert.isTrue(yield* memory.step)
      assert.deepStrictEqual(done, ["a1", "b1"])
      assert.isTrue(yield* memory.step)
      assert.deepStrictEqual(done, ["a1", "b1", "a2"])
      assert.isFalse(yield* memory.step)
    }).pipe(Effect.provide(MemoryWorker.layer())))

  it.effect("drain runs rounds until nothing is left, including work queued by work", () =>
    Effect.gen(function*() {
      const memory = yield* MemoryWorker.MemoryWorkers
      const a = yield* memory.make
      const b = yield* memory.make
      const done: Array<string> = []
      yield* a.do(Effect.gen(function*() {
        done.push("a")
        yield* Effect.orDie(b.do(Effect.gen(function*() {
          done.push("b")
          yield* Effect.orDie(a.do(Effect.sync(() => void done.push("a again"))))
        })))
      }))
      yield* memory.drain
      assert.deepStrictEqual(done, ["a", "b", "a again"])
      assert.strictEqual(yield* memory.pending, 0)
      assert.isFalse(yield* memory.step)
    }).pipe(Effect.provide(MemoryWorker.layer())))

  it.effect("a quit worker made by the layer is no longer stepped and fails do", () =>
    Effect.gen(function*() {
      const memory = yield* MemoryWorker.MemoryWorkers
      const worker = yield* memory.make
      let ran = 0
      yield* worker.do(Effect.sync(() => void ran++))
      yield* worker.quit
      assert.instanceOf(yield* Effect.flip(worker.do(Effect.void)), AlreadyQuit)
      yield* memory.drain
      assert.strictEqual(ran, 1)
      assert.isFalse(yield* memory.step)
    }).pipe(Effect.provide(MemoryWorker.layer())))

  it.effect("a defect in an item is logged by the driver, which keeps stepping", () => {
    const logged: Array<Cause.Cause<unknown>> = []
    const collector = Logger.make((options) => {
      if (options.logLevel === "Error") logged.push(options.cause)
    })
    const boom = new Boom("boom")
    return Effect.gen(function*() {
      const memory = yield* MemoryWorker.MemoryWorkers
      const worker = yield* memory.make
      let ran = 0
      yield* worker.do(Effect.die(boom))
      yield* worker.do(Effect.sync(() => void ran++))
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(ran, 0)
      assert.strictEqual(logged.length, 1)
      assert.strictEqual(Cause.squash(logged[0]!), boom)
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(ran, 1)
    }).pipe(Effect.provide(MemoryWorker.layer().pipe(Layer.provide(Logger.layer([collector])))))
  })

  it.effect("a defect propagates out of step and drain called by hand", () =>
    Effect.gen(function*() {
      const memory = yield* MemoryWorker.MemoryWorkers
      const worker = yield* memory.make
      const boom = new Boom("boom")
      let ran = 0
      yield* worker.do(Effect.die(boom))
      yield* worker.do(Effect.sync(() => void ran++))
      const exit = yield* Effect.exit(memory.drain)
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) assert.strictEqual(Cause.squash(exit.cause), boom)
      assert.strictEqual(ran, 0)
      yield* memory.drain
      assert.strictEqual(ran, 1)
    }).pipe(Effect.provide(MemoryWorker.layer())))
})
