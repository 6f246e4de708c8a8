/**
 * Thread death, in the core: a thread that dies of any value settles what it held with a readable message (the exit
 * path never throws), the describing function is total, options or limits of any kind are described in their errors
 * instead of throwing, and threads terminated for ignoring an interrupt are counted apart from threads that crashed.
 */
import { InProcessThreads, PoolMetrics, Task, TeamPool, ThreadError, ThreadPool } from "@effect-threads/core"
import { ThreadPlatform, type ThreadPlatformShape } from "@effect-threads/core/ThreadPlatform"
import { assert, describe, it } from "@effect/vitest"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Schema from "effect/Schema"
import { TestClock } from "effect/testing"
import * as Describe from "../src/internal/describe.ts"
import * as Protocol from "../src/internal/wire/protocol.ts"
import { failureOf, until } from "./helpers.ts"

class Boom extends Schema.TaggedError<Boom>()("Boom", { reason: Schema.String }) {}

const hostile = (): unknown =>
  new Proxy({}, {
    get: () => {
      throw new Error("get trap")
    },
    getPrototypeOf: () => {
      throw new Error("getPrototypeOf trap")
    },
    ownKeys: () => {
      throw new Error("ownKeys trap")
    },
    has: () => {
      throw new Error("has trap")
    },
    getOwnPropertyDescriptor: () => {
      throw new Error("getOwnPropertyDescriptor trap")
    }
  })

const nullPrototype = (): unknown => Object.assign(Object.create(null), { code: 7 })
const throwingToString = (): unknown => ({
  toString: () => {
    throw new Error("toString throws")
  }
})
/** What Node makes of an error that is not an `Error` when it crosses threads: no prototype, only its inspect text. */
const crossedNode = (): unknown =>
  Object.assign(Object.create(null), {
    [Symbol.for("nodejs.util.inspect.custom")]: () => "{ _tag: 'Boom', reason: 'r' }"
  })

/** Every kind of value a thread can die of, with a part of what its description must say. */
const kinds: ReadonlyArray<readonly [string, () => unknown, string]> = [
  ["a Schema.TaggedError", () => new Boom({ reason: "the disk is full" }), "the disk is full"],
  ["what Node makes of a Schema.TaggedError", crossedNode, "_tag: 'Boom'"],
  ["null", () => null, "null"],
  ["a symbol", () => Symbol("gone"), "Symbol(gone)"],
  ["a string", () => "out of luck", "out of luck"],
  ["a null-prototype object", nullPrototype, `{"code":7}`],
  ["an object whose toString throws", throwingToString, "object"],
  ["a Proxy that throws on every access", hostile, "cannot be read"],
  ["an Error", () => new TypeError("bad"), "TypeError: bad"]
]

describe("describing any value (Describe.describe)", () => {
  for (const [name, make, says] of kinds) {
    it(`${name} reads as a message, without throwing`, () => {
      const text = Describe.describe(make())
      assert.isString(text)
      assert.include(text, says)
    })
  }

  it("undefined, numbers and functions read too; long texts are cut", () => {
    assert.strictEqual(Describe.describe(undefined), "undefined")
    assert.strictEqual(Describe.describe(42), "42")
    assert.strictEqual(Describe.describe(function named() {}), "the function named")
    assert.isAtMost(Describe.describe("x".repeat(5000)).length, 1001)
  })

  it("a hostile proxy is not kept as a cause; everything else is", () => {
    assert.isFalse(Describe.isReadable(hostile()))
    for (const [, make] of kinds.filter(([name]) => !name.startsWith("a Proxy"))) {
      assert.isTrue(Describe.isReadable(make()))
    }
  })

  it("a defect of any kind is encoded for the wire without throwing (what the runner posts)", () => {
    for (const [, make] of kinds) {
      const encoded = Protocol.encodeDefect(make())
      assert.isTrue(encoded !== undefined || make() === undefined)
    }
    assert.isString(Protocol.encodeDefect(hostile()))
  })
})

const Work = Task.make("Work", { payload: Schema.Number, success: Schema.Number })

/**
 * A platform whose threads say they are ready and die of `death()` when they are sent work, or, with `atStart`,
 * die of it before they are ready.
 */
const dyingPlatform = (death: () => unknown, atStart: boolean): ThreadPlatformShape => ({
  spawn: (_id, events) => {
    let dead = false
    const die = () => {
      if (dead) return
      dead = true
      queueMicrotask(() => events.onExit({ exitCode: 1, error: death() }))
    }
    if (atStart) die()
    else queueMicrotask(() => events.onBatch([[Protocol.READY]]))
    return { post: () => die(), terminate: die }
  }
})

describe("a thread that dies of any value (InProcess platform of dying threads)", () => {
  for (const [name, make, says] of kinds) {
    it.effect(`dying of ${name} while running a task: ThreadCrashed, with the best message`, () =>
      Effect.gen(function*() {
        const pool = yield* ThreadPool.makeStarted({ maxThreads: 1 })
        const exit = yield* Effect.exit(pool.deferToThread(Work, 1))
        const error = failureOf(exit)
        assert.instanceOf(error, ThreadError.ThreadCrashed)
        const crashed = error as ThreadError.ThreadCrashed
        assert.include(crashed.message, "died while running Work")
        assert.include(crashed.message, says)
        assert.strictEqual(crashed.exitCode, 1)
        assert.strictEqual((yield* pool.statistics).threadsCrashed, 1)
      }).pipe(
        Effect.scoped,
        Effect.provide(Layer.succeed(ThreadPlatform)(dyingPlatform(make, false)))
      ))

    it.effect(`dying of ${name} before it is ready: start fails with ThreadStartFailed, with the best message`, () =>
      Effect.gen(function*() {
        const pool = yield* ThreadPool.make({ minThreads: 1, maxThreads: 1 })
        const error = failureOf(yield* Effect.exit(pool.start))
        assert.instanceOf(error, ThreadError.ThreadStartFailed)
        assert.include((error as ThreadError.ThreadStartFailed).message, "could not start")
        assert.include((error as ThreadError.ThreadStartFailed).message, says)
      }).pipe(
        Effect.scoped,
        Effect.provide(Layer.succeed(ThreadPlatform)(dyingPlatform(make, true)))
      ))
  }
})

const Square = Task.make("Square", { payload: Schema.Number, success: Schema.Number })

describe("options and limits of any kind are described, not thrown on", () => {
  it.effect("a duration option that holds an object with no prototype fails with InvalidPoolSize", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        ThreadPool.make({ startTimeout: [Object.create(null)] as unknown as Duration.Input })
      )
      assert.instanceOf(error, ThreadPool.InvalidPoolSize)
      assert.include(error.message, "startTimeout must be a non-negative duration")
    }).pipe(
      Effect.scoped,
      Effect.provide(InProcessThreads.layer([Task.implement(Square, (n) => Effect.succeed(n * n))]))
    ))

  it.effect("a dynamic limit that gives an object with no prototype fails with InvalidLimit", () =>
    Effect.gen(function*() {
      const pool = yield* ThreadPool.makeStarted({
        currentLimit: Effect.succeed(Object.create(null) as unknown as number)
      })
      const error = failureOf(yield* Effect.exit(pool.deferToThread(Square, 2)))
      assert.instanceOf(error, TeamPool.InvalidLimit)
      assert.include((error as TeamPool.InvalidLimit).message, "currentLimit must be a non-negative integer")
    }).pipe(
      Effect.scoped,
      Effect.provide(InProcessThreads.layer([Task.implement(Square, (n) => Effect.succeed(n * n))]))
    ))
})

const Held = Task.make("Held", { payload: Schema.Number, success: Schema.Number })
/** Never ends, and cannot be interrupted: a thread's synchronous loop, as far as the pool can tell. */
const Stuck = Task.make("Stuck")
const opened = new Map<number, () => void>()
let stuckStarted = 0
const countingHandlers = [
  Task.implement(Held, (n) =>
    Effect.callback<number>((resume) => {
      opened.set(n, () => resume(Effect.succeed(n)))
    })),
  Task.implement(Stuck, () => Effect.andThen(Effect.sync(() => stuckStarted++), Effect.uninterruptible(Effect.never)))
]

describe("threads terminated for ignoring an interrupt are not counted as crashed", () => {
  it.effect("threadsTerminated and its metric count the terminated thread; threadsCrashed and crashes the crash", () =>
    Effect.gen(function*() {
      const control = yield* InProcessThreads.Control
      const started = stuckStarted
      const stuck = yield* Effect.forkChild(ThreadPool.deferToThread(Stuck, undefined), { startImmediately: true })
      yield* until("the stuck task runs", Effect.sync(() => stuckStarted > started))
      const interrupting = yield* Effect.forkChild(Fiber.interrupt(stuck), { startImmediately: true })
      yield* until(
        "the interrupt is done",
        Effect.andThen(TestClock.adjust("20 millis"), Effect.sync(() => interrupting.pollUnsafe() !== undefined))
      )
      yield* until("the terminated thread is gone", Effect.sync(() => control.alive() === 1))
      const afterTerminated = yield* ThreadPool.statistics
      assert.strictEqual(afterTerminated.threadsTerminated, 1)
      assert.strictEqual(afterTerminated.threadsCrashed, 0)
      const held = yield* Effect.forkChild(ThreadPool.deferToThread(Held, 9), { startImmediately: true })
      yield* until("the held task runs", Effect.sync(() => opened.has(9)))
      control.kill(2)
      assert.instanceOf(failureOf(yield* Fiber.await(held)), ThreadError.ThreadCrashed)
      const afterCrash = yield* ThreadPool.statistics
      assert.strictEqual(afterCrash.threadsTerminated, 1)
      assert.strictEqual(afterCrash.threadsCrashed, 1)
      const tagged = <I, S>(metric: Metric.Metric<I, S>) =>
        Metric.value(Metric.withAttributes(metric, { pool: "terminated-test" }))
      assert.strictEqual((yield* tagged(PoolMetrics.threadsTerminated)).count, 1)
      assert.strictEqual((yield* tagged(PoolMetrics.crashes)).count, 1)
    }).pipe(
      Effect.provide(
        ThreadPool.layer({ name: "terminated-test", minThreads: 1, maxThreads: 1, interruptGracePeriod: "20 millis" })
          .pipe(Layer.provideMerge(InProcessThreads.layer(countingHandlers)))
      )
    ))
})
