/**
 * Streaming tasks over InProcessThreads: elements in order, backpressure across the thread (the producer never gets
 * ahead of the consumer by more than the buffer), typed failures after some elements, and a consumer that stops
 * early stops the thread's stream, whose thread is then free.
 */
import { InProcessThreads, Task, ThreadPool } from "@effect-threads/core"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { turns } from "./helpers.ts"

class TooMany extends Schema.TaggedError<TooMany>()("TooMany", { at: Schema.Number }) {}

const Count = Task.stream("Count", { payload: Schema.Number, element: Schema.Number })
const Endless = Task.stream("Endless", { element: Schema.Number })
const Failing = Task.stream("Failing", { payload: Schema.Number, element: Schema.Number, failure: TooMany })
const Square = Task.make("Square", { payload: Schema.Number, success: Schema.Number })

let produced = 0
let stopped = 0

const handlers = [
  Task.implementStream(Count, (n) => Stream.range(1, n)),
  Task.implementStream(Endless, () =>
    Stream.iterate(1, (n) => n + 1).pipe(
      Stream.tap(() => Effect.sync(() => produced++)),
      Stream.ensuring(Effect.sync(() => stopped++))
    )),
  Task.implementStream(Failing, (n) => Stream.concat(Stream.range(1, n), Stream.fail(new TooMany({ at: n })))),
  Task.implement(Square, (n) => Effect.succeed(n * n))
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
