/**
 * Interrupting the caller of `deferToThread`, on real threads: a queued task is taken out of the queue and never
 * starts, a running Effect task is interrupted in its thread, and a synchronous loop that cannot hear the interrupt
 * has its thread terminated after the grace period and replaced, counted in `threadsTerminated`, apart from threads
 * that crashed.
 */
import { ThreadError, ThreadPool } from "@effect-threads/core"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import { NodeThreadPool } from "../src/index.ts"
import * as Api from "./fixtures/api.ts"
import {
  countingPlatform,
  entry,
  expectFailure,
  GateSlot,
  isInterruptedOnly,
  makeSignal,
  openGates,
  readLog,
  suiteOptions,
  waitGatesStarted,
  waitIdle,
  waitStatistics,
  waitUntil
} from "./helpers.ts"

describe("Interruption", suiteOptions, () => {
  it.live("a queued task whose caller is interrupted never starts", () =>
    Effect.gen(function*() {
      const pool = yield* ThreadPool.ThreadPool
      const gates = makeSignal()
      const log = makeSignal()
      // Both threads are held by gates; the Append task waits in the backlog.
      const held = yield* Effect.forEach([1, 2], () => Effect.forkChild(pool.deferToThread(Api.Gate, gates.buffer)))
      yield* waitGatesStarted(gates, 2)
      const queued = yield* Effect.forkChild(pool.deferToThread(Api.Append, { log: log.buffer, value: 1 }))
      yield* waitStatistics(pool, "the task is backlogged", (s) => s.backloggedWorkCount === 1)
      assert.isTrue(isInterruptedOnly(yield* Fiber.interrupt(queued).pipe(Effect.andThen(Fiber.await(queued)))))
      // The threads free up and drain the backlog: the interrupted task is skipped, not run.
      yield* openGates(gates)
      yield* Effect.forEach(held, Fiber.join)
      yield* waitIdle(pool)
      assert.strictEqual(log.get(0), 0)
      assert.strictEqual(gates.get(GateSlot.interrupted), 0)
      // The same task, not interrupted, runs.
      yield* pool.deferToThread(Api.Append, { log: log.buffer, value: 2 })
      assert.deepStrictEqual(readLog(log).values, [2])
    }).pipe(Effect.provide(NodeThreadPool.layer({ entry, minThreads: 2, maxThreads: 2 }))))

  it.live("a running Effect task whose caller is interrupted is interrupted in its thread, which stays", () =>
    Effect.gen(function*() {
      const pool = yield* ThreadPool.ThreadPool
      const gates = makeSignal()
      const threadId = yield* pool.deferToThread(Api.ThreadId, undefined)
      const running = yield* Effect.forkChild(pool.deferToThread(Api.Gate, gates.buffer))
      yield* waitGatesStarted(gates, 1)
      yield* Fiber.interrupt(running)
      assert.isTrue(isInterruptedOnly(yield* Fiber.await(running)))
      // The thread's own fiber was interrupted: the fixture counted it, on the same thread.
      assert.strictEqual(gates.get(GateSlot.interrupted), 1)
      assert.strictEqual(yield* pool.deferToThread(Api.Interrupted, undefined), 1)
      assert.strictEqual(yield* pool.deferToThread(Api.ThreadId, undefined), threadId)
      const stats = yield* pool.statistics
      assert.strictEqual(stats.threadsStarted, 1)
      assert.strictEqual(stats.threadsCrashed, 0)
      yield* waitIdle(pool)
    }).pipe(Effect.provide(NodeThreadPool.layer({ entry, minThreads: 1, maxThreads: 1 }))))

  it.live("a synchronous loop that ignores the interrupt has its thread terminated after the grace period", () => {
    const platform = countingPlatform(entry)
    return Effect.gen(function*() {
      const pool = yield* ThreadPool.ThreadPool
      const signal = makeSignal()
      const firstThread = yield* pool.deferToThread(Api.ThreadId, undefined)
      // 60 s of spinning: only terminating the thread ends it within the test.
      const spinning = yield* Effect.forkChild(
        pool.deferToThread(Api.SpinSignal, { signal: signal.buffer, ms: 60_000 })
      )
      yield* waitUntil("the loop runs", Effect.sync(() => signal.get(0) === 1))
      yield* Fiber.interrupt(spinning)
      assert.isTrue(isInterruptedOnly(yield* Fiber.await(spinning)))
      // The thread is replaced: the next task runs, on a new thread.
      const nextThread = yield* pool.deferToThread(Api.ThreadId, undefined)
      assert.notStrictEqual(nextThread, firstThread)
      assert.strictEqual(yield* pool.deferToThread(Api.Add, { x: 1, y: 1 }), 2)
      const stats = yield* pool.statistics
      assert.strictEqual(stats.threadsStarted, 2)
      assert.strictEqual(stats.workerCount, 1)
      // For real: two threads were spawned, the spinning one has exited.
      yield* waitUntil("the spinning thread exited", Effect.sync(() => platform.counts.exited === 1))
      assert.strictEqual(platform.counts.spawned, 2)
      assert.strictEqual(platform.alive(), 1)
      yield* waitIdle(pool)
    }).pipe(
      Effect.provide(
        ThreadPool.layer({ minThreads: 1, maxThreads: 1, interruptGracePeriod: 50 }).pipe(Layer.provide(platform.layer))
      )
    )
  })

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
