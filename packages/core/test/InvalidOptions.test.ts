/**
 * A pool's options out of range, over InProcessThreads: every kind fails `make` with `InvalidOptions` (not only the
 * sizes, which the error's first name, `InvalidPoolSize`, said), its message naming the option; `adjustPoolsize` out
 * of range fails with it and leaves the size as it was. `InvalidPoolSize` is the same class, deprecated.
 */
import { InProcessThreads, Task, ThreadError, ThreadPool } from "@effect-threads/core"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"

const Square = Task.make("Square", { payload: Schema.Number, success: Schema.Number })
const threads = InProcessThreads.layer([Task.implement(Square, (n) => Effect.succeed(n * n))])

const cases: ReadonlyArray<readonly [string, ThreadPool.Options, string]> = [
  ["sizes", { minThreads: 3, maxThreads: 2 }, "minThreads (3) is greater than maxThreads (2)"],
  ["pipelining", { concurrentTasksPerThread: 0 }, "concurrentTasksPerThread"],
  ["the backlog's bound", { maxBacklog: -1 }, "maxBacklog"],
  ["recycling after tasks", { recycle: { afterTasks: 0 } }, "recycle.afterTasks"],
  ["recycling above a heap size", { recycle: { heapAbove: -5 } }, "recycle.heapAbove"],
  ["a duration", { startTimeout: -1000 }, "startTimeout"]
]

describe("InvalidOptions", () => {
  for (const [kind, options, message] of cases) {
    it.effect(`${kind} out of range fail make with InvalidOptions, naming the option`, () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(Effect.scoped(ThreadPool.make(options)))
        assert.strictEqual(error._tag, "InvalidOptions")
        assert.instanceOf(error, ThreadError.InvalidOptions)
        assert.include(error.message, message)
      }).pipe(Effect.provide(threads)))
  }

  it.effect("adjustPoolsize out of range fails with InvalidOptions, caught by its tag; the size is unchanged", () =>
    Effect.gen(function*() {
      const pool = yield* ThreadPool.makeStarted({ minThreads: 1, maxThreads: 2 })
      const caught = yield* pool.adjustPoolsize({ minThreads: 5, maxThreads: 2 }).pipe(
        Effect.as("adjusted"),
        Effect.catchTag("InvalidOptions", (error) => Effect.succeed(error.message))
      )
      assert.include(caught, "minThreads (5) is greater than maxThreads (2)")
      assert.deepStrictEqual(yield* pool.size, { minThreads: 1, maxThreads: 2 })
      assert.strictEqual(yield* pool.deferToThread(Square, 4), 16)
    }).pipe(Effect.scoped, Effect.provide(threads)))

  it("InvalidPoolSize, its name before 0.4.0, is the same class", () => {
    assert.strictEqual(ThreadPool.InvalidPoolSize, ThreadPool.InvalidOptions)
    assert.strictEqual(ThreadPool.InvalidOptions, ThreadError.InvalidOptions)
    assert.instanceOf(new ThreadPool.InvalidPoolSize({ message: "x" }), ThreadError.InvalidOptions)
  })
})
