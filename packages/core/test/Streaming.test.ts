/**
 * Streaming tasks over InProcessThreads: elements in order, backpressure across the thread (the producer never gets
 * ahead of the consumer by more than the buffer), typed failures after some elements, and a consumer that stops
 * early stops the thread's stream, whose thread is then free; a thread's stream pulls its next chunk only when the
 * consumer has room; a streaming task given to a call that runs a plain task is a type error, and fails at once with
 * `TaskNotImplemented` from code the type check did not see.
 */
import { InProcessThreads, Task, ThreadError, ThreadPool } from "@effect-threads/core"
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { failureOf, turn, turns, until } from "./helpers.ts"

class TooMany extends Schema.TaggedError<TooMany>()("TooMany", { at: Schema.Number }) {}

const Count = Task.stream("Count", { payload: Schema.Number, element: Schema.Number })
const Endless = Task.stream("Endless", { element: Schema.Number })
const Failing = Task.stream("Failing", { payload: Schema.Number, element: Schema.Number, failure: TooMany })
const Square = Task.make("Square", { payload: Schema.Number, success: Schema.Number })
const Chunks = Task.stream("Chunks", { payload: Schema.Number, element: Schema.Number })

let produced = 0
let stopped = 0
let computed = 0

const handlers = [
  Task.implementStream(Count, (n) => Stream.range(1, n)),
  Task.implementStream(Endless, () =>
    Stream.iterate(1, (n) => n + 1).pipe(
      Stream.tap(() => Effect.sync(() => produced++)),
      Stream.ensuring(Effect.sync(() => stopped++))
    )),
  Task.implementStream(Failing, (n) => Stream.concat(Stream.range(1, n), Stream.fail(new TooMany({ at: n })))),
  Task.implement(Square, (n) => Effect.succeed(n * n)),
  Task.implementStream(Chunks, (chunk) =>
    Stream.range(1, 1_000_000, chunk).pipe(
      Stream.map((n) => {
        computed++
        return n
      })
    ))
]

const PoolLive = ThreadPool.layer({ minThreads: 1, maxThreads: 1 }).pipe(
  Layer.provideMerge(InProcessThreads.layer(handlers))
)

describe("Streaming tasks", () => {
  it.effect("the elements arrive in order, all of them", () =>
    Effect.gen(function*() {
      const all = yield* Stream.runCollect(ThreadPool.stream(Count, 1000))
      assert.deepStrictEqual(all, Array.from({ length: 1000 }, (_, i) => i + 1))
      assert.strictEqual((yield* ThreadPool.statistics).tasksInFlight, 0)
    }).pipe(Effect.provide(PoolLive)))

  it.effect("a slow consumer slows the producer: it is never more than twice the buffer ahead", () =>
    Effect.gen(function*() {
      produced = 0
      stopped = 0
      const taken: Array<number> = []
      yield* ThreadPool.stream(Endless, undefined, { bufferSize: 8 }).pipe(
        Stream.take(20),
        Stream.runForEach((n) =>
          Effect.gen(function*() {
            taken.push(n)
            // The consumer dawdles; the producer may run ahead only within its credit: the buffer, plus the chunk the
            // consumer took out of it and is working through, plus the element the producer holds.
            yield* turns(5)
            assert.isAtMost(produced, taken.length + 2 * 8 + 1, `produced ${produced} after ${taken.length} taken`)
          })
        )
      )
      assert.deepStrictEqual(taken, Array.from({ length: 20 }, (_, i) => i + 1))
      // Stopping early stopped the stream in its thread, and the thread is free again.
      assert.strictEqual(stopped, 1)
      assert.strictEqual(yield* ThreadPool.deferToThread(Square, 7), 49)
      assert.strictEqual((yield* ThreadPool.statistics).tasksInFlight, 0)
    }).pipe(Effect.provide(PoolLive)))

  it.effect("a typed failure comes after the elements before it", () =>
    Effect.gen(function*() {
      const seen: Array<number> = []
      const error = yield* Effect.flip(
        ThreadPool.stream(Failing, 3).pipe(Stream.runForEach((n) => Effect.sync(() => seen.push(n))))
      )
      assert.deepStrictEqual(seen, [1, 2, 3])
      assert.instanceOf(error, TooMany)
      assert.strictEqual((error as TooMany).at, 3)
    }).pipe(Effect.provide(PoolLive)))

  it.effect("interrupting the consumer stops the thread's stream", () =>
    Effect.gen(function*() {
      produced = 0
      stopped = 0
      const fiber = yield* Effect.forkChild(Stream.runDrain(ThreadPool.stream(Endless, undefined)))
      yield* turns(20)
      assert.isAbove(produced, 0)
      yield* Fiber.interrupt(fiber)
      assert.strictEqual(stopped, 1)
      assert.strictEqual(yield* ThreadPool.deferToThread(Square, 3), 9)
    }).pipe(Effect.provide(PoolLive)))
})

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
        ThreadPool.layer({ maxThreads: 1 }).pipe(Layer.provideMerge(InProcessThreads.layer(handlers)))
      )
    ))
})

describe("a streaming task given to a call that runs a plain task", () => {
  const logged: Array<unknown> = []
  const pool = ThreadPool.layer({
    minThreads: 2,
    maxThreads: 2,
    logException: (cause) => Effect.sync(() => void logged.push(Cause.squash(cause)))
  }).pipe(Layer.provideMerge(InProcessThreads.layer(handlers)))

  it("is a type error", () => {
    const check = Effect.gen(function*() {
      const threads = yield* ThreadPool.ThreadPool
      // @ts-expect-error a streaming task runs with ThreadPool.stream
      yield* ThreadPool.deferToThread(Count, 3)
      // @ts-expect-error a streaming task runs with ThreadPool.stream
      yield* threads.deferToThread(Count, 3)
      // @ts-expect-error a streaming task runs with ThreadPool.stream
      yield* ThreadPool.callInThread(Count, 3)
      // @ts-expect-error a streaming task runs with ThreadPool.stream
      yield* threads.callInThreadWithCallback(() => Effect.void, Count, 3)
      // @ts-expect-error a streaming task runs with ThreadPool.stream
      yield* ThreadPool.broadcast(Count, 3)
      // @ts-expect-error a streaming task runs with ThreadPool.stream
      ThreadPool.call(Count, 3)
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
      const untyped = Count as unknown as typeof Square
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
      assert.deepStrictEqual(yield* Stream.runCollect(threads.stream(Count, 3)), [1, 2, 3])
    }).pipe(Effect.provide(pool)))
})
