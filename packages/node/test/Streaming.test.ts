/**
 * Streaming tasks on real threads: all the rows in order; a consumer that takes a few rows of an endless stream
 * stops it in its thread (the producer ran only a bounded way ahead); a typed failure after the rows.
 */
import { ThreadPool } from "@effect-threads/core"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { NodeThreadPool } from "../src/index.ts"
import * as Api from "./fixtures/api.ts"
import { entry, makeSignal, suiteOptions, waitIdle, waitUntil } from "./helpers.ts"

const PoolLive = NodeThreadPool.layer({ entry, minThreads: 1, maxThreads: 1 })

describe("Streaming tasks on threads", suiteOptions, () => {
  it.live("10,000 rows arrive in order", () =>
    Effect.gen(function*() {
      const signal = makeSignal()
      const rows = yield* Stream.runCollect(ThreadPool.stream(Api.Rows, { count: 10_000, signal: signal.buffer }))
      assert.strictEqual(rows.length, 10_000)
      assert.deepStrictEqual(rows.slice(0, 3), [{ id: 1 }, { id: 2 }, { id: 3 }])
      assert.strictEqual(rows[9_999]!.id, 10_000)
      yield* waitIdle(yield* ThreadPool.ThreadPool)
    }).pipe(Effect.provide(PoolLive)))

  it.live("taking 5 rows of an endless stream stops it in its thread, which ran only a bounded way ahead", () =>
    Effect.gen(function*() {
      const signal = makeSignal()
      const rows = yield* ThreadPool.stream(Api.Rows, { count: 0, signal: signal.buffer }, { bufferSize: 8 }).pipe(
        Stream.take(5),
        Stream.runCollect
      )
      assert.deepStrictEqual(rows.map((row) => row.id), [1, 2, 3, 4, 5])
      yield* waitUntil("the thread's stream stopped", Effect.sync(() => signal.get(1) === 1))
      assert.isAtMost(signal.get(0), 5 + 2 * 8 + 1)
      const pool = yield* ThreadPool.ThreadPool
      assert.strictEqual((yield* pool.statistics).threadsStarted, 1)
      yield* waitIdle(pool)
    }).pipe(Effect.provide(PoolLive)))

  it.live("a typed failure comes after the rows", () =>
    Effect.gen(function*() {
      const signal = makeSignal()
      const seen: Array<number> = []
      const error = yield* Effect.flip(
        ThreadPool.stream(Api.Rows, { count: -1, signal: signal.buffer }).pipe(
          Stream.runForEach((row) => Effect.sync(() => seen.push(row.id)))
        )
      )
      assert.instanceOf(error, Api.Rejected)
      assert.deepStrictEqual(seen, [])
    }).pipe(Effect.provide(PoolLive)))
})
