/**
 * A deadline on a task, on real threads: `Effect.timeout` (and `timeoutOption`, `timeoutOrElse`) around
 * `deferToThread` interrupts the call when the deadline passes, and the interrupt reaches the thread. A running Effect
 * task is interrupted in its thread, which stays and takes the next task; a synchronous loop that cannot hear the
 * interrupt has its thread terminated after `interruptGracePeriod`, and a new thread takes its place; a task still
 * in the backlog leaves it at once and never starts. The timeout's error comes once the task has ended in its thread.
 */
import { ThreadPool } from "@effect-threads/core"
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { NodeThreadPool } from "../src/index.ts"
import * as Api from "./fixtures/api.ts"
import {
  countingPlatform,
  entry,
  GateSlot,
  makeSignal,
  openGates,
  readLog,
  suiteOptions,
  waitGatesStarted,
  waitIdle
} from "./helpers.ts"

/** Far longer than any test: only the timeout ends these tasks. */
const forever = 60_000

describe("Timeout", suiteOptions, () => {
  it.live("Effect.timeout on an interruptible task: TimeoutError, the task interrupted in its thread, which stays", () =>
    Effect.gen(function*() {
      const pool = yield* ThreadPool.ThreadPool
      const threadId = yield* pool.deferToThread(Api.ThreadId, undefined)
      const error = yield* pool.deferToThread(Api.Sleep, forever).pipe(Effect.timeout("50 millis"), Effect.flip)
      assert.isTrue(Cause.isTimeoutError(error))
      assert.strictEqual(error._tag, "TimeoutError")
      // The caller resumed once the thread answered the interrupt: the task's own fiber was interrupted there (the
      // fixture counted it), and the thread was kept for the next task.
      assert.strictEqual(yield* pool.deferToThread(Api.Interrupted, undefined), 1)
      assert.strictEqual(yield* pool.deferToThread(Api.ThreadId, undefined), threadId)
      assert.strictEqual(yield* pool.deferToThread(Api.Add, { x: 2, y: 3 }), 5)
      const stats = yield* pool.statistics
      assert.strictEqual(stats.threadsStarted, 1)
      assert.strictEqual(stats.threadsCrashed, 0)
      assert.strictEqual(stats.workerCount, 1)
      yield* waitIdle(pool)
    }).pipe(
      // A grace period no loaded machine reaches: the thread must answer the interrupt, never be terminated.
      Effect.provide(NodeThreadPool.layer({ entry, minThreads: 1, maxThreads: 1, interruptGracePeriod: "10 seconds" }))
    ))

  it.live("Effect.timeout on a synchronous loop: the caller ends, the thread is terminated after the grace period", () => {
    const platform = countingPlatform(entry)
    return Effect.gen(function*() {
      const pool = yield* ThreadPool.ThreadPool
      const firstThread = yield* pool.deferToThread(Api.ThreadId, undefined)
      const before = (yield* pool.statistics).threadsStarted
      const error = yield* pool.deferToThread(Api.Spin, forever).pipe(Effect.timeout("50 millis"), Effect.flip)
      assert.isTrue(Cause.isTimeoutError(error))
      // The loop could not hear the interrupt: its thread was terminated, and the caller resumed once it was gone.
      assert.strictEqual(platform.counts.terminated, 1)
      assert.strictEqual(platform.counts.exited, 1)
      // The pool keeps its minimum (1): a replacement was started at once, and only one.
      assert.strictEqual((yield* pool.statistics).threadsStarted, before + 1)
      // The next task runs on it.
      const nextThread = yield* pool.deferToThread(Api.ThreadId, undefined)
      assert.notStrictEqual(nextThread, firstThread)
      assert.strictEqual(yield* pool.deferToThread(Api.Add, { x: 1, y: 1 }), 2)
      yield* waitIdle(pool)
      const stats = yield* pool.statistics
      assert.strictEqual(stats.threadsStarted, before + 1)
      assert.strictEqual(stats.workerCount, 1)
      assert.strictEqual(stats.busyWorkerCount, 0)
      assert.strictEqual(stats.backloggedWorkCount, 0)
      assert.strictEqual(stats.tasksInFlight, 0)
      assert.strictEqual(platform.counts.spawned, 2)
      assert.strictEqual(platform.alive(), 1)
    }).pipe(
      Effect.provide(
        ThreadPool.layer({ minThreads: 1, maxThreads: 1, interruptGracePeriod: "50 millis" }).pipe(
          Layer.provide(platform.layer)
        )
      )
    )
  })

  it.live("Effect.timeoutOption and Effect.timeoutOrElse interrupt the task in its thread the same way", () =>
    Effect.gen(function*() {
      const pool = yield* ThreadPool.ThreadPool
      const threadId = yield* pool.deferToThread(Api.ThreadId, undefined)
      const none = yield* pool.deferToThread(Api.Sleep, forever).pipe(Effect.timeoutOption("50 millis"))
      assert.isTrue(Option.isNone(none))
      assert.strictEqual(yield* pool.deferToThread(Api.Interrupted, undefined), 1)
      const fallback = yield* pool.deferToThread(Api.Sleep, forever).pipe(
        Effect.timeoutOrElse({ duration: "50 millis", orElse: () => Effect.succeed(-1) })
      )
      assert.strictEqual(fallback, -1)
      assert.strictEqual(yield* pool.deferToThread(Api.Interrupted, undefined), 2)
      // A task that ends before its deadline is untouched.
      const some = yield* pool.deferToThread(Api.Add, { x: 1, y: 2 }).pipe(Effect.timeoutOption("10 seconds"))
      assert.deepStrictEqual(some, Option.some(3))
      assert.strictEqual(yield* pool.deferToThread(Api.ThreadId, undefined), threadId)
      const stats = yield* pool.statistics
      assert.strictEqual(stats.threadsStarted, 1)
      assert.strictEqual(stats.threadsCrashed, 0)
      yield* waitIdle(pool)
    }).pipe(
      Effect.provide(NodeThreadPool.layer({ entry, minThreads: 1, maxThreads: 1, interruptGracePeriod: "10 seconds" }))
    ))

  it.live("a timeout on a backlogged task takes it out of the backlog at once; it never starts", () =>
    Effect.gen(function*() {
      const pool = yield* ThreadPool.ThreadPool
      const gates = makeSignal()
      const log = makeSignal()
      // The only thread is held by a gate; the Append task waits in the backlog.
      const held = yield* Effect.forkChild(pool.deferToThread(Api.Gate, gates.buffer))
      yield* waitGatesStarted(gates, 1)
      // Started at once: the task is placed (backlogged) and its deadline set in this very step.
      const timed = yield* Effect.forkChild(
        pool.deferToThread(Api.Append, { log: log.buffer, value: 1 }).pipe(Effect.timeout("50 millis")),
        { startImmediately: true }
      )
      assert.strictEqual((yield* pool.statistics).backloggedWorkCount, 1)
      const error = yield* Effect.flip(Fiber.join(timed))
      assert.isTrue(Cause.isTimeoutError(error))
      // Out of the backlog by the time the caller has its error, while the gate still holds the thread.
      const stats = yield* pool.statistics
      assert.strictEqual(stats.backloggedWorkCount, 0)
      assert.strictEqual(stats.tasksInFlight, 1)
      // The thread frees up: the timed-out task is not run.
      yield* openGates(gates)
      yield* Fiber.join(held)
      yield* waitIdle(pool)
      assert.strictEqual(log.get(0), 0)
      assert.strictEqual(gates.get(GateSlot.interrupted), 0)
      // The same task, without a deadline, runs.
      yield* pool.deferToThread(Api.Append, { log: log.buffer, value: 2 })
      assert.deepStrictEqual(readLog(log).values, [2])
      assert.strictEqual((yield* pool.statistics).threadsStarted, 1)
    }).pipe(Effect.provide(NodeThreadPool.layer({ entry, minThreads: 1, maxThreads: 1 }))))
})
