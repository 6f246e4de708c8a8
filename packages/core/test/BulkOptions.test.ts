/**
 * A bulk call's options out of range, over InProcessThreads: `batchSize`, `concurrency` and `bufferSize` must be
 * positive integers (`concurrency` may be `Infinity`, no bound); any other value fails `ThreadPool.forEach` and
 * `ThreadPool.mapStream` with `InvalidOptions` naming the option, before anything runs, on a pool and on an executor
 * that runs element by element.
 */
import { InProcessThreads, Task, ThreadPool } from "@effect-threads/core"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { failureOf, until } from "./helpers.ts"

const Square = Task.make("Square", { payload: Schema.Number, success: Schema.Number })
const Counted = Task.make("Counted", { payload: Schema.Number, success: Schema.Number })

let counted = 0

const handlers = [
  Task.implement(Square, (n) => Effect.succeed(n * n)),
  Task.implement(Counted, (n) => Effect.sync(() => counted++).pipe(Effect.as(n)))
]

const poolOf = (size: number) =>
  ThreadPool.layer({ minThreads: 0, maxThreads: size }).pipe(Layer.provideMerge(InProcessThreads.layer(handlers)))

const range = (n: number): Array<number> => Array.from({ length: n }, (_, i) => i)

const idle = until("the pool holds nothing", Effect.map(ThreadPool.statistics, (s) => s.tasksInFlight === 0))

describe("bulk options out of range", () => {
  const bad: ReadonlyArray<readonly [string, ThreadPool.MapStreamOptions]> = [
    ["batchSize", { batchSize: NaN }],
    ["batchSize", { batchSize: 0 }],
    ["batchSize", { batchSize: 2.5 }],
    ["batchSize", { batchSize: Infinity }],
    ["concurrency", { concurrency: NaN }],
    ["concurrency", { concurrency: -1 }],
    ["concurrency", { concurrency: 1.5 }],
    ["bufferSize", { bufferSize: NaN }],
    ["bufferSize", { bufferSize: 0 }],
    ["bufferSize", { bufferSize: Infinity }]
  ]
  const invalid = (exit: Exit.Exit<unknown, unknown>, option: string): void => {
    const error = failureOf(exit)
    assert.instanceOf(error, ThreadPool.InvalidOptions)
    assert.include((error as ThreadPool.InvalidOptions).message, `${option} must be a positive integer`)
  }

  for (const [option, options] of bad) {
    it.effect(`${option}: ${Object.values(options)[0]} fails forEach and mapStream with InvalidOptions, before anything runs`, () =>
      Effect.gen(function*() {
        counted = 0
        if (option !== "bufferSize") {
          invalid(yield* Effect.exit(ThreadPool.forEach(Counted, [1, 2], options)), option)
          invalid(yield* Effect.exit(ThreadPool.forEach(Counted, [1, 2], { ...options, mode: "exit" })), option)
        }
        invalid(
          yield* Effect.exit(Stream.make(1, 2).pipe(ThreadPool.mapStream(Counted, options), Stream.runCollect)),
          option
        )
        assert.strictEqual(counted, 0)
      }).pipe(Effect.provide(poolOf(2))))
  }

  it.effect("InvalidOptions is caught by its tag; concurrency: Infinity is no bound", () =>
    Effect.gen(function*() {
      const caught = yield* ThreadPool.forEach(Counted, [1], { batchSize: NaN }).pipe(
        Effect.catchTag("InvalidOptions", (error) => Effect.succeed(error.message))
      )
      assert.strictEqual(caught, "batchSize must be a positive integer, got NaN")
      assert.deepStrictEqual(
        yield* ThreadPool.forEach(Square, range(50), { concurrency: Infinity, batchSize: 3 }),
        range(50).map((n) => n * n)
      )
      const streamed = yield* Stream.fromIterable(range(50)).pipe(
        ThreadPool.mapStream(Square, { concurrency: Infinity, batchSize: 3, bufferSize: 7 }),
        Stream.runCollect
      )
      assert.deepStrictEqual(streamed, range(50).map((n) => n * n))
      yield* idle
    }).pipe(Effect.provide(poolOf(2))))

  it.effect("fail them the same on an executor that is not a pool (element by element)", () =>
    Effect.gen(function*() {
      const pool = yield* ThreadPool.Executor
      // A copy of the pool's shape is not the pool: the bulk calls run element by element over its deferToThread.
      const other = Layer.succeed(ThreadPool.Executor, { ...pool })
      counted = 0
      for (const [option, options] of bad) {
        if (option !== "bufferSize") {
          invalid(yield* Effect.exit(ThreadPool.forEach(Counted, [1, 2], options).pipe(Effect.provide(other))), option)
        }
        invalid(
          yield* Effect.exit(
            Stream.make(1, 2).pipe(ThreadPool.mapStream(Counted, options), Stream.runCollect, Effect.provide(other))
          ),
          option
        )
      }
      assert.strictEqual(counted, 0)
      assert.deepStrictEqual(
        yield* ThreadPool.forEach(Square, range(20), { concurrency: Infinity }).pipe(Effect.provide(other)),
        range(20).map((n) => n * n)
      )
    }).pipe(Effect.provide(poolOf(2))))
})
