/**
 * Recycling by heap on Node: a thread whose heap (as Node reports it) passes the bound is replaced between tasks; no
 * task fails for it. Recycling after a number of tasks is the conformance suite's (run on Node by
 * `Conformance.test.ts`).
 */
import { ThreadPool } from "@effect-threads/core"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Api from "./fixtures/api.ts"
import { countingPlatform, entry, suiteOptions, waitUntil } from "./helpers.ts"

describe("Recycling", suiteOptions, () => {
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
