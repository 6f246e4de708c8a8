/**
 * Streaming tasks on real threads: all the rows in order; a consumer that takes a few rows of an endless stream
 * stops it in its thread (the producer ran only a bounded way ahead); a typed failure after the rows; how far a
 * thread's stream runs ahead of its consumer, by the chunks it computes.
 */
import { ThreadPool } from "@effect-threads/core"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { NodeThreadPool } from "../src/index.ts"
import * as Api from "./fixtures/api.ts"
import { Produce } from "./fixtures/produced-api.ts"
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

const produced = new URL("./fixtures/produced.ts", import.meta.url)

describe("how far a thread's stream runs ahead of its consumer", suiteOptions, () => {
  const bufferSize = 16
  /** Takes `take` elements of a million, then counts what the thread's stream computed once it stopped. */
  const run = (take: number, chunk: number, rechunk: boolean) =>
    Effect.gen(function*() {
      const pool = yield* NodeThreadPool.make({ entry: produced, maxThreads: 1 })
      yield* pool.start
      const signal = makeSignal()
      const taken = yield* pool.stream(Produce, { count: 1_000_000, chunk, rechunk, signal: signal.buffer }, {
        bufferSize
      }).pipe(Stream.take(take), Stream.runCollect)
      assert.deepStrictEqual(taken, Array.from({ length: take }, (_, i) => i + 1))
      yield* waitIdle(pool)
      return signal.get(0)
    }).pipe(Effect.scoped)

  it.live("one element per pull: at most twice bufferSize ahead of what the consumer took", () =>
    Effect.gen(function*() {
      assert.isAtMost(yield* run(5, 1, false), 5 + 2 * bufferSize)
      assert.isAtMost(yield* run(100, 1, false), 100 + 2 * bufferSize)
    }))

  it.live("chunks of 64: at most twice bufferSize and one chunk ahead", () =>
    Effect.gen(function*() {
      assert.isAtMost(yield* run(5, 64, false), 5 + 2 * bufferSize + 64)
      assert.isAtMost(yield* run(300, 64, false), 300 + 2 * bufferSize + 64)
    }))

  it.live("the default chunks of Stream.range, with Stream.rechunk(1) before the costly step: bounded as one per pull", () =>
    Effect.gen(function*() {
      assert.isAtMost(yield* run(5, 0, true), 5 + 2 * bufferSize)
    }))

  it.live("the default chunks of Stream.range: one chunk of 4,096 is computed whole (as documented)", () =>
    Effect.gen(function*() {
      const computed = yield* run(5, 0, false)
      assert.isAtLeast(computed, 4_096)
      assert.isAtMost(computed, 5 + 2 * bufferSize + 4_096)
    }))
})
