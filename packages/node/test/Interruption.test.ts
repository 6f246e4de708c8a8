/**
 * Interrupting callers on Node's threads: many at once, each settled, the pool still working; a spinning thread
 * terminated after the grace period counted in `threadsTerminated`, apart from threads that crashed. A queued task
 * that never starts, a running task interrupted in its thread, and a synchronous loop terminated after the grace
 * period are the conformance suite's (run on Node by `Conformance.test.ts`).
 */
import { ThreadError, ThreadPool } from "@effect-threads/core"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import { NodeThreadPool } from "../src/index.ts"
import * as Api from "./fixtures/api.ts"
import {
  entry,
  expectFailure,
  GateSlot,
  isInterruptedOnly,
  makeSignal,
  suiteOptions,
  waitGatesStarted,
  waitIdle,
  waitStatistics,
  waitUntil
} from "./helpers.ts"

describe("Interruption", suiteOptions, () => {
  it.live("interrupting many callers at once settles each, and the pool keeps working", () =>
    Effect.gen(function*() {
      const pool = yield* ThreadPool.ThreadPool
      const gates = makeSignal()
      const log = makeSignal()
      const running = yield* Effect.forEach([1, 2], () => Effect.forkChild(pool.deferToThread(Api.Gate, gates.buffer)))
      yield* waitGatesStarted(gates, 2)
      const queued = yield* Effect.forEach(
        [1, 2, 3, 4, 5, 6],
        (value) => Effect.forkChild(pool.deferToThread(Api.Append, { log: log.buffer, value }))
      )
      yield* waitStatistics(pool, "6 tasks are backlogged", (s) => s.backloggedWorkCount === 6)
      const all: Array<Fiber.Fiber<unknown, unknown>> = [...running, ...queued]
      yield* Fiber.interruptAll(all)
      for (const fiber of all) assert.isTrue(isInterruptedOnly(yield* Fiber.await(fiber)))
      yield* waitIdle(pool)
      assert.strictEqual(gates.get(GateSlot.interrupted), 2)
      assert.strictEqual(log.get(0), 0)
      assert.strictEqual((yield* pool.statistics).threadsStarted, 2)
      assert.strictEqual(yield* pool.deferToThread(Api.Add, { x: 1, y: 2 }), 3)
    }).pipe(Effect.provide(NodeThreadPool.layer({ entry, minThreads: 2, maxThreads: 2 }))))
})

describe("threads terminated for ignoring an interrupt, apart from threads that crashed", suiteOptions, () => {
  it.live("a spinning task's thread terminated after the grace period counts in threadsTerminated only", () =>
    Effect.gen(function*() {
      const pool = yield* ThreadPool.ThreadPool
      const signal = makeSignal()
      const spinning = yield* Effect.forkChild(
        pool.deferToThread(Api.SpinSignal, { signal: signal.buffer, ms: 60_000 })
      )
      yield* waitUntil("the loop runs", Effect.sync(() => signal.get(0) === 1))
      yield* Fiber.interrupt(spinning)
      yield* waitStatistics(pool, "the thread is replaced", (s) => s.threadsStarted === 2)
      const terminated = yield* pool.statistics
      assert.strictEqual(terminated.threadsTerminated, 1)
      assert.strictEqual(terminated.threadsCrashed, 0)
      assert.instanceOf(expectFailure(yield* Effect.exit(pool.deferToThread(Api.Exit, 3))), ThreadError.ThreadCrashed)
      const crashed = yield* pool.statistics
      assert.strictEqual(crashed.threadsTerminated, 1)
      assert.strictEqual(crashed.threadsCrashed, 1)
    }).pipe(Effect.provide(NodeThreadPool.layer({ entry, minThreads: 1, maxThreads: 1, interruptGracePeriod: 50 }))))
})
