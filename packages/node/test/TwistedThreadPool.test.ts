/**
 * Port of Twisted's `twisted.test.test_threadpool` (spec 4.E, tests 31-49) on real `worker_threads` threads:
 * `ThreadPoolTests`, `RaceConditionTests` and `MemoryBackedTests` (whose counts are checked here with real threads).
 *
 * Twisted's `threads` list becomes the pool's `threadsStarted` (or a platform that counts spawned threads), its
 * `workers`/`waiters`/`working` become `workerCount`/`idleWorkerCount`/`busyWorkerCount`, and `q.qsize()` becomes
 * `backloggedWorkCount`. A callable becomes a task of `fixtures/api.ts`; a task that blocks on a `threading.Event`
 * becomes a `Gate` task waiting on shared memory. Tests 34, 35 (garbage collection of the callable and its
 * arguments), 36 (pickling) and 43 (context dicts) have no counterpart.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Result from "effect/Result"
import { NodeThreadPool } from "../src/index.ts"
import * as Api from "./fixtures/api.ts"
import {
  entry,
  GateSlot,
  makeSignal,
  openGates,
  readLog,
  suiteOptions,
  waitGatesStarted,
  waitIdle,
  waitStatistics,
  waitUntil
} from "./helpers.ts"

/** A `logException` that keeps every cause it is given. */
const makeLogged = () => {
  const causes: Array<Cause.Cause<unknown>> = []
  const logException = (cause: Cause.Cause<unknown>) => Effect.sync(() => void causes.push(cause))
  return { causes, logException }
}

describe("ThreadPoolTests", suiteOptions, () => {
  it.live("attributes: a pool made with min 12 and max 22 has those sizes, and its name", () =>
    Effect.gen(function*() {
      const pool = yield* NodeThreadPool.make({ entry, minThreads: 12, maxThreads: 22, name: "attributes" })
      assert.deepStrictEqual(yield* pool.size, { minThreads: 12, maxThreads: 22 })
      assert.strictEqual(pool.name, "attributes")
      assert.isFalse(yield* pool.started)
      assert.strictEqual((yield* pool.statistics).threadsStarted, 0)
    }))

  it.live("start: (0, 5) starts no thread; (3, 10) has none before start and exactly 3 after", () =>
    Effect.gen(function*() {
      const empty = yield* NodeThreadPool.make({ entry, minThreads: 0, maxThreads: 5 })
      yield* empty.start
      assert.isTrue(yield* empty.started)
      assert.strictEqual((yield* empty.statistics).threadsStarted, 0)
      assert.strictEqual((yield* empty.statistics).workerCount, 0)

      const three = yield* NodeThreadPool.make({ entry, minThreads: 3, maxThreads: 10 })
      assert.strictEqual((yield* three.statistics).threadsStarted, 0)
      yield* three.start
      const stats = yield* three.statistics
      assert.strictEqual(stats.threadsStarted, 3)
      assert.strictEqual(stats.workerCount, 3)
      assert.strictEqual(stats.idleWorkerCount, 3)
    }))

  it.live("adjustingWhenPoolStopped: adjusting a stopped pool starts no thread", () =>
    Effect.gen(function*() {
      const pool = yield* NodeThreadPool.make({ entry, minThreads: 0, maxThreads: 5 })
      yield* pool.start
      yield* pool.stop
      yield* pool.adjustPoolsize({ minThreads: 2 })
      assert.deepStrictEqual(yield* pool.size, { minThreads: 2, maxThreads: 5 })
      assert.strictEqual((yield* pool.statistics).threadsStarted, 0)
      assert.isFalse(yield* pool.started)
    }))

  it.live("callInThread: ten calls all run", () =>
    Effect.gen(function*() {
      // Twisted's default pool, (5, 20).
      const pool = yield* NodeThreadPool.make({ entry, minThreads: 5, maxThreads: 20 })
      yield* pool.start
      const log = makeSignal()
      for (let value = 0; value < 10; value++) yield* pool.callInThread(Api.Append, { log: log.buffer, value })
      yield* waitUntil("the ten calls ran", Effect.sync(() => log.get(0) === 10))
      assert.deepStrictEqual(readLog(log).values.sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
      yield* pool.stop
    }))

  it.live("callInThreadException: a failure of work queued before start is logged exactly once; stop waits for it", () =>
    Effect.gen(function*() {
      const { causes, logException } = makeLogged()
      const pool = yield* NodeThreadPool.make({ entry, minThreads: 0, maxThreads: 1, logException })
      yield* pool.callInThread(Api.Fail, "raiser")
      yield* pool.start
      yield* pool.stop
      assert.strictEqual(causes.length, 1)
      const error = Cause.squash(causes[0]!)
      assert.instanceOf(error, Api.Rejected)
      assert.strictEqual((error as Api.Rejected).reason, "raiser")
    }))

  it.live("callInThreadWithCallback: work queued before start gives onResult its success", () =>
    Effect.gen(function*() {
      const pool = yield* NodeThreadPool.make({ entry, minThreads: 0, maxThreads: 1 })
      const result = yield* Deferred.make<Exit.Exit<unknown, unknown>>()
      yield* pool.callInThreadWithCallback((exit) => Deferred.succeed(result, exit), Api.Echo, "test")
      yield* pool.start
      const exit = yield* Deferred.await(result)
      assert.deepStrictEqual(exit, Exit.succeed("test"))
    }))

  it.live("callInThreadWithCallbackExceptionInCallback: a failing task gives onResult its typed failure", () =>
    Effect.gen(function*() {
      const pool = yield* NodeThreadPool.make({ entry, minThreads: 0, maxThreads: 1 })
      const result = yield* Deferred.make<Exit.Exit<unknown, unknown>>()
      yield* pool.callInThreadWithCallback((exit) => Deferred.succeed(result, exit), Api.Fail, "NewError")
      yield* pool.start
      const exit = yield* Deferred.await(result)
      assert.isTrue(Exit.isFailure(exit))
      const error = Cause.findError((exit as Exit.Failure<unknown, unknown>).cause)
      assert.isTrue(Result.isSuccess(error))
      assert.instanceOf((error as Result.Success<unknown, unknown>).success, Api.Rejected)
    }))

  it.live("callInThreadWithCallbackExceptionInOnResult: a failing onResult is logged once, and later work runs", () =>
    Effect.gen(function*() {
      const { causes, logException } = makeLogged()
      const pool = yield* NodeThreadPool.make({ entry, minThreads: 0, maxThreads: 1, logException })
      const received: Array<Exit.Exit<unknown, unknown>> = []
      yield* pool.callInThreadWithCallback(
        (exit) => Effect.andThen(Effect.sync(() => void received.push(exit)), Effect.die(new Error("NewError"))),
        Api.Echo,
        null
      )
      yield* pool.start
      // A later task runs on the same single thread.
      assert.strictEqual(yield* pool.deferToThread(Api.Add, { x: 1, y: 1 }), 2)
      yield* waitIdle(pool)
      assert.deepStrictEqual(received, [Exit.succeed(null)])
      assert.strictEqual(causes.length, 1)
      const defect = Cause.findDefect(causes[0]!)
      assert.isTrue(Result.isSuccess(defect))
      assert.strictEqual(((defect as Result.Success<unknown, unknown>).success as Error).message, "NewError")
    }))

  it.live("callbackThread: onResult runs on the worker that ran the task, before it takes other work", () =>
    Effect.gen(function*() {
      const pool = yield* NodeThreadPool.make({ entry, minThreads: 0, maxThreads: 1 })
      yield* pool.start
      const entered = yield* Deferred.make<number>()
      const release = yield* Deferred.make<void>()
      yield* pool.callInThreadWithCallback(
        (exit) =>
          Effect.andThen(
            Deferred.succeed(entered, Exit.isSuccess(exit) ? exit.value : -1),
            Deferred.await(release)
          ),
        Api.ThreadId,
        undefined
      )
      const taskThread = yield* Deferred.await(entered)
      const next = yield* Effect.forkChild(pool.deferToThread(Api.ThreadId, undefined))
      // While onResult runs, its worker is busy: the next task waits in the backlog.
      yield* waitStatistics(pool, "the next task is backlogged", (s) => s.backloggedWorkCount === 1)
      const held = yield* pool.statistics
      assert.strictEqual(held.busyWorkerCount, 1)
      assert.strictEqual(held.workerCount, 1)
      yield* Deferred.succeed(release, undefined)
      assert.strictEqual(yield* Fiber.join(next), taskThread)
    }))

  it.live("existingWork: a call made before start runs after start", () =>
    Effect.gen(function*() {
      const pool = yield* NodeThreadPool.make({ entry, minThreads: 0, maxThreads: 1 })
      const log = makeSignal()
      yield* pool.callInThread(Api.Append, { log: log.buffer, value: 1 })
      const before = yield* pool.statistics
      assert.strictEqual(before.backloggedWorkCount, 1)
      assert.strictEqual(before.threadsStarted, 0)
      assert.strictEqual(log.get(0), 0)
      yield* pool.start
      yield* waitUntil("the call ran", Effect.sync(() => log.get(0) === 1))
      assert.deepStrictEqual(readLog(log).values, [1])
    }))

  it.live("workerStateTransition: idle, then one working, then one waiting", () =>
    Effect.gen(function*() {
      const pool = yield* NodeThreadPool.make({ entry, minThreads: 0, maxThreads: 1 })
      yield* pool.start
      const fresh = yield* pool.statistics
      assert.strictEqual(fresh.workerCount, 0)
      assert.strictEqual(fresh.idleWorkerCount, 0)
      assert.strictEqual(fresh.busyWorkerCount, 0)
      const gates = makeSignal()
      const blocked = yield* Effect.forkChild(pool.deferToThread(Api.Gate, gates.buffer))
      yield* waitGatesStarted(gates, 1)
      const working = yield* pool.statistics
      assert.strictEqual(working.workerCount, 1)
      assert.strictEqual(working.idleWorkerCount, 0)
      assert.strictEqual(working.busyWorkerCount, 1)
      yield* openGates(gates)
      yield* Fiber.join(blocked)
      yield* waitStatistics(pool, "a worker waits", (s) => s.idleWorkerCount > 0)
      const waiting = yield* pool.statistics
      assert.strictEqual(waiting.idleWorkerCount, 1)
      assert.strictEqual(waiting.busyWorkerCount, 0)
    }))

  it.live("q: a fresh (0, 1) pool has nothing backlogged", () =>
    Effect.gen(function*() {
      const pool = yield* NodeThreadPool.make({ entry, minThreads: 0, maxThreads: 1 })
      assert.strictEqual((yield* pool.statistics).backloggedWorkCount, 0)
    }))
})

describe("RaceConditionTests", suiteOptions, () => {
  it.live("synchronization: with three threads blocked, the task that unblocks them gets a new thread", () =>
    Effect.gen(function*() {
      const pool = yield* NodeThreadPool.make({ entry, minThreads: 0, maxThreads: 10 })
      yield* pool.start
      // One set task runs first.
      const first = makeSignal()
      yield* pool.deferToThread(Api.OpenGate, first.buffer)
      assert.strictEqual(first.get(GateSlot.release), 1)
      // Three tasks wait on the event; one more sets it. It must not wait behind them.
      const event = makeSignal()
      const waiters = yield* Effect.forEach(
        [1, 2, 3],
        () => Effect.forkChild(pool.deferToThread(Api.Gate, event.buffer))
      )
      yield* waitGatesStarted(event, 3)
      yield* pool.deferToThread(Api.OpenGate, event.buffer)
      const threads = yield* Effect.forEach(waiters, Fiber.join)
      assert.strictEqual(new Set(threads).size, 3)
      assert.strictEqual((yield* pool.statistics).workerCount, 4)
    }))
})

describe("MemoryBackedTests", suiteOptions, () => {
  it.live("workBeforeStarting: five tasks before start create no thread; start creates exactly five", () =>
    Effect.gen(function*() {
      const pool = yield* NodeThreadPool.make({ entry, minThreads: 0, maxThreads: 10 })
      const gates = makeSignal()
      const blocked = yield* Effect.forEach(
        [1, 2, 3, 4, 5],
        () => Effect.forkChild(pool.deferToThread(Api.Gate, gates.buffer))
      )
      yield* waitStatistics(pool, "five tasks are backlogged", (s) => s.backloggedWorkCount === 5)
      assert.strictEqual((yield* pool.statistics).threadsStarted, 0)
      assert.strictEqual((yield* pool.statistics).workerCount, 0)
      yield* pool.start
      yield* waitGatesStarted(gates, 5)
      const stats = yield* pool.statistics
      assert.strictEqual(stats.threadsStarted, 5)
      assert.strictEqual(stats.workerCount, 5)
      assert.strictEqual(stats.backloggedWorkCount, 0)
      yield* openGates(gates)
      const threads = yield* Effect.forEach(blocked, Fiber.join)
      assert.strictEqual(new Set(threads).size, 5)
    }))

  it.live("tooMuchWorkBeforeStarting: fifty tasks before start create exactly max threads", () =>
    Effect.gen(function*() {
      // Twisted uses a maximum of 10; 4 shows the same with fewer threads to spawn.
      const pool = yield* NodeThreadPool.make({ entry, minThreads: 0, maxThreads: 4 })
      const log = makeSignal(128)
      for (let value = 0; value < 50; value++) yield* pool.callInThread(Api.Append, { log: log.buffer, value })
      assert.strictEqual((yield* pool.statistics).backloggedWorkCount, 50)
      assert.strictEqual((yield* pool.statistics).threadsStarted, 0)
      yield* pool.start
      const started = yield* pool.statistics
      assert.strictEqual(started.threadsStarted, 4)
      assert.strictEqual(started.workerCount, 4)
      yield* waitUntil("the fifty tasks ran", Effect.sync(() => log.get(0) === 50))
      yield* waitIdle(pool)
      assert.strictEqual((yield* pool.statistics).threadsStarted, 4)
      assert.strictEqual(new Set(readLog(log).values).size, 50)
    }))
})
