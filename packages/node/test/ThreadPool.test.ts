/**
 * The pool's contract on real `worker_threads` threads: every task settles exactly once (success, typed failure,
 * defect, interruption, `AlreadyQuit`), bad input is rejected at submit without touching the pool, transferables
 * move, and a thread can call the main thread (the counterpart of Twisted's `blockingCallFromThread`).
 */
import { AlreadyQuit, Task, ThreadError, ThreadPool } from "@effect-threads/core"
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { NodeThreadPool } from "../src/index.ts"
import * as Api from "./fixtures/api.ts"
import { entry, expectDefect, isInterruptedOnly, suiteOptions, waitIdle } from "./helpers.ts"

describe("ThreadPool", suiteOptions, () => {
  describe("settles every task exactly once", () => {
    it.live("with its success", () =>
      Effect.gen(function*() {
        const pool = yield* ThreadPool.ThreadPool
        assert.strictEqual(yield* pool.deferToThread(Api.Add, { x: 1, y: 2 }), 3)
        assert.deepStrictEqual(yield* pool.deferToThread(Api.Echo, { a: [1, "b"], c: null }), { a: [1, "b"], c: null })
      }).pipe(Effect.provide(NodeThreadPool.layer({ entry, minThreads: 1, maxThreads: 1 }))))

    it.live("with its typed failure, an instance of the failure's class", () =>
      Effect.gen(function*() {
        const pool = yield* ThreadPool.ThreadPool
        const error = yield* Effect.flip(pool.deferToThread(Api.Fail, "no"))
        assert.instanceOf(error, Api.Rejected)
        assert.strictEqual(error._tag, "Rejected")
        assert.strictEqual((error as Api.Rejected).reason, "no")
      }).pipe(Effect.provide(NodeThreadPool.layer({ entry, minThreads: 1, maxThreads: 1 }))))

    it.live("with a defect whose name and message survive", () =>
      Effect.gen(function*() {
        const pool = yield* ThreadPool.ThreadPool
        const defect = expectDefect(yield* Effect.exit(pool.deferToThread(Api.Die, "out of range")))
        assert.instanceOf(defect, Error)
        assert.strictEqual((defect as Error).name, "RangeError")
        assert.strictEqual((defect as Error).message, "out of range")
      }).pipe(Effect.provide(NodeThreadPool.layer({ entry, minThreads: 1, maxThreads: 1 }))))

    it.live("with an interruption when the task interrupts itself", () =>
      Effect.gen(function*() {
        const pool = yield* ThreadPool.ThreadPool
        assert.isTrue(isInterruptedOnly(yield* Effect.exit(pool.deferToThread(Api.SelfInterrupt, undefined))))
        // The thread is fine afterwards.
        assert.strictEqual(yield* pool.deferToThread(Api.Add, { x: 2, y: 2 }), 4)
        assert.strictEqual((yield* pool.statistics).threadsStarted, 1)
      }).pipe(Effect.provide(NodeThreadPool.layer({ entry, minThreads: 1, maxThreads: 1 }))))

    it.live("with AlreadyQuit after stop, for every way in", () =>
      Effect.gen(function*() {
        const pool = yield* NodeThreadPool.make({ entry, minThreads: 1, maxThreads: 1 })
        yield* pool.start
        assert.strictEqual(yield* pool.deferToThread(Api.Add, { x: 1, y: 1 }), 2)
        yield* pool.stop
        assert.instanceOf(yield* Effect.flip(pool.deferToThread(Api.Add, { x: 1, y: 1 })), AlreadyQuit.AlreadyQuit)
        assert.instanceOf(yield* Effect.flip(pool.callInThread(Api.Add, { x: 1, y: 1 })), AlreadyQuit.AlreadyQuit)
        assert.instanceOf(
          yield* Effect.flip(pool.callInThreadWithCallback(() => Effect.void, Api.Add, { x: 1, y: 1 })),
          AlreadyQuit.AlreadyQuit
        )
        assert.instanceOf(
          yield* Effect.flip(pool.callMultipleInThread([{ task: Api.Add, payload: { x: 1, y: 1 } }])),
          AlreadyQuit.AlreadyQuit
        )
        assert.instanceOf(yield* Effect.flip(pool.stop), AlreadyQuit.AlreadyQuit)
        assert.instanceOf(yield* Effect.flip(pool.start), AlreadyQuit.AlreadyQuit)
        assert.strictEqual((yield* pool.statistics).tasksInFlight, 0)
      }))

    it.live("once each: onResult runs exactly once per task, whatever the outcome", () =>
      Effect.gen(function*() {
        const pool = yield* NodeThreadPool.make({ entry, minThreads: 2, maxThreads: 2 })
        yield* pool.start
        const seen: Record<string, Array<Exit.Exit<unknown, unknown>>> = {
          success: [],
          failure: [],
          defect: [],
          interrupted: []
        }
        const record = (kind: string) => (exit: Exit.Exit<unknown, unknown>) =>
          Effect.sync(() => void seen[kind]!.push(exit))
        for (let i = 0; i < 5; i++) {
          yield* pool.callInThreadWithCallback(record("success"), Api.Add, { x: i, y: 1 })
          yield* pool.callInThreadWithCallback(record("failure"), Api.Fail, `no ${i}`)
          yield* pool.callInThreadWithCallback(record("defect"), Api.Die, `bad ${i}`)
          yield* pool.callInThreadWithCallback(record("interrupted"), Api.SelfInterrupt, undefined)
        }
        // stop waits until every queued and running task has run, its callback included.
        yield* pool.stop
        for (const kind of Object.keys(seen)) assert.strictEqual(seen[kind]!.length, 5, kind)
        const values = seen.success!.map((exit) => Exit.isSuccess(exit) ? exit.value as number : -1)
        assert.deepStrictEqual(values.sort(), [1, 2, 3, 4, 5])
        for (const exit of seen.failure!) {
          assert.isTrue(Exit.isFailure(exit))
          assert.instanceOf(Cause.squash((exit as Exit.Failure<unknown, unknown>).cause), Api.Rejected)
        }
        for (const exit of seen.defect!) assert.strictEqual((expectDefect(exit) as Error).name, "RangeError")
        for (const exit of seen.interrupted!) assert.isTrue(isInterruptedOnly(exit))
        assert.strictEqual((yield* pool.statistics).tasksInFlight, 0)
      }))
  })

  describe("bad input", () => {
    it.live("a payload holding a function or a symbol fails at submit with InvalidPayload naming the field", () =>
      Effect.gen(function*() {
        const pool = yield* ThreadPool.ThreadPool
        const before = yield* pool.statistics
        const withFunction = yield* Effect.flip(pool.deferToThread(Api.Echo, { ok: 1, nested: { f: () => 1 } }))
        assert.instanceOf(withFunction, ThreadError.InvalidPayload)
        assert.strictEqual((withFunction as ThreadError.InvalidPayload).task, "Echo")
        assert.strictEqual((withFunction as ThreadError.InvalidPayload).path, "$.nested.f")
        const withSymbol = yield* Effect.flip(pool.deferToThread(Api.Echo, { list: [1, Symbol("s")] }))
        assert.instanceOf(withSymbol, ThreadError.InvalidPayload)
        assert.strictEqual((withSymbol as ThreadError.InvalidPayload).path, "$.list[1]")
        const atRoot = yield* Effect.flip(pool.callInThread(Api.Echo, () => 1))
        assert.instanceOf(atRoot, ThreadError.InvalidPayload)
        assert.strictEqual((atRoot as ThreadError.InvalidPayload).path, "$")
        // The pool is unaffected.
        assert.strictEqual(yield* pool.deferToThread(Api.Add, { x: 1, y: 2 }), 3)
        const after = yield* pool.statistics
        assert.strictEqual(after.threadsStarted, before.threadsStarted)
        assert.strictEqual(after.threadsCrashed, 0)
        yield* waitIdle(pool)
      }).pipe(Effect.provide(NodeThreadPool.layer({ entry, minThreads: 1, maxThreads: 1 }))))

    it.live("a payload that does not match its schema fails at submit with InvalidPayload naming the task", () =>
      Effect.gen(function*() {
        const pool = yield* ThreadPool.ThreadPool
        const before = yield* pool.statistics
        const error = yield* Effect.flip(pool.deferToThread(Api.Add, { x: 1, y: "2" } as never))
        assert.instanceOf(error, ThreadError.InvalidPayload)
        assert.strictEqual((error as ThreadError.InvalidPayload).task, "Add")
        assert.include((error as ThreadError.InvalidPayload).message, "Add")
        assert.instanceOf(
          yield* Effect.flip(pool.callMultipleInThread([{ task: Api.Add, payload: { x: "no" } }])),
          ThreadError.InvalidPayload
        )
        assert.strictEqual(yield* pool.deferToThread(Api.Add, { x: 1, y: 2 }), 3)
        const after = yield* pool.statistics
        assert.strictEqual(after.threadsStarted, before.threadsStarted)
        yield* waitIdle(pool)
      }).pipe(Effect.provide(NodeThreadPool.layer({ entry, minThreads: 1, maxThreads: 1 }))))

    it.live("a task the thread does not implement fails with TaskNotImplemented", () =>
      Effect.gen(function*() {
        const pool = yield* ThreadPool.ThreadPool
        const error = yield* Effect.flip(pool.deferToThread(Api.NotImplemented, undefined))
        assert.instanceOf(error, ThreadError.TaskNotImplemented)
        assert.strictEqual((error as ThreadError.TaskNotImplemented).task, "NotImplemented")
        assert.strictEqual(yield* pool.deferToThread(Api.Add, { x: 1, y: 2 }), 3)
        assert.strictEqual((yield* pool.statistics).threadsStarted, 1)
      }).pipe(Effect.provide(NodeThreadPool.layer({ entry, minThreads: 1, maxThreads: 1 }))))
  })

  it.live("transfers an ArrayBuffer: it arrives whole and is detached here", () =>
    Effect.gen(function*() {
      const pool = yield* ThreadPool.ThreadPool
      const buffer = new ArrayBuffer(1024)
      assert.strictEqual(yield* pool.deferToThread(Api.ByteLength, buffer, { transfer: [buffer] }), 1024)
      assert.strictEqual(buffer.byteLength, 0)
      // Without transfer it is copied, and stays usable here.
      const copied = new ArrayBuffer(16)
      assert.strictEqual(yield* pool.deferToThread(Api.ByteLength, copied), 16)
      assert.strictEqual(copied.byteLength, 16)
    }).pipe(Effect.provide(NodeThreadPool.layer({ entry, minThreads: 1, maxThreads: 1 }))))

  describe("a thread calls the main thread (blockingCallFromThread)", () => {
    const mainHandlers = [
      Task.implement(
        Api.Double,
        (n) => n < 0 ? Effect.fail(new Api.Rejected({ reason: `negative: ${n}` })) : Effect.succeed(n * 2)
      )
    ]

    it.live("the main thread's success comes back to the thread, and on to the caller", () =>
      Effect.gen(function*() {
        const pool = yield* ThreadPool.ThreadPool
        assert.strictEqual(yield* pool.deferToThread(Api.AskMain, 21), 42)
        const many = yield* Effect.forEach([1, 2, 3, 4, 5, 6], (n) => pool.deferToThread(Api.AskMain, n), {
          concurrency: "unbounded"
        })
        assert.deepStrictEqual(many, [2, 4, 6, 8, 10, 12])
      }).pipe(Effect.provide(NodeThreadPool.layer({ entry, minThreads: 1, maxThreads: 2, mainHandlers }))))

    it.live("the main thread's typed failure is re-raised in the thread and reaches the caller as Rejected", () =>
      Effect.gen(function*() {
        const pool = yield* ThreadPool.ThreadPool
        const error = yield* Effect.flip(pool.deferToThread(Api.AskMain, -1))
        assert.instanceOf(error, Api.Rejected)
        assert.strictEqual((error as Api.Rejected).reason, "negative: -1")
        assert.strictEqual(yield* pool.deferToThread(Api.AskMain, 1), 2)
      }).pipe(Effect.provide(NodeThreadPool.layer({ entry, minThreads: 1, maxThreads: 1, mainHandlers }))))

    it.live("without a main handler the thread's call fails, and the caller sees it", () =>
      Effect.gen(function*() {
        const pool = yield* ThreadPool.ThreadPool
        const exit = yield* Effect.exit(pool.deferToThread(Api.AskMain, 1))
        // AskMain turns every error but Rejected into a defect: here, TaskNotImplemented from the main thread.
        const defect = expectDefect(exit)
        assert.strictEqual((defect as Error).name, "TaskNotImplemented")
        yield* waitIdle(pool)
      }).pipe(Effect.provide(NodeThreadPool.layer({ entry, minThreads: 1, maxThreads: 1 }))))
  })
})
