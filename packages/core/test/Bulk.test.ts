/**
 * The bulk calls over InProcessThreads: `ThreadPool.forEach` (results in order, the first failure fails the call and
 * interrupts the rest in their threads, `mode: "exit"`, `discard`, a crash in the middle of a batch, interruption,
 * the pool's scope closing, bad input) and `ThreadPool.mapStream` (ordered or as completed, failures of an element
 * and of the upstream, backpressure, a consumer that stops).
 */
import { InProcessThreads, PoolMetrics, Task, TaskCodec, ThreadError, ThreadPool } from "@effect-threads/core"
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { failureOf, until } from "./helpers.ts"

class Odd extends Schema.TaggedError<Odd>()("Odd", { n: Schema.Number }) {}

const Square = Task.make("Square", { payload: Schema.Number, success: Schema.Number })
const EvenOnly = Task.make("EvenOnly", { payload: Schema.Number, success: Schema.Number, failure: Odd })
const Hold = Task.make("Hold", { payload: Schema.Number, success: Schema.Number })
const Crashy = Task.make("Crashy", { payload: Schema.Number, success: Schema.Number })
const Point = Task.make("Point", {
  payload: Schema.Struct({ x: Schema.Number }),
  success: Schema.Number
})
const Missing = Task.make("Missing", { payload: Schema.Number, success: Schema.Number })
const Lies = Task.make("Lies", { payload: Schema.Number, success: Schema.Number })
const Counted = Task.make("Counted", { payload: Schema.Number, success: Schema.Number })
const Rows = Task.stream("Rows", { payload: Schema.Number, element: Schema.Number })

let started = 0
let interrupted = 0
let crashyRuns = 0
let counted = 0

const handlers = [
  Task.implement(Square, (n) => Effect.succeed(n * n)),
  Task.implement(EvenOnly, (n) => n % 2 === 0 ? Effect.succeed(n) : Effect.fail(new Odd({ n }))),
  Task.implement(Hold, (n) =>
    Effect.sync(() => started++).pipe(
      Effect.andThen(n < 0 ? Effect.never : Effect.succeed(n)),
      Effect.onInterrupt(() => Effect.sync(() => interrupted++))
    )),
  Task.implement(Crashy, (n) => Effect.sync(() => crashyRuns++).pipe(Effect.as(n))),
  Task.implement(Point, ({ x }) => Effect.succeed(x)),
  Task.implement(Counted, (n) => Effect.sync(() => counted++).pipe(Effect.as(n))),
  // Its odd elements' results do not match the success schema.
  Task.implement(Lies, (n) => Effect.succeed(n % 2 === 0 ? n : `${n}` as unknown as number)),
  Task.implementStream(Rows, (n) => Stream.range(1, n))
]

const poolOf = (size: number, options?: InProcessThreads.Options<never, never>) =>
  ThreadPool.layer({ minThreads: 0, maxThreads: size }).pipe(
    Layer.provideMerge(InProcessThreads.layer(handlers, options))
  )

const range = (n: number): Array<number> => Array.from({ length: n }, (_, i) => i)

const idle = until("the pool holds nothing", Effect.map(ThreadPool.statistics, (s) => s.tasksInFlight === 0))

describe("ThreadPool.forEach", () => {
  it.effect("gives every result in the input's order, and the metrics count each element", () =>
    Effect.gen(function*() {
      const tasks = Metric.value(Metric.withAttributes(PoolMetrics.tasks, { pool: "ThreadPool" }))
      const before = (yield* tasks).count
      const results = yield* ThreadPool.forEach(Square, range(5_000))
      assert.deepStrictEqual(results, range(5_000).map((n) => n * n))
      assert.strictEqual((yield* ThreadPool.statistics).tasksInFlight, 0)
      assert.strictEqual((yield* tasks).count - before, 5_000)
      assert.deepStrictEqual(yield* ThreadPool.forEach(Square, []), [])
      assert.deepStrictEqual(yield* ThreadPool.forEach(Square, new Set([3, 4])), [9, 16])
    }).pipe(Effect.provide(poolOf(2))))

  it.effect("with a fixed batch size, and with discard", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(
        yield* ThreadPool.forEach(Square, range(101), { batchSize: 7 }),
        range(101).map((n) => n * n)
      )
      const nothing: void = yield* ThreadPool.forEach(Square, range(100), { discard: true })
      assert.strictEqual(nothing, undefined)
    }).pipe(Effect.provide(poolOf(2))))

  it.effect("the first failure fails the call with its typed error; the rest is interrupted in its threads", () =>
    Effect.gen(function*() {
      started = 0
      interrupted = 0
      // Three elements hold three threads until interrupted; the fourth thread runs the failing call.
      const exit = yield* Effect.exit(
        Effect.all([
          ThreadPool.forEach(Hold, [-1, -1, -1], { batchSize: 1 }),
          Effect.andThen(
            until("the holds started", Effect.sync(() => started === 3)),
            ThreadPool.forEach(EvenOnly, [2, 3])
          )
        ], { concurrency: "unbounded" })
      )
      assert.instanceOf(failureOf(exit), Odd)
      // Effect.all interrupted the holding call when the other failed: its elements were interrupted in their threads.
      assert.strictEqual(interrupted, 3)
      yield* idle
    }).pipe(Effect.provide(poolOf(4))))

  it.effect("a failing element stops its call: no batch is sent after it, the batches in flight are interrupted", () =>
    Effect.gen(function*() {
      started = 0
      interrupted = 0
      const holds = ThreadPool.forEach(Hold, [-1, -1], { batchSize: 1 }).pipe(Effect.forkChild)
      const fiber = yield* holds
      yield* until("the holds started", Effect.sync(() => started === 2))
      const exit = yield* Effect.exit(ThreadPool.forEach(EvenOnly, [0, 2, 4, 5, 6, 8]))
      assert.deepStrictEqual(failureOf(exit), new Odd({ n: 5 }))
      yield* Fiber.interrupt(fiber)
      assert.strictEqual(interrupted, 2)
      yield* idle
    }).pipe(Effect.provide(poolOf(3))))

  it.effect("mode: \"exit\" runs every element and gives each one's Exit, in its place", () =>
    Effect.gen(function*() {
      const exits = yield* ThreadPool.forEach(EvenOnly, range(10), { mode: "exit" })
      assert.strictEqual(exits.length, 10)
      for (const [i, exit] of exits.entries()) {
        if (i % 2 === 0) assert.deepStrictEqual(exit, Exit.succeed(i))
        else assert.deepStrictEqual(failureOf(exit), new Odd({ n: i }))
      }
    }).pipe(Effect.provide(poolOf(2))))

  it.effect("a thread that dies in the middle of a batch fails that batch's elements with ThreadCrashed, once", () =>
    Effect.gen(function*() {
      crashyRuns = 0
      // Thread 1 dies as Crashy starts on it; threads after it are sound. One thread at a time, batches of 4.
      const exits = yield* ThreadPool.forEach(Crashy, range(12), { mode: "exit", batchSize: 4 })
      const crashed = exits.flatMap((exit, i) =>
        Exit.isFailure(exit) && failureOf(exit) instanceof ThreadError.ThreadCrashed ? [i] : []
      )
      assert.deepStrictEqual(crashed, [0, 1, 2, 3])
      const error = failureOf(exits[0]!) as ThreadError.ThreadCrashed
      assert.strictEqual(error.task, "Crashy")
      assert.match(error.message, /while running Crashy/)
      assert.deepStrictEqual(exits.slice(4), range(12).slice(4).map((n) => Exit.succeed(n)))
      // None of the crashed batch ran again: the 8 runs are the other batches', on the sound thread.
      assert.strictEqual(crashyRuns, 8)
      // Without mode: "exit", the crash fails the call.
      const control = yield* InProcessThreads.Control
      control.setFault(control.spawned() + 1, { _tag: "DiesOnTask", task: "Crashy" })
      yield* Effect.forEach(control.live(), (id) => Effect.sync(() => control.kill(id)))
      const failed = yield* Effect.exit(ThreadPool.forEach(Crashy, range(8), { batchSize: 4 }))
      assert.instanceOf(failureOf(failed), ThreadError.ThreadCrashed)
      yield* idle
    }).pipe(Effect.provide(poolOf(1, { faults: { 1: { _tag: "DiesOnTask", task: "Crashy" } } }))))

  it.effect("interrupting the caller interrupts its elements in their threads and waits for them", () =>
    Effect.gen(function*() {
      started = 0
      interrupted = 0
      const fiber = yield* Effect.forkChild(ThreadPool.forEach(Hold, [-1, -1, -1, -1], { batchSize: 1 }))
      yield* until("the holds started", Effect.sync(() => started === 2))
      yield* Fiber.interrupt(fiber)
      assert.strictEqual(interrupted, 2)
      assert.strictEqual((yield* ThreadPool.statistics).tasksInFlight, 0)
    }).pipe(Effect.provide(poolOf(2))))

  it.live("closing the pool's scope ends a call under way with an interruption", () =>
    Effect.gen(function*() {
      started = 0
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(poolOf(2), scope)
      const fiber = yield* Effect.forkChild(
        ThreadPool.forEach(Hold, [-1, -1, -1], { batchSize: 1 }).pipe(Effect.provide(context))
      )
      yield* until("the holds started", Effect.sync(() => started === 2))
      yield* Scope.close(scope, Exit.void)
      const exit = yield* Fiber.await(fiber)
      assert.isTrue(Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause))
    }))

  it.effect("a payload the thread cannot decode (through a relay) is that element's InvalidPayload, with its path", () =>
    Effect.gen(function*() {
      // A relay sends payloads as they are: only the thread decodes them, with Point's schema.
      const relay = TaskCodec.relay(Point)
      const payloads = [{ x: 1 }, { x: "2" }, { x: 3 }]
      const exits = yield* ThreadPool.forEach(relay, payloads, { mode: "exit", batchSize: 3 })
      assert.deepStrictEqual([exits[0], exits[2]], [Exit.succeed(1), Exit.succeed(3)])
      const error = failureOf(exits[1]!) as ThreadError.InvalidPayload
      assert.instanceOf(error, ThreadError.InvalidPayload)
      assert.strictEqual(error.task, "Point")
      assert.strictEqual(error.path, "$.x")
      assert.include(error.message, "the payload of Point does not match its schema at $.x")
      // Without mode: "exit", it fails the call with that error; so it does a stream.
      const failed = failureOf(yield* Effect.exit(ThreadPool.forEach(relay, payloads, { batchSize: 3 })))
      assert.instanceOf(failed, ThreadError.InvalidPayload)
      assert.strictEqual((failed as ThreadError.InvalidPayload).path, "$.x")
      const streamed: Array<unknown> = []
      const stream = yield* Stream.fromIterable(payloads).pipe(
        ThreadPool.mapStream(relay),
        Stream.runForEach((x) => Effect.sync(() => streamed.push(x))),
        Effect.exit
      )
      assert.strictEqual((failureOf(stream) as ThreadError.InvalidPayload).path, "$.x")
      assert.deepStrictEqual(streamed, [1])
      // The thread goes on.
      assert.deepStrictEqual(yield* ThreadPool.forEach(Point, [{ x: 4 }]), [4])
    }).pipe(Effect.provide(poolOf(1))))

  it.effect("plain schemas (a number): a batch parsed at once still gives each element its own outcome", () =>
    Effect.gen(function*() {
      // The main thread's encode: the string alone fails, at $, and is not sent; the others run.
      const sent = yield* ThreadPool.forEach(Square, [1, "2" as unknown as number, 3], { mode: "exit", batchSize: 3 })
      assert.deepStrictEqual([sent[0], sent[2]], [Exit.succeed(1), Exit.succeed(9)])
      const invalid = failureOf(sent[1]!) as ThreadError.InvalidPayload
      assert.instanceOf(invalid, ThreadError.InvalidPayload)
      assert.strictEqual(invalid.path, "$")
      // The thread's decode (through a relay): the string alone is InvalidPayload.
      const relayed = yield* ThreadPool.forEach(TaskCodec.relay(Square), [2, "x", 4], { mode: "exit", batchSize: 3 })
      assert.deepStrictEqual([relayed[0], relayed[2]], [Exit.succeed(4), Exit.succeed(16)])
      assert.instanceOf(failureOf(relayed[1]!), ThreadError.InvalidPayload)
      // The thread's encode and the main thread's decode: the results that are not numbers alone are InvalidResult,
      // in a batch and in a stream.
      const lies = yield* ThreadPool.forEach(Lies, [0, 1, 2, 3, 4], { mode: "exit", batchSize: 5 })
      assert.deepStrictEqual(lies.map(Exit.isSuccess), [true, false, true, false, true])
      assert.instanceOf(failureOf(lies[3]!), ThreadError.InvalidResult)
      const streamed = yield* Stream.make(0, 2, 4).pipe(ThreadPool.mapStream(Lies, { batchSize: 3 }), Stream.runCollect)
      assert.deepStrictEqual(streamed, [0, 2, 4])
    }).pipe(Effect.provide(poolOf(1))))

  it.effect("bad input: a payload that does not match, a task not implemented, a streaming task", () =>
    Effect.gen(function*() {
      const bad = yield* Effect.exit(ThreadPool.forEach(Point, [{ x: 1 }, { x: "2" as unknown as number }]))
      const error = failureOf(bad) as ThreadError.InvalidPayload
      assert.instanceOf(error, ThreadError.InvalidPayload)
      assert.strictEqual(error.path, "$.x")
      const exits = yield* ThreadPool.forEach(Point, [{ x: 1 }, { x: "2" as unknown as number }], { mode: "exit" })
      assert.deepStrictEqual(exits[0], Exit.succeed(1))
      assert.instanceOf(failureOf(exits[1]!), ThreadError.InvalidPayload)
      const lies = yield* ThreadPool.forEach(Lies, [0, 1, 2], { mode: "exit" })
      assert.deepStrictEqual([lies[0], lies[2]], [Exit.succeed(0), Exit.succeed(2)])
      assert.instanceOf(failureOf(lies[1]!), ThreadError.InvalidResult)
      const missing = failureOf(yield* Effect.exit(ThreadPool.forEach(Missing, [1, 2])))
      assert.instanceOf(missing, ThreadError.TaskNotImplemented)
      assert.strictEqual((missing as ThreadError.TaskNotImplemented).task, "Missing")
      // @ts-expect-error a streaming task runs with ThreadPool.stream (Task.NotStream)
      void ThreadPool.forEach(Rows, [1])
      // From code the type check did not see.
      const untyped = ThreadPool.forEach as unknown as (
        task: Task.Any,
        payloads: Iterable<unknown>
      ) => Effect.Effect<unknown, unknown, ThreadPool.Executor>
      assert.instanceOf(failureOf(yield* Effect.exit(untyped(Rows, [1]))), ThreadError.TaskNotImplemented)
    }).pipe(Effect.provide(poolOf(1))))
})

describe("ThreadPool.mapStream", () => {
  it.effect("maps a stream in order, or as batches end, every element once", () =>
    Effect.gen(function*() {
      const ordered = yield* Stream.range(0, 2_999).pipe(ThreadPool.mapStream(Square), Stream.runCollect)
      assert.deepStrictEqual(ordered, range(3_000).map((n) => n * n))
      const single = yield* Stream.range(0, 99).pipe(Stream.rechunk(1), ThreadPool.mapStream(Square), Stream.runCollect)
      assert.deepStrictEqual(single, range(100).map((n) => n * n))
      const unordered = yield* Stream.range(0, 999).pipe(
        ThreadPool.mapStream(Square, { ordered: false }),
        Stream.runCollect
      )
      assert.deepStrictEqual(unordered.toSorted((a, b) => a - b), range(1_000).map((n) => n * n))
      yield* idle
    }).pipe(Effect.provide(poolOf(2))))

  it.effect("an element's failure fails the stream after the elements before it; so does the upstream's", () =>
    Effect.gen(function*() {
      const taken: Array<number> = []
      const exit = yield* Stream.make(0, 2, 4, 5, 6).pipe(
        Stream.rechunk(1),
        ThreadPool.mapStream(EvenOnly, { batchSize: 1, concurrency: 1 }),
        Stream.runForEach((n) => Effect.sync(() => taken.push(n))),
        Effect.exit
      )
      assert.deepStrictEqual(failureOf(exit), new Odd({ n: 5 }))
      assert.deepStrictEqual(taken, [0, 2, 4])
      const upstream = yield* Stream.concat(Stream.make(1, 2), Stream.fail("upstream broke")).pipe(
        ThreadPool.mapStream(Square),
        Stream.runCollect,
        Effect.exit
      )
      assert.strictEqual(failureOf(upstream), "upstream broke")
      // A result that does not match its schema is InvalidResult, after the elements before it.
      const lies: Array<number> = []
      const invalid = yield* Stream.make(0, 2, 3, 4).pipe(
        ThreadPool.mapStream(Lies),
        Stream.runForEach((n) => Effect.sync(() => lies.push(n))),
        Effect.exit
      )
      assert.instanceOf(failureOf(invalid), ThreadError.InvalidResult)
      assert.deepStrictEqual(lies, [0, 2])
      yield* idle
    }).pipe(Effect.provide(poolOf(2))))

  it.effect("backpressure: the upstream is pulled at most bufferSize ahead; a consumer that stops stops it", () =>
    Effect.gen(function*() {
      let pulled = 0
      const taken = yield* Stream.iterate(0, (n) => n + 1).pipe(
        Stream.rechunk(1),
        Stream.tap(() => Effect.sync(() => pulled++)),
        ThreadPool.mapStream(Square, { bufferSize: 16 }),
        Stream.take(40),
        Stream.runCollect
      )
      assert.deepStrictEqual(taken, range(40).map((n) => n * n))
      // What the consumer's last pull took from the stage's queue counts as taken: one more bufferSize's worth.
      assert.isAtMost(pulled, 40 + 2 * 16 + 1)
      // An upstream chunk larger than the bound is taken in parts: no more elements run than the bound allows.
      counted = 0
      const first = yield* Stream.fromIterable(range(10_000)).pipe(
        ThreadPool.mapStream(Counted, { bufferSize: 16 }),
        Stream.take(10),
        Stream.runCollect
      )
      assert.deepStrictEqual(first, range(10))
      assert.isAtMost(counted, 10 + 2 * 16)
      yield* idle
    }).pipe(Effect.provide(poolOf(2))))

  it.effect("a consumer that stops sends nothing more: the elements waiting to be batched are dropped, not sent", () =>
    Effect.gen(function*() {
      started = 0
      let pulled = 0
      const tasks = Metric.value(Metric.withAttributes(PoolMetrics.tasks, { pool: "ThreadPool" }))
      const before = (yield* tasks).count
      // The first element holds the one thread; the next three wait for a full batch of 10 while it is busy.
      const fiber = yield* Stream.concat(Stream.make(-1, 1, 2, 3), Stream.never).pipe(
        Stream.rechunk(1),
        Stream.tap(() => Effect.sync(() => pulled++)),
        ThreadPool.mapStream(Hold, { batchSize: 10 }),
        Stream.runDrain,
        Effect.forkChild
      )
      yield* until("the hold started and three elements wait", Effect.sync(() => started === 1 && pulled === 4))
      yield* Fiber.interrupt(fiber)
      // One task: the hold's batch. The three waiting elements were not sent as a batch only to be interrupted.
      assert.strictEqual((yield* tasks).count - before, 1)
      assert.strictEqual(started, 1)
      // An upstream interrupted on its own ends the stream as it would without the stage: interrupted.
      const plain = yield* Effect.exit(
        Stream.runCollect(Stream.concat(Stream.make(1, 2), Stream.fromEffect(Effect.interrupt)))
      )
      const staged = yield* Stream.concat(Stream.make(1, 2), Stream.fromEffect(Effect.interrupt)).pipe(
        ThreadPool.mapStream(Square),
        Stream.runCollect,
        Effect.exit
      )
      assert.isTrue(Exit.isFailure(plain) && Cause.hasInterruptsOnly(plain.cause))
      assert.isTrue(Exit.isFailure(staged) && Cause.hasInterruptsOnly(staged.cause))
      yield* idle
    }).pipe(Effect.provide(poolOf(1))))

  it.effect("a consumer that is interrupted interrupts the elements running in their threads", () =>
    Effect.gen(function*() {
      started = 0
      interrupted = 0
      const fiber = yield* Stream.make(-1, -1, -1).pipe(
        ThreadPool.mapStream(Hold, { batchSize: 1 }),
        Stream.runDrain,
        Effect.forkChild
      )
      yield* until("the holds started", Effect.sync(() => started === 2))
      yield* Fiber.interrupt(fiber)
      assert.strictEqual(interrupted, 2)
      assert.strictEqual((yield* ThreadPool.statistics).tasksInFlight, 0)
    }).pipe(Effect.provide(poolOf(2))))
})
