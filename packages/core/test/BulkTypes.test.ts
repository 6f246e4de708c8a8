/**
 * The types of the bulk calls, checked by the type check (`pnpm typecheck`) and run over InProcessThreads: the result
 * of `ThreadPool.forEach` follows `mode` and `discard` only when the type check knows them (a `mode` typed
 * `"default" | "exit"` or a `discard` typed `boolean` is a type error: either could give the other shape at run
 * time); `ThreadPool.mapStream` is data-last and data-first; the bulk options are declared once, in
 * `ThreadPoolOptions`, and `ThreadPool` names the same types.
 */
import { InProcessThreads, Task, ThreadPool, type ThreadPoolOptions } from "@effect-threads/core"
import { assert, describe, expectTypeOf, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"

const Square = Task.make("Square", { payload: Schema.Number, success: Schema.Number })

const PoolLive = ThreadPool.layer({ minThreads: 0, maxThreads: 1 }).pipe(
  Layer.provideMerge(InProcessThreads.layer([Task.implement(Square, (n) => Effect.succeed(n * n))]))
)

type Exits = Array<Exit.Exit<number, ThreadPool.RunError<typeof Square>>>

describe("ThreadPool.forEach's types", () => {
  it.effect("mode and discard known to the type check give the shape they give at run time", () =>
    Effect.gen(function*() {
      const results = yield* ThreadPool.forEach(Square, [2])
      expectTypeOf(results).toEqualTypeOf<Array<number>>()
      assert.deepStrictEqual(results, [4])
      const named = yield* ThreadPool.forEach(Square, [2], { mode: "default", discard: false })
      expectTypeOf(named).toEqualTypeOf<Array<number>>()
      assert.deepStrictEqual(named, [4])
      const exits = yield* ThreadPool.forEach(Square, [2], { mode: "exit" })
      expectTypeOf(exits).toEqualTypeOf<Exits>()
      assert.deepStrictEqual(exits, [Exit.succeed(4)])
      const nothing = yield* ThreadPool.forEach(Square, [2], { discard: true })
      expectTypeOf(nothing).toEqualTypeOf<void>()
      assert.strictEqual(nothing, undefined)
    }).pipe(Effect.provide(PoolLive)))

  it.effect("a mode or a discard the type check does not know is a type error: at run time it may be either", () =>
    Effect.gen(function*() {
      const modes: ReadonlyArray<"default" | "exit"> = ["default", "exit"]
      const discards: ReadonlyArray<boolean> = [false, true]
      const shapes: Array<unknown> = []
      for (const mode of modes) {
        // @ts-expect-error the result is the successes or the exits, depending on mode's value
        shapes.push(yield* ThreadPool.forEach(Square, [2], { mode }))
      }
      for (const discard of discards) {
        // @ts-expect-error the result is the successes or nothing, depending on discard's value
        shapes.push(yield* ThreadPool.forEach(Square, [2], { discard }))
      }
      // discard: true beside a mode that may be "exit" (which keeps every Exit): not void.
      // @ts-expect-error the result is nothing or the exits, depending on mode's value
      shapes.push(yield* ThreadPool.forEach(Square, [2], { mode: modes[1], discard: true }))
      assert.deepStrictEqual(shapes, [[4], [Exit.succeed(4)], [4], undefined, [Exit.succeed(4)]])
    }).pipe(Effect.provide(PoolLive)))

  it.effect("mapStream is data-last and data-first; the options are ThreadPoolOptions' own", () =>
    Effect.gen(function*() {
      const last = yield* Stream.make(1, 2).pipe(ThreadPool.mapStream(Square, { batchSize: 1 }), Stream.runCollect)
      const first = yield* Stream.runCollect(ThreadPool.mapStream(Stream.make(1, 2), Square, { batchSize: 1 }))
      expectTypeOf(first).toEqualTypeOf(last)
      assert.deepStrictEqual([last, first], [[1, 4], [1, 4]])
      // @ts-expect-error the stream's elements are not the task's payloads
      void ThreadPool.mapStream(Stream.make("1"), Square)
      expectTypeOf<ThreadPool.BulkOptions<number>>().toEqualTypeOf<ThreadPoolOptions.BulkOptions<number>>()
      expectTypeOf<ThreadPool.ForEachOptions>().toEqualTypeOf<ThreadPoolOptions.ForEachOptions>()
      expectTypeOf<ThreadPool.MapStreamOptions>().toEqualTypeOf<ThreadPoolOptions.MapStreamOptions>()
      expectTypeOf(ThreadPool.forEach).toEqualTypeOf<ThreadPoolOptions.ForEach>()
      expectTypeOf(ThreadPool.mapStream).toEqualTypeOf<ThreadPoolOptions.MapStream>()
    }).pipe(Effect.provide(PoolLive)))
})
