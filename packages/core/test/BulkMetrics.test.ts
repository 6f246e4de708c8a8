/**
 * The task metrics of the bulk calls, over InProcessThreads: each element counts as a task, as if run alone; an
 * element that did not succeed, or that its thread did not run because an element before it in its batch failed,
 * counts as a failure (as an interrupted task does); a batch that fails before the pool gives it a ticket (the pool
 * has quit, its dynamic limit is not a number of threads) counts nothing, as a single task that fails so; one the
 * pool took and then failed as a whole (abandoned by `stop`) counts every element, a task and a failure.
 */
import { AlreadyQuit, InProcessThreads, PoolMetrics, Task, ThreadError, ThreadPool } from "@effect-threads/core"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { failureOf, until } from "./helpers.ts"

class Odd extends Schema.TaggedError<Odd>()("Odd", { n: Schema.Number }) {}

const Square = Task.make("Square", { payload: Schema.Number, success: Schema.Number })
const EvenOnly = Task.make("EvenOnly", { payload: Schema.Number, success: Schema.Number, failure: Odd })

const threads = InProcessThreads.layer([
  Task.implement(Square, (n) => Effect.succeed(n * n)),
  Task.implement(EvenOnly, (n) => n % 2 === 0 ? Effect.succeed(n) : Effect.fail(new Odd({ n })))
])

/** The pool's task and failure counters so far. */
const counters = (pool: string) =>
  Effect.all({
    tasks: Effect.map(Metric.value(Metric.withAttributes(PoolMetrics.tasks, { pool })), (state) => state.count),
    failures: Effect.map(Metric.value(Metric.withAttributes(PoolMetrics.failures, { pool })), (state) => state.count)
  })

/** What `effect` added to the counters of the pool named `pool`. */
const counted = <A, E, R>(pool: string, effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const before = yield* counters(pool)
    const exit = yield* Effect.exit(effect)
    const after = yield* counters(pool)
    return { exit, tasks: after.tasks - before.tasks, failures: after.failures - before.failures }
  })

describe("the bulk calls' task metrics", () => {
  it.effect("a batch refused before it has a ticket counts nothing: the pool had quit", () =>
    Effect.gen(function*() {
      const pool = yield* ThreadPool.Executor
      yield* pool.stop
      const each = yield* counted("Quit", ThreadPool.forEach(Square, [1, 2, 3, 4, 5, 6, 7, 8], { batchSize: 8 }))
      assert.instanceOf(failureOf(each.exit), AlreadyQuit.AlreadyQuit)
      assert.deepStrictEqual([each.tasks, each.failures], [0, 0])
      const stream = yield* counted(
        "Quit",
        Stream.runCollect(Stream.make(1, 2, 3, 4).pipe(ThreadPool.mapStream(Square, { batchSize: 4 })))
      )
      assert.instanceOf(failureOf(stream.exit), AlreadyQuit.AlreadyQuit)
      assert.deepStrictEqual([stream.tasks, stream.failures], [0, 0])
    }).pipe(Effect.provide(ThreadPool.layer({ name: "Quit", maxThreads: 1 }).pipe(Layer.provideMerge(threads)))))

  it.effect("a batch refused before it has a ticket counts nothing: a dynamic limit that is not a number of threads", () =>
    Effect.gen(function*() {
      const each = yield* counted("BadLimit", ThreadPool.forEach(Square, [1, 2, 3, 4, 5], { batchSize: 5 }))
      assert.instanceOf(failureOf(each.exit), ThreadError.InvalidLimit)
      assert.deepStrictEqual([each.tasks, each.failures], [0, 0])
    }).pipe(
      Effect.provide(
        ThreadPool.layer({ name: "BadLimit", currentLimit: Effect.succeed(-1) }).pipe(Layer.provideMerge(threads))
      )
    ))

  it.effect("every element is a task; one that failed, or was not run after a failure in its batch, a failure", () =>
    Effect.gen(function*() {
      const ok = yield* counted("Counts", ThreadPool.forEach(Square, [1, 2, 3, 4, 5], { batchSize: 5 }))
      assert.deepStrictEqual([ok.tasks, ok.failures], [5, 0])
      // The thread stops at 1: 2 and 4 are not run.
      const stopped = yield* counted("Counts", ThreadPool.forEach(EvenOnly, [0, 1, 2, 4], { batchSize: 4 }))
      assert.deepStrictEqual(failureOf(stopped.exit), new Odd({ n: 1 }))
      assert.deepStrictEqual([stopped.tasks, stopped.failures], [4, 3])
      const exits = yield* counted("Counts", ThreadPool.forEach(EvenOnly, [0, 1, 2, 3], { batchSize: 4, mode: "exit" }))
      assert.deepStrictEqual([exits.tasks, exits.failures], [4, 2])
    }).pipe(Effect.provide(ThreadPool.layer({ name: "Counts", maxThreads: 1 }).pipe(Layer.provideMerge(threads)))))

  it.effect("a batch with a ticket that stop abandons counts every element, a task and a failure", () =>
    Effect.gen(function*() {
      // A pool not started makes no thread: the batch's ticket waits in the backlog until stop fails it.
      const pool = yield* ThreadPool.make({ name: "Abandoned", maxThreads: 1 })
      const before = yield* counters("Abandoned")
      const call = yield* Effect.forkChild(
        Effect.exit(
          ThreadPool.forEach(Square, [1, 2, 3, 4, 5, 6], { batchSize: 6 }).pipe(
            Effect.provideService(ThreadPool.Executor, pool)
          )
        )
      )
      yield* until("the batch is backlogged", Effect.map(pool.statistics, (stats) => stats.backloggedWorkCount === 1))
      yield* pool.stop
      const exit = yield* Fiber.join(call)
      assert.instanceOf(failureOf(exit), AlreadyQuit.AlreadyQuit)
      const after = yield* counters("Abandoned")
      assert.deepStrictEqual([after.tasks - before.tasks, after.failures - before.failures], [6, 6])
    }).pipe(Effect.provide(threads)))
})
