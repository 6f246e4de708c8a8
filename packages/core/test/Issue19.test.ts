/**
 * Issue 19, in the core (InProcessThreads, TestClock): a key's next task after its thread left, priorities at the
 * backlog's bound, a streaming task given to a plain-task call, threads terminated apart from threads crashed, and a
 * thread's stream pulling its next chunk only when the consumer has room.
 */
import { InProcessThreads, PoolMetrics, Task, ThreadError, ThreadPool } from "@effect-threads/core"
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { TestClock } from "effect/testing"
import { failureOf, turn, until } from "./helpers.ts"

const Square = Task.make("Square", { payload: Schema.Number, success: Schema.Number })
const Crash = Task.make("Crash")
const Held = Task.make("Held", { payload: Schema.Number, success: Schema.Number })
const opened = new Map<number, () => void>()
const keyHandlers = [
  Task.implement(Square, (n) => Effect.succeed(n * n)),
  Task.implement(Crash, () => Effect.never),
  Task.implement(Held, (n) =>
    Effect.callback<number>((resume) => {
      opened.set(n, () => resume(Effect.succeed(n)))
    }))
]

/** A default pool (minThreads 0) over in-process threads, where `Crash` kills its thread. */
const keyPool = (options: ThreadPool.Options) =>
  ThreadPool.layer(options).pipe(
    Layer.provideMerge(
      InProcessThreads.layer(keyHandlers, { faults: () => ({ _tag: "DiesOnTask", task: "Crash" }) })
    )
  )

describe("a key's next task after its thread left, on a default pool (InProcessThreads, TestClock)", () => {
  it.effect("the thread holding the key dies: the key's next task gets a new thread and runs", () =>
    Effect.gen(function*() {
      const crashing = yield* Effect.forkChild(ThreadPool.deferToThread(Crash, undefined, { key: "k" }), {
        startImmediately: true
      })
      const next = yield* Effect.forkChild(ThreadPool.deferToThread(Square, 3, { key: "k" }), {
        startImmediately: true
      })
      const crashed = failureOf(yield* Fiber.await(crashing))
      assert.instanceOf(crashed, ThreadError.ThreadCrashed)
      yield* until("the key's next task settles", Effect.sync(() => next.pollUnsafe() !== undefined))
      assert.strictEqual(yield* Fiber.join(next), 9)
      const stats = yield* ThreadPool.statistics
      assert.strictEqual(stats.threadsStarted, 2)
      assert.strictEqual(stats.tasksInFlight, 0)
    }).pipe(Effect.provide(keyPool({}))))

  it.effect("the thread holding the key is recycled: the key's next task gets a new thread and runs", () =>
    Effect.gen(function*() {
      opened.clear()
      const first = yield* Effect.forkChild(ThreadPool.deferToThread(Held, 1, { key: "k" }), {
        startImmediately: true
      })
      const next = yield* Effect.forkChild(ThreadPool.deferToThread(Square, 4, { key: "k" }), {
        startImmediately: true
      })
      yield* until("the first task runs", Effect.sync(() => opened.has(1)))
      opened.get(1)!()
      assert.strictEqual(yield* Fiber.join(first), 1)
      yield* until("the key's next task settles", Effect.sync(() => next.pollUnsafe() !== undefined))
      assert.strictEqual(yield* Fiber.join(next), 16)
      const stats = yield* ThreadPool.statistics
      assert.strictEqual(stats.threadsRecycled, 2)
      assert.strictEqual(stats.tasksInFlight, 0)
    }).pipe(Effect.provide(keyPool({ recycle: { afterTasks: 1 } }))))
})

const Record = Task.make("Record", { payload: Schema.String })
const ran: Array<string> = []
const recordHandlers = [
  ...keyHandlers,
  Task.implement(Record, (name) => Effect.sync(() => void ran.push(name)))
]

describe("priorities at the backlog's bound (InProcessThreads)", () => {
  const pool = ThreadPool.layer({ maxThreads: 1, maxBacklog: 1 }).pipe(
    Layer.provideMerge(InProcessThreads.layer(recordHandlers))
  )

  /** Holds the one thread, fills the backlog with `low`, then a caller waits for room with `high`; frees the thread. */
  const order = (lowPriority: number, highPriority: number) =>
    Effect.gen(function*() {
      opened.clear()
      ran.length = 0
      const held = yield* Effect.forkChild(ThreadPool.deferToThread(Held, 1), { startImmediately: true })
      yield* until("the thread is held", Effect.sync(() => opened.has(1)))
      const low = yield* Effect.forkChild(
        ThreadPool.deferToThread(Record, "low", { priority: lowPriority }),
        { startImmediately: true }
      )
      const high = yield* Effect.forkChild(
        ThreadPool.deferToThread(Record, "high", { priority: highPriority, whenBacklogFull: "wait" }),
        { startImmediately: true }
      )
      const before = yield* ThreadPool.statistics
      assert.strictEqual(before.backloggedWorkCount, 1)
      assert.strictEqual(before.waitingForRoom, 1)
      opened.get(1)!()
      yield* Fiber.join(held)
      yield* Fiber.join(low)
      yield* Fiber.join(high)
      return [...ran]
    })

  it.effect("a caller waiting for room with a higher priority runs before a lower-priority backlogged task", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* order(0, 5), ["high", "low"])
    }).pipe(Effect.provide(pool)))

  it.effect("with the same priority, the backlogged task keeps its place (first in, first out)", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* order(3, 3), ["low", "high"])
    }).pipe(Effect.provide(pool)))
})

const Rows = Task.stream("Rows", { payload: Schema.Number, element: Schema.Number })
const streamHandlers = [
  ...recordHandlers,
  Task.implementStream(Rows, (n) => Stream.range(1, n))
]

describe("a streaming task given to a call that runs a plain task", () => {
  const logged: Array<unknown> = []
  const pool = ThreadPool.layer({
    minThreads: 2,
    maxThreads: 2,
    logException: (cause) => Effect.sync(() => void logged.push(Cause.squash(cause)))
  }).pipe(Layer.provideMerge(InProcessThreads.layer(streamHandlers)))

  it("is a type error", () => {
    const check = Effect.gen(function*() {
      const threads = yield* ThreadPool.ThreadPool
      // @ts-expect-error a streaming task runs with ThreadPool.stream
      yield* ThreadPool.deferToThread(Rows, 3)
      // @ts-expect-error a streaming task runs with ThreadPool.stream
      yield* threads.deferToThread(Rows, 3)
      // @ts-expect-error a streaming task runs with ThreadPool.stream
      yield* ThreadPool.callInThread(Rows, 3)
      // @ts-expect-error a streaming task runs with ThreadPool.stream
      yield* threads.callInThreadWithCallback(() => Effect.void, Rows, 3)
      // @ts-expect-error a streaming task runs with ThreadPool.stream
      yield* ThreadPool.broadcast(Rows, 3)
      // @ts-expect-error a streaming task runs with ThreadPool.stream
      ThreadPool.call(Rows, 3)
      // A plain task still type-checks, and its result is typed.
      const n: number = yield* ThreadPool.deferToThread(Square, 3)
      return n
    })
    assert.isTrue(Effect.isEffect(check))
  })

  it.effect("fails at once with TaskNotImplemented, from code the type check did not see", () =>
    Effect.gen(function*() {
      logged.length = 0
      const threads = yield* ThreadPool.ThreadPool
      const untyped = Rows as unknown as typeof Square
      const error = failureOf(yield* Effect.exit(threads.deferToThread(untyped, 3)))
      assert.instanceOf(error, ThreadError.TaskNotImplemented)
      assert.include((error as ThreadError.TaskNotImplemented).message, "run it with ThreadPool.stream")
      let callback: Exit.Exit<unknown, unknown> | undefined
      yield* threads.callInThreadWithCallback((exit) => Effect.sync(() => void (callback = exit)), untyped, 3)
      yield* until("the callback has the failure", Effect.sync(() => callback !== undefined))
      assert.instanceOf(failureOf(callback!), ThreadError.TaskNotImplemented)
      yield* threads.callInThread(untyped, 3)
      yield* threads.callMultipleInThread([ThreadPool.call(Square, 2), ThreadPool.call(untyped, 3)])
      yield* until("both failures are logged", Effect.sync(() => logged.length === 2))
      for (const one of logged) assert.instanceOf(one, ThreadError.TaskNotImplemented)
      const exits = yield* threads.broadcast(untyped, 3)
      assert.strictEqual(exits.length, 2)
      for (const exit of exits) assert.instanceOf(failureOf(exit), ThreadError.TaskNotImplemented)
      const stats = yield* threads.statistics
      assert.strictEqual(stats.tasksInFlight, 0)
      assert.deepStrictEqual(yield* Stream.runCollect(threads.stream(Rows, 3)), [1, 2, 3])
    }).pipe(Effect.provide(pool)))
})

/** Never ends, and cannot be interrupted: a thread's synchronous loop, as far as the pool can tell. */
const Stuck = Task.make("Stuck")
let stuckStarted = 0
const countingHandlers = [
  ...streamHandlers,
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

const Chunks = Task.stream("Chunks", { payload: Schema.Number, element: Schema.Number })
let computed = 0
const chunkHandlers = [
  Task.implementStream(Chunks, (chunk) =>
    Stream.range(1, 1_000_000, chunk).pipe(
      Stream.map((n) => {
        computed++
        return n
      })
    ))
]

describe("a thread's stream pulls its next chunk only when the consumer has room (InProcessThreads)", () => {
  it.effect("a consumer that stops taking: the stream computes at most twice bufferSize, in chunks of bufferSize", () =>
    Effect.gen(function*() {
      computed = 0
      const bufferSize = 16
      const threads = yield* ThreadPool.ThreadPool
      let first = false
      yield* Effect.forkChild(
        threads.stream(Chunks, bufferSize, { bufferSize }).pipe(
          Stream.runForEach(() => Effect.andThen(Effect.sync(() => void (first = true)), Effect.never))
        ),
        { startImmediately: true }
      )
      yield* until("the consumer has its first element", Effect.sync(() => first))
      // Messages between the pool and an in-process thread are events: enough turns for every message to land.
      for (let i = 0; i < 50; i++) yield* turn
      // The consumer took one chunk from the buffer (16) and gave that much credit back; the thread sent 16 more and
      // has no credit left: it must not pull (compute) another chunk.
      assert.isAtMost(computed, 2 * bufferSize)
    }).pipe(
      Effect.provide(
        ThreadPool.layer({ maxThreads: 1 }).pipe(Layer.provideMerge(InProcessThreads.layer(chunkHandlers)))
      )
    ))
})
