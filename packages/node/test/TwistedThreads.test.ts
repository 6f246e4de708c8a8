/**
 * Port of Twisted's `twisted.test.test_threads` (spec 4.F, tests 50-64) on real `worker_threads` threads. There is
 * no reactor: `reactor.getThreadPool()` becomes a pool of its own, `suggestThreadPoolSize` becomes `adjustPoolsize`,
 * `deferToThread` returns an Effect instead of a Deferred, and `blockingCallFromThread` becomes a task of the thread
 * (`AskMain`) calling a task implemented on the main thread (`Double`, given as `mainHandlers`) with
 * `ThreadRunner.callMain`. Tests 52 (`callFromThread`) and 53 (`wakerOverflow`) exercise the reactor's wake-up
 * machinery and have no counterpart.
 */
import { Task, ThreadPool } from "@effect-threads/core"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as ChildProcess from "node:child_process"
import * as WorkerThreads from "node:worker_threads"
import { NodeThreadPool } from "../src/index.ts"
import * as Api from "./fixtures/api.ts"
import {
  countingPlatform,
  entry,
  expectDefect,
  makeSignal,
  openGates,
  readLog,
  suiteOptions,
  waitGatesStarted,
  waitIdle,
  waitUntil
} from "./helpers.ts"

/**
 * The main thread's side of `blockingCallFromThread`: `Double` doubles its payload at once; a payload of 1000 or
 * more is answered 100 ms later; a negative one fails with `Rejected` ("bar" at once, "spam" 100 ms later).
 */
const mainHandlers = [
  Task.implement(Api.Double, (n) => {
    const later = n >= 1000 || n <= -1000
    const answer = n >= 0
      ? Effect.succeed(n * 2)
      : Effect.fail(new Api.Rejected({ reason: later ? "spam" : "bar" }))
    return later ? Effect.delay(answer, "100 millis") : answer
  })
]

/** Runs `argument` through the `call-before-start.ts` program in a process of its own. */
const runProgram = (argument: ReadonlyArray<string>) =>
  Effect.callback<{ readonly code: number | null; readonly stdout: string; readonly stderr: string }>((resume) => {
    const child = ChildProcess.execFile(
      process.execPath,
      [new URL("./fixtures/call-before-start.ts", import.meta.url).pathname, ...argument],
      { timeout: 20_000 },
      (_error, stdout, stderr) => resume(Effect.succeed({ code: child.exitCode, stdout, stderr }))
    )
    return Effect.sync(() => void child.kill())
  })

describe("ReactorThreadsTests", suiteOptions, () => {
  it.live("suggestThreadPoolSize: adjustPoolsize sets the maximum, and shrinks a started pool to it", () => {
    const platform = countingPlatform(entry)
    return Effect.gen(function*() {
      const pool = yield* ThreadPool.ThreadPool
      yield* pool.adjustPoolsize({ maxThreads: 34 })
      assert.strictEqual((yield* pool.size).maxThreads, 34)
      // Six threads at work, then the maximum drops to 4: the idle ones beyond it are released.
      const gates = makeSignal()
      const held = yield* Effect.forEach(
        [1, 2, 3, 4, 5, 6],
        () => Effect.forkChild(pool.deferToThread(Api.Gate, gates.buffer))
      )
      yield* waitGatesStarted(gates, 6)
      yield* openGates(gates)
      yield* Effect.forEach(held, Fiber.join)
      yield* waitIdle(pool)
      assert.strictEqual((yield* pool.statistics).workerCount, 6)
      yield* pool.adjustPoolsize({ maxThreads: 4 })
      assert.strictEqual((yield* pool.size).maxThreads, 4)
      assert.strictEqual((yield* pool.statistics).workerCount, 4)
      yield* waitUntil("two threads exited", Effect.sync(() => platform.counts.exited === 2))
      assert.strictEqual(platform.alive(), 4)
      assert.strictEqual(yield* pool.deferToThread(Api.Add, { x: 1, y: 1 }), 2)
      assert.strictEqual(platform.counts.spawned, 6)
    }).pipe(
      Effect.provide(ThreadPool.layer({ minThreads: 0, maxThreads: 10 }).pipe(Layer.provide(platform.layer)))
    )
  })

  it.live("callInThread: the work runs off the main thread", () =>
    Effect.gen(function*() {
      const pool = yield* ThreadPool.ThreadPool
      const log = makeSignal()
      yield* pool.callInThread(Api.Append, { log: log.buffer, value: 1 })
      yield* waitUntil("the call ran", Effect.sync(() => log.get(0) === 1))
      const ranOn = readLog(log).threads[0]
      assert.notStrictEqual(ranOn, WorkerThreads.threadId)
      assert.strictEqual(yield* pool.deferToThread(Api.ThreadId, undefined), ranOn)
    }).pipe(Effect.provide(NodeThreadPool.layer({ entry, minThreads: 0, maxThreads: 1 }))))

  describe("a thread calls the main thread", () => {
    const PoolLive = NodeThreadPool.layer({ entry, minThreads: 1, maxThreads: 2, mainHandlers })

    it.live("blockingCallFromThread: the main thread's value returns to the thread", () =>
      Effect.gen(function*() {
        assert.strictEqual(yield* ThreadPool.deferToThread(Api.AskMain, 21), 42)
      }).pipe(Effect.provide(PoolLive)))

    it.live("asyncBlockingCallFromThread: a value the main thread gives later returns to the thread", () =>
      Effect.gen(function*() {
        assert.strictEqual(yield* ThreadPool.deferToThread(Api.AskMain, 1000), 2000)
      }).pipe(Effect.provide(PoolLive)))

    it.live("errorBlockingCallFromThread: the main thread's failure is raised in the thread, type and message kept", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(ThreadPool.deferToThread(Api.AskMain, -1))
        assert.instanceOf(error, Api.Rejected)
        assert.strictEqual((error as Api.Rejected).reason, "bar")
      }).pipe(Effect.provide(PoolLive)))

    it.live("asyncErrorBlockingCallFromThread: a failure the main thread gives later is raised in the thread", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(ThreadPool.deferToThread(Api.AskMain, -1000))
        assert.instanceOf(error, Api.Rejected)
        assert.strictEqual((error as Api.Rejected).reason, "spam")
      }).pipe(Effect.provide(PoolLive)))
  })
})

describe("DeferredResultTests", suiteOptions, () => {
  // Twisted's setUp: suggestThreadPoolSize(8).
  const PoolLive = NodeThreadPool.layer({ entry, minThreads: 0, maxThreads: 8 })

  it.live("callMultiple: the calls run in order, on one thread", () =>
    Effect.gen(function*() {
      const log = makeSignal()
      yield* ThreadPool.callMultipleInThread(
        Array.from({ length: 10 }, (_, value) => ThreadPool.call(Api.Append, { log: log.buffer, value }))
      )
      yield* waitUntil("the ten calls ran", Effect.sync(() => log.get(0) === 10))
      const { threads, values } = readLog(log)
      assert.deepStrictEqual(values, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
      assert.strictEqual(new Set(threads).size, 1)
    }).pipe(Effect.provide(PoolLive)))

  it.live("deferredResult: the task's value, from its payload", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* ThreadPool.deferToThread(Api.Add, { x: 3, y: 4 }), 7)
    }).pipe(Effect.provide(PoolLive)))

  it.live("deferredFailure: the task's failure, typed", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(ThreadPool.deferToThread(Api.Fail, "NewError"))
      assert.instanceOf(error, Api.Rejected)
    }).pipe(Effect.provide(PoolLive)))

  it.live("deferredFailureAfterSuccess: a task run after a success fails on its own", () =>
    Effect.gen(function*() {
      const exit = yield* ThreadPool.deferToThread(Api.Add, { x: 1, y: 1 }).pipe(
        Effect.flatMap(() => ThreadPool.deferToThread(Api.Die, "division by zero")),
        Effect.exit
      )
      const defect = expectDefect(exit)
      assert.strictEqual((defect as Error).name, "RangeError")
      assert.strictEqual((defect as Error).message, "division by zero")
    }).pipe(Effect.provide(PoolLive)))
})

describe("DeferToThreadPoolTests", suiteOptions, () => {
  // A private (0, 8) pool, started in setUp and stopped in tearDown.
  const privatePool = Effect.acquireRelease(
    Effect.tap(NodeThreadPool.make({ entry, minThreads: 0, maxThreads: 8 }), (pool) => pool.start),
    (pool) => Effect.ignore(pool.stop)
  )

  it.live("deferredResult: deferToThreadPool gives the task's value", () =>
    Effect.gen(function*() {
      const pool = yield* privatePool
      assert.strictEqual(yield* ThreadPool.deferToThreadPool(pool, Api.Add, { x: 3, y: 4 }), 7)
    }))

  it.live("deferredFailure: deferToThreadPool gives the task's typed failure", () =>
    Effect.gen(function*() {
      const pool = yield* privatePool
      const error = yield* Effect.flip(ThreadPool.deferToThreadPool(pool, Api.Fail, "NewError"))
      assert.instanceOf(error, Api.Rejected)
    }))
})

describe("StartupBehaviorTests", suiteOptions, () => {
  it.live(
    "CallBeforeStartupUnexecuted: work called on a pool that never starts does not run, and the process exits",
    () =>
      Effect.gen(function*() {
        const unstarted = yield* runProgram([])
        assert.strictEqual(unstarted.stderr, "")
        assert.strictEqual(unstarted.stdout, "")
        assert.strictEqual(unstarted.code, 0)
        // The same program, starting and stopping the pool: the work runs, and the process still exits.
        const started = yield* runProgram(["start"])
        assert.strictEqual(started.stderr, "")
        assert.strictEqual(started.stdout, "the task ran\n")
        assert.strictEqual(started.code, 0)
      }),
    30_000
  )
})
