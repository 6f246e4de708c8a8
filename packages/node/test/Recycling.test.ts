/**
 * Recycling on real threads: a thread is retired and replaced after its share of tasks, or once its heap passes a
 * bound, always between tasks; no task fails for it.
 */
import { ThreadPool } from "@effect-threads/core"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { NodeThreadPool } from "../src/index.ts"
import * as Api from "./fixtures/api.ts"
import { countingPlatform, entry, suiteOptions, waitUntil } from "./helpers.ts"

describe("Recycling", suiteOptions, () => {
  it.live("after 3 tasks a thread is replaced: 7 tasks run on 3 threads, in turn", () =>
    Effect.gen(function*() {
      const pool = yield* ThreadPool.ThreadPool
      const threads: Array<number> = []
      for (let i = 0; i < 7; i++) threads.push(yield* pool.deferToThread(Api.ThreadId, undefined))
      assert.strictEqual(new Set(threads.slice(0, 3)).size, 1)
      assert.strictEqual(new Set(threads.slice(3, 6)).size, 1)
      assert.strictEqual(new Set(threads).size, 3)
      const stats = yield* pool.statistics
      assert.strictEqual(stats.threadsRecycled, 2)
      assert.strictEqual(stats.threadsCrashed, 0)
    }).pipe(
      Effect.provide(NodeThreadPool.layer({ entry, minThreads: 1, maxThreads: 1, recycle: { afterTasks: 3 } }))
    ))

  it.live("a thread whose heap passes the bound is replaced between tasks, and the old one exits", () =>
    Effect.gen(function*() {
      const platform = countingPlatform(entry)
      const pool = yield* ThreadPool.makeStarted({
        minThreads: 1,
        maxThreads: 1,
        recycle: { heapAbove: 40 * 1024 * 1024 }
      }).pipe(Effect.provide(platform.layer), Effect.orDie)
      const threads: Array<number> = []
      // 16 MB more per task: the bound is passed after the second or third.
      for (let i = 0; i < 6; i++) threads.push(yield* pool.deferToThread(Api.Retain, 16))
      const stats = yield* pool.statistics
      assert.isAtLeast(stats.threadsRecycled, 1)
      assert.isAbove(new Set(threads).size, 1)
      assert.strictEqual(stats.threadsCrashed, 0)
      yield* waitUntil("the recycled threads exited", Effect.sync(() => platform.alive() === 1))
    }).pipe(Effect.scoped))
})
