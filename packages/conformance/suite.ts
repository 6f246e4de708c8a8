/**
 * The conformance suite: the pool's behaviour that does not depend on the platform, written once and run on every
 * platform (`packages/node/test/Conformance.test.ts` on `worker_threads`,
 * `packages/browser/test/Conformance.browser.test.ts` on Web Workers in Chromium). A platform supplies a
 * {@link Harness}: its pool layer, and its platform layer with a spawn function that counts the workers it creates
 * and the ones that ended.
 *
 * Beyond the basics, it covers the pool's features where both platforms allow them: priorities and the bounded
 * backlog, keys and broadcast, streaming tasks, recycling, and a timeout around a running task.
 *
 * This is a private workspace package that depends on `@effect-threads/core` alone, so neither platform depends on
 * the other for its tests.
 */
import { Task, ThreadError, ThreadPool } from "@effect-threads/core"
import type { ThreadPlatform } from "@effect-threads/core/ThreadPlatform"
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Api from "./api.ts"
import { bulkConformance } from "./bulk.ts"
import { expectDefect, expectOnlyFailure, isInterruptedOnly, waitIdle, waitStatistics, waitUntil } from "./kit.ts"

/**
 * The worker entries every platform provides: its own entry serving `handlers.ts` (`./handlers`), and
 * `throws-at-load.ts` (`./throws-at-load`), which throws while loading, the same file on every platform.
 */
export type Entry = "tasks" | "throwsAtLoad"

/** A platform layer whose spawn function counts the workers it created and the ones that ended. */
export interface CountedWorkers {
  readonly layer: Layer.Layer<ThreadPlatform>
  readonly spawned: () => number
  /** Workers created and not ended (exited on Node, terminated in the browser). */
  readonly alive: () => number
}

/** What a platform supplies to run the suite. */
export interface Harness {
  /** Shown in the suite's name. */
  readonly platform: string
  /** The platform's own started pool (`NodeThreadPool.layer`, `BrowserThreadPool.layer`) on the `tasks` entry. */
  readonly layer: (options: ThreadPool.Options) => Layer.Layer<ThreadPool.ThreadPool, unknown>
  /** The platform layer on `entry`, counting its workers. */
  readonly workers: (entry: Entry) => CountedWorkers
}

/**
 * The main thread's side of `Hold`, `Spin` and `Record`: logs what the threads report, and holds every `Hold`
 * until {@link Probe.open}.
 */
interface Probe {
  readonly started: Array<number>
  readonly interrupted: Array<number>
  readonly ran: Array<number>
  readonly open: Effect.Effect<void>
  readonly waitStarted: (n: number) => Effect.Effect<void>
  readonly mainHandlers: ReadonlyArray<Task.AnyHandler>
}

const makeProbe = (): Probe => {
  const started: Array<number> = []
  const interrupted: Array<number> = []
  const ran: Array<number> = []
  const gate = Deferred.makeUnsafe<void>()
  return {
    started,
    interrupted,
    ran,
    open: Effect.asVoid(Deferred.succeed(gate, undefined)),
    waitStarted: (n) => waitUntil(`${n} tasks started`, Effect.sync(() => started.length >= n)),
    mainHandlers: [
      Task.implement(Api.Started, (id) => Effect.sync(() => void started.push(id))),
      Task.implement(Api.Wait, () => Deferred.await(gate)),
      Task.implement(Api.WasInterrupted, (id) => Effect.sync(() => void interrupted.push(id))),
      Task.implement(Api.Ran, (value) => Effect.sync(() => void ran.push(value)))
    ]
  }
}

/**
 * A clock that tells the real time but whose sleeps end only when the test passes the deadline: an `Effect.timeout`
 * on it fires at a point of the test's choosing (once a task runs in its thread), not at a time that may come first.
 */
const makeDeadline = (live: Clock.Clock): { readonly clock: Clock.Clock; readonly pass: Effect.Effect<void> } => {
  const passed = Deferred.makeUnsafe<void>()
  return {
    clock: {
      currentTimeMillisUnsafe: () => live.currentTimeMillisUnsafe(),
      currentTimeMillis: live.currentTimeMillis,
      currentTimeNanosUnsafe: () => live.currentTimeNanosUnsafe(),
      currentTimeNanos: live.currentTimeNanos,
      monotonicTimeNanosUnsafe: () => live.monotonicTimeNanosUnsafe(),
      monotonicTimeNanos: live.monotonicTimeNanos,
      sleep: () => Deferred.await(passed)
    },
    pass: Effect.asVoid(Deferred.succeed(passed, undefined))
  }
}

/** Registers the conformance suite for one platform. */
export const conformance = (harness: Harness): void => {
  /** A started pool on counted workers, in a scope of its own that the test closes. */
  const openPool = (options: ThreadPool.Options, entry: Entry = "tasks") =>
    Effect.gen(function*() {
      const workers = harness.workers(entry)
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(ThreadPool.layer(options).pipe(Layer.provide(workers.layer)), scope)
      return { workers, scope, pool: Context.get(context, ThreadPool.ThreadPool) }
    })

  /** Runs `body` with a started pool on counted workers, closing it afterwards. */
  const withCountedPool = <A, E>(
    options: ThreadPool.Options,
    body: (pool: ThreadPool.ThreadPoolShape, workers: CountedWorkers) => Effect.Effect<A, E>
  ) => {
    const workers = harness.workers("tasks")
    return ThreadPool.ThreadPool.use((pool) => body(pool, workers)).pipe(
      Effect.provide(ThreadPool.layer(options).pipe(Layer.provide(workers.layer)))
    )
  }

  // Real workers on a loaded machine can take seconds to start: a test gets 30 s, and fails sooner on its own waits.
  describe(`conformance on ${harness.platform}`, { timeout: 30_000 }, () => {
    bulkConformance(harness)
    describe("results", () => {
      it.live("a task's success comes back, structured values included", () =>
        Effect.gen(function*() {
          const pool = yield* ThreadPool.ThreadPool
          assert.strictEqual(yield* pool.deferToThread(Api.Add, { x: 1, y: 2 }), 3)
          const value = { a: [1, "b", { c: true }], d: null, e: new Map([["k", 1]]), f: new Uint8Array([1, 2]) }
          assert.deepStrictEqual(yield* pool.deferToThread(Api.Echo, value), value)
        }).pipe(Effect.provide(harness.layer({ minThreads: 1, maxThreads: 1 }))))

      it.live("many tasks at once all come back, spread over the threads", () =>
        Effect.gen(function*() {
          const pool = yield* ThreadPool.ThreadPool
          const inputs = Array.from({ length: 200 }, (_, i) => i)
          const sums = yield* Effect.forEach(inputs, (i) => pool.deferToThread(Api.Add, { x: i, y: 1 }), {
            concurrency: "unbounded"
          })
          assert.deepStrictEqual(sums, inputs.map((i) => i + 1))
          // Two tasks at once go to two threads.
          const tokens = yield* Effect.all([
            pool.deferToThread(Api.ThreadToken, undefined),
            pool.deferToThread(Api.ThreadToken, undefined)
          ], { concurrency: "unbounded" })
          assert.strictEqual(new Set(tokens).size, 2)
          assert.strictEqual((yield* pool.statistics).threadsStarted, 2)
        }).pipe(Effect.provide(harness.layer({ minThreads: 2, maxThreads: 2 }))))
    })

    describe("failures", () => {
      it.live("a typed failure arrives as an instance of the failure's class", () =>
        Effect.gen(function*() {
          const pool = yield* ThreadPool.ThreadPool
          const error = yield* Effect.flip(pool.deferToThread(Api.Fail, "no"))
          assert.instanceOf(error, Api.Rejected)
          assert.strictEqual((error as Api.Rejected).reason, "no")
          assert.strictEqual(yield* pool.deferToThread(Api.Add, { x: 2, y: 2 }), 4)
        }).pipe(Effect.provide(harness.layer({ minThreads: 1, maxThreads: 1 }))))

      it.live("a defect arrives as a defect whose name and message survive, and the thread stays", () =>
        Effect.gen(function*() {
          const pool = yield* ThreadPool.ThreadPool
          const token = yield* pool.deferToThread(Api.ThreadToken, undefined)
          const defect = expectDefect(yield* Effect.exit(pool.deferToThread(Api.Die, "out of range")))
          assert.instanceOf(defect, Error)
          assert.strictEqual((defect as Error).name, "RangeError")
          assert.strictEqual((defect as Error).message, "out of range")
          assert.strictEqual(yield* pool.deferToThread(Api.ThreadToken, undefined), token)
          assert.strictEqual((yield* pool.statistics).threadsCrashed, 0)
        }).pipe(Effect.provide(harness.layer({ minThreads: 1, maxThreads: 1 }))))

      it.live("an uncaught error kills only its thread: ThreadCrashed, and the next task gets a new thread", () =>
        withCountedPool({ minThreads: 1, maxThreads: 1 }, (pool, workers) =>
          Effect.gen(function*() {
            const token = yield* pool.deferToThread(Api.ThreadToken, undefined)
            const error = yield* Effect.flip(pool.deferToThread(Api.AsyncThrow, "thrown from a timer"))
            assert.instanceOf(error, ThreadError.ThreadCrashed)
            assert.strictEqual((error as ThreadError.ThreadCrashed).task, "AsyncThrow")
            assert.include((error as ThreadError.ThreadCrashed).message, "thrown from a timer")
            assert.notStrictEqual(yield* pool.deferToThread(Api.ThreadToken, undefined), token)
            const stats = yield* pool.statistics
            assert.strictEqual(stats.threadsStarted, 2)
            assert.strictEqual(stats.threadsCrashed, 1)
            assert.strictEqual(workers.spawned(), 2)
            yield* waitUntil("the crashed worker ended", Effect.sync(() => workers.alive() === 1))
          })))

      // Issue 19: an Effect error crosses threads as an object with no prototype, on which the pool's exit listener threw.
      it.live("an Effect error thrown from a timer kills only its thread: ThreadCrashed, and the next task runs", () =>
        withCountedPool({ minThreads: 1, maxThreads: 1 }, (pool, workers) =>
          Effect.gen(function*() {
            const token = yield* pool.deferToThread(Api.ThreadToken, undefined)
            const error = yield* Effect.flip(pool.deferToThread(Api.AsyncThrowTagged, "tagged from a timer"))
            assert.instanceOf(error, ThreadError.ThreadCrashed)
            assert.match((error as ThreadError.ThreadCrashed).message, /died while running AsyncThrowTagged: ./)
            assert.notStrictEqual(yield* pool.deferToThread(Api.ThreadToken, undefined), token)
            assert.strictEqual((yield* pool.statistics).threadsCrashed, 1)
            yield* waitUntil("the crashed worker ended", Effect.sync(() => workers.alive() === 1))
          })))

      it.live("an entry that throws while loading: the pool's layer fails with ThreadStartFailed", () =>
        Effect.gen(function*() {
          const workers = harness.workers("throwsAtLoad")
          const exit = yield* Effect.exit(
            Effect.scoped(Layer.build(ThreadPool.layer({ minThreads: 1 }).pipe(Layer.provide(workers.layer))))
          )
          const error = expectOnlyFailure(exit)
          assert.instanceOf(error, ThreadError.ThreadStartFailed)
          assert.include((error as ThreadError.ThreadStartFailed).message, "the entry failed while loading")
          assert.strictEqual(workers.spawned(), 1)
          yield* waitUntil("the worker ended", Effect.sync(() => workers.alive() === 0))
        }))

      it.live("an entry that throws while loading, minThreads 0: each task that asks fails with ThreadStartFailed", () =>
        Effect.gen(function*() {
          const { pool, scope, workers } = yield* openPool({ minThreads: 0, maxThreads: 1 }, "throwsAtLoad")
          assert.strictEqual(workers.spawned(), 0)
          for (const n of [1, 2]) {
            const error = yield* Effect.flip(pool.deferToThread(Api.Add, { x: 1, y: 1 }))
            assert.instanceOf(error, ThreadError.ThreadStartFailed)
            assert.strictEqual(workers.spawned(), n)
            yield* waitUntil("the worker ended", Effect.sync(() => workers.alive() === 0))
          }
          yield* Scope.close(scope, Exit.void)
          assert.strictEqual(workers.alive(), 0)
        }))
    })

    describe("bad input", () => {
      it.live("a payload holding a function or a symbol fails at submit with InvalidPayload naming the path", () =>
        Effect.gen(function*() {
          const pool = yield* ThreadPool.ThreadPool
          const withFunction = yield* Effect.flip(pool.deferToThread(Api.Echo, { ok: 1, nested: { f: () => 1 } }))
          assert.instanceOf(withFunction, ThreadError.InvalidPayload)
          assert.strictEqual((withFunction as ThreadError.InvalidPayload).task, "Echo")
          assert.strictEqual((withFunction as ThreadError.InvalidPayload).path, "$.nested.f")
          const withSymbol = yield* Effect.flip(pool.deferToThread(Api.Echo, { list: [1, Symbol("s")] }))
          assert.instanceOf(withSymbol, ThreadError.InvalidPayload)
          assert.strictEqual((withSymbol as ThreadError.InvalidPayload).path, "$.list[1]")
          const mismatch = yield* Effect.flip(pool.deferToThread(Api.Add, { x: 1, y: "2" } as never))
          assert.instanceOf(mismatch, ThreadError.InvalidPayload)
          assert.strictEqual((mismatch as ThreadError.InvalidPayload).task, "Add")
          // Nothing reached a thread, and the pool is unaffected.
          const stats = yield* pool.statistics
          assert.strictEqual(stats.tasksInFlight, 0)
          assert.strictEqual(stats.threadsStarted, 1)
          assert.strictEqual(yield* pool.deferToThread(Api.Add, { x: 1, y: 2 }), 3)
        }).pipe(Effect.provide(harness.layer({ minThreads: 1, maxThreads: 1 }))))
    })

    describe("interruption", () => {
      it.live("a queued task whose caller is interrupted never starts", () => {
        const probe = makeProbe()
        return Effect.gen(function*() {
          const pool = yield* ThreadPool.ThreadPool
          const held = yield* Effect.forEach([1, 2], (id) => Effect.forkChild(pool.deferToThread(Api.Hold, id)))
          yield* probe.waitStarted(2)
          const queued = yield* Effect.forkChild(pool.deferToThread(Api.Record, 1))
          yield* waitStatistics(pool, "the task is backlogged", (s) => s.backloggedWorkCount === 1)
          yield* Fiber.interrupt(queued)
          assert.isTrue(isInterruptedOnly(yield* Fiber.await(queued)))
          // The threads free up and drain the backlog: the interrupted task is skipped, not run.
          yield* probe.open
          assert.deepStrictEqual((yield* Fiber.joinAll(held)).sort(), [1, 2])
          yield* waitIdle(pool)
          assert.deepStrictEqual(probe.ran, [])
          assert.deepStrictEqual(probe.interrupted, [])
          yield* pool.deferToThread(Api.Record, 2)
          assert.deepStrictEqual(probe.ran, [2])
        }).pipe(Effect.provide(harness.layer({ minThreads: 2, maxThreads: 2, mainHandlers: probe.mainHandlers })))
      })

      it.live("a running task whose caller is interrupted is interrupted in its thread, which stays", () => {
        const probe = makeProbe()
        return Effect.gen(function*() {
          const pool = yield* ThreadPool.ThreadPool
          const token = yield* pool.deferToThread(Api.ThreadToken, undefined)
          const running = yield* Effect.forkChild(pool.deferToThread(Api.Hold, 7))
          yield* probe.waitStarted(1)
          yield* Fiber.interrupt(running)
          assert.isTrue(isInterruptedOnly(yield* Fiber.await(running)))
          // The thread's own fiber was interrupted: it said so before it settled, and it counted it.
          assert.deepStrictEqual(probe.interrupted, [7])
          assert.strictEqual(yield* pool.deferToThread(Api.Interruptions, undefined), 1)
          assert.strictEqual(yield* pool.deferToThread(Api.ThreadToken, undefined), token)
          const stats = yield* pool.statistics
          assert.strictEqual(stats.threadsStarted, 1)
          assert.strictEqual(stats.threadsCrashed, 0)
        }).pipe(Effect.provide(harness.layer({ minThreads: 1, maxThreads: 1, mainHandlers: probe.mainHandlers })))
      })

      it.live("a synchronous loop that ignores the interrupt has its worker terminated after the grace period", () => {
        const probe = makeProbe()
        const options = { minThreads: 1, maxThreads: 1, interruptGracePeriod: 50, mainHandlers: probe.mainHandlers }
        return withCountedPool(options, (pool, workers) =>
          Effect.gen(function*() {
            const token = yield* pool.deferToThread(Api.ThreadToken, undefined)
            // A minute of spinning: only terminating the worker ends it within the test.
            const spinning = yield* Effect.forkChild(pool.deferToThread(Api.Spin, { id: 1, ms: 60_000 }))
            yield* probe.waitStarted(1)
            yield* Fiber.interrupt(spinning)
            assert.isTrue(isInterruptedOnly(yield* Fiber.await(spinning)))
            // The next task runs on a new worker; the spinning one is gone.
            assert.notStrictEqual(yield* pool.deferToThread(Api.ThreadToken, undefined), token)
            const stats = yield* pool.statistics
            assert.strictEqual(stats.threadsStarted, 2)
            assert.strictEqual(stats.workerCount, 1)
            assert.strictEqual(workers.spawned(), 2)
            yield* waitUntil("the spinning worker ended", Effect.sync(() => workers.alive() === 1))
          }))
      })
    })

    describe("statistics", () => {
      it.live("count idle, busy and backlogged work, threads and tasks in flight", () => {
        const probe = makeProbe()
        return Effect.gen(function*() {
          const pool = yield* ThreadPool.ThreadPool
          const initial = yield* pool.statistics
          assert.deepStrictEqual(
            [initial.workerCount, initial.idleWorkerCount, initial.busyWorkerCount, initial.backloggedWorkCount],
            [1, 1, 0, 0]
          )
          assert.strictEqual(initial.threadsStarted, 1)
          assert.strictEqual(initial.tasksInFlight, 0)
          // Three held tasks on a pool of at most two threads: two busy, one backlogged.
          const held = yield* Effect.forEach([1, 2, 3], (id) => Effect.forkChild(pool.deferToThread(Api.Hold, id)))
          yield* probe.waitStarted(2)
          yield* waitStatistics(pool, "one task is backlogged", (s) => s.backloggedWorkCount === 1)
          const busy = yield* pool.statistics
          assert.deepStrictEqual(
            [busy.workerCount, busy.idleWorkerCount, busy.busyWorkerCount, busy.backloggedWorkCount],
            [2, 0, 2, 1]
          )
          assert.strictEqual(busy.threadsStarted, 2)
          assert.strictEqual(busy.tasksInFlight, 3)
          yield* probe.open
          assert.deepStrictEqual((yield* Fiber.joinAll(held)).sort(), [1, 2, 3])
          yield* waitStatistics(pool, "nothing is in flight", (s) => s.tasksInFlight === 0)
          yield* waitIdle(pool)
          const after = yield* pool.statistics
          assert.deepStrictEqual(
            [after.workerCount, after.idleWorkerCount, after.busyWorkerCount, after.backloggedWorkCount],
            [2, 2, 0, 0]
          )
          assert.strictEqual(after.threadsStarted, 2)
          assert.strictEqual(after.threadsCrashed, 0)
        }).pipe(Effect.provide(harness.layer({ minThreads: 1, maxThreads: 2, mainHandlers: probe.mainHandlers })))
      })
    })

    describe("the backlog", () => {
      it.live("higher priorities leave a held thread's backlog first, in order within a priority", () => {
        const probe = makeProbe()
        return Effect.gen(function*() {
          const pool = yield* ThreadPool.ThreadPool
          const held = yield* Effect.forkChild(pool.deferToThread(Api.Hold, 0))
          yield* probe.waitStarted(1)
          // [value, priority], submitted in this order while the only thread is held.
          const plan = [[1, 0], [2, 9], [3, 1], [4, 9], [5, 0], [6, -1]] as const
          const queued = yield* Effect.forEach(
            plan,
            ([value, priority]) =>
              Effect.forkChild(pool.deferToThread(Api.Record, value, { priority }), { startImmediately: true })
          )
          yield* waitStatistics(pool, "6 tasks are backlogged", (s) => s.backloggedWorkCount === 6)
          assert.deepStrictEqual(probe.ran, [])
          yield* probe.open
          assert.strictEqual(yield* Fiber.join(held), 0)
          yield* Fiber.joinAll(queued)
          assert.deepStrictEqual(probe.ran, [2, 4, 3, 1, 5, 6])
          yield* waitIdle(pool)
        }).pipe(Effect.provide(harness.layer({ minThreads: 1, maxThreads: 1, mainHandlers: probe.mainHandlers })))
      })

      it.live("past maxBacklog a caller waits for room (waitingForRoom), interruptibly, and nothing is lost", () => {
        const probe = makeProbe()
        return Effect.gen(function*() {
          const pool = yield* ThreadPool.ThreadPool
          const held = yield* Effect.forkChild(pool.deferToThread(Api.Hold, 0))
          yield* probe.waitStarted(1)
          const record = (value: number) =>
            Effect.forkChild(pool.deferToThread(Api.Record, value), { startImmediately: true })
          const backlogged = yield* Effect.forEach([1, 2], record)
          yield* waitStatistics(pool, "2 tasks are backlogged", (s) => s.backloggedWorkCount === 2)
          // The backlog is full: these callers wait for room, outside the backlog.
          const waiting = yield* record(3)
          const givesUp = yield* record(4)
          yield* waitStatistics(
            pool,
            "2 callers wait for room",
            (s) => s.waitingForRoom === 2 && s.backloggedWorkCount === 2
          )
          assert.isUndefined(waiting.pollUnsafe())
          // A caller waiting for room can be interrupted: it leaves, and its task never runs.
          yield* Fiber.interrupt(givesUp)
          assert.isTrue(isInterruptedOnly(yield* Fiber.await(givesUp)))
          yield* waitStatistics(pool, "1 caller waits for room", (s) => s.waitingForRoom === 1)
          yield* probe.open
          assert.strictEqual(yield* Fiber.join(held), 0)
          yield* Fiber.joinAll([...backlogged, waiting])
          assert.deepStrictEqual(probe.ran, [1, 2, 3])
          yield* waitIdle(pool)
          const stats = yield* pool.statistics
          assert.strictEqual(stats.waitingForRoom, 0)
          assert.strictEqual(stats.tasksInFlight, 0)
        }).pipe(
          Effect.provide(
            harness.layer({ minThreads: 1, maxThreads: 1, maxBacklog: 2, mainHandlers: probe.mainHandlers })
          )
        )
      })

      it.live("past maxBacklog, whenBacklogFull \"fail\" fails at once with BacklogFull naming the bound", () => {
        const probe = makeProbe()
        return Effect.gen(function*() {
          const pool = yield* ThreadPool.ThreadPool
          const held = yield* Effect.forkChild(pool.deferToThread(Api.Hold, 0))
          yield* probe.waitStarted(1)
          const backlogged = yield* Effect.forkChild(pool.deferToThread(Api.Record, 1), { startImmediately: true })
          yield* waitStatistics(pool, "1 task is backlogged", (s) => s.backloggedWorkCount === 1)
          // The pool's choice: fail.
          const refused = yield* Effect.flip(pool.deferToThread(Api.Record, 2))
          assert.instanceOf(refused, ThreadError.BacklogFull)
          assert.strictEqual((refused as ThreadError.BacklogFull).task, "Record")
          assert.strictEqual((refused as ThreadError.BacklogFull).limit, 1)
          // A call can choose otherwise: this one waits for room.
          const waiting = yield* Effect.forkChild(
            pool.deferToThread(Api.Record, 3, { whenBacklogFull: "wait" }),
            { startImmediately: true }
          )
          yield* waitStatistics(pool, "1 caller waits for room", (s) => s.waitingForRoom === 1)
          const stats = yield* pool.statistics
          assert.strictEqual(stats.backloggedWorkCount, 1)
          assert.strictEqual(stats.tasksInFlight, 3)
          yield* probe.open
          yield* Fiber.joinAll([held, backlogged, waiting])
          // The refused task never ran; the others all did.
          assert.deepStrictEqual(probe.ran, [1, 3])
          yield* waitIdle(pool)
        }).pipe(
          Effect.provide(
            harness.layer({
              minThreads: 1,
              maxThreads: 1,
              maxBacklog: 1,
              whenBacklogFull: "fail",
              mainHandlers: probe.mainHandlers
            })
          )
        )
      })
    })

    describe("keys and broadcast", () => {
      it.live("a key's tasks run on its thread, in order, one at a time; other work and keys use the other thread", () => {
        const probe = makeProbe()
        return Effect.gen(function*() {
          const pool = yield* ThreadPool.ThreadPool
          // The key's first task binds it to a thread; the next one holds that thread.
          const keyThread = yield* pool.deferToThread(Api.ThreadToken, undefined, { key: "a" })
          const held = yield* Effect.forkChild(pool.deferToThread(Api.Hold, 0, { key: "a" }))
          yield* probe.waitStarted(1)
          const keyed = yield* Effect.forEach(
            [10, 11, 12],
            (value) => Effect.forkChild(pool.deferToThread(Api.Record, value, { key: "a" }), { startImmediately: true })
          )
          // The other thread is free, and takes unkeyed work and another key's; the key's tasks wait for its thread.
          const unkeyedThread = yield* pool.deferToThread(Api.Record, 20)
          const otherKeyThread = yield* pool.deferToThread(Api.Record, 30, { key: "b" })
          assert.notStrictEqual(unkeyedThread, keyThread)
          assert.notStrictEqual(otherKeyThread, keyThread)
          assert.deepStrictEqual(probe.ran, [20, 30])
          for (const fiber of keyed) assert.isUndefined(fiber.pollUnsafe())
          yield* probe.open
          assert.strictEqual(yield* Fiber.join(held), 0)
          assert.deepStrictEqual(yield* Fiber.joinAll(keyed), [keyThread, keyThread, keyThread])
          assert.deepStrictEqual(probe.ran, [20, 30, 10, 11, 12])
          // The key stays bound to its thread.
          assert.strictEqual(yield* pool.deferToThread(Api.ThreadToken, undefined, { key: "a" }), keyThread)
          assert.strictEqual((yield* pool.statistics).threadsStarted, 2)
          yield* waitIdle(pool)
        }).pipe(Effect.provide(harness.layer({ minThreads: 2, maxThreads: 2, mainHandlers: probe.mainHandlers })))
      })

      it.live("a broadcast runs its task once on every thread: one Exit per thread", () => {
        const probe = makeProbe()
        return withCountedPool(
          { minThreads: 3, maxThreads: 3, mainHandlers: probe.mainHandlers },
          (pool, workers) =>
            Effect.gen(function*() {
              const exits = yield* pool.broadcast(Api.Record, 7)
              assert.strictEqual(exits.length, 3)
              const tokens = exits.map((exit) => Exit.isSuccess(exit) ? exit.value : -1)
              assert.notInclude(tokens, -1)
              assert.strictEqual(new Set(tokens).size, 3)
              assert.deepStrictEqual(probe.ran, [7, 7, 7])
              // Each thread's own failure is its Exit.
              const failures = yield* pool.broadcast(Api.Fail, "everywhere")
              assert.strictEqual(failures.length, 3)
              for (const exit of failures) {
                const error = expectOnlyFailure(exit)
                assert.instanceOf(error, Api.Rejected)
                assert.strictEqual((error as Api.Rejected).reason, "everywhere")
              }
              const stats = yield* pool.statistics
              assert.strictEqual(stats.threadsStarted, 3)
              assert.strictEqual(stats.workerCount, 3)
              assert.strictEqual(workers.spawned(), 3)
              yield* waitIdle(pool)
            })
        )
      })
    })

    describe("streaming", () => {
      it.live("a streaming task's elements all arrive, in order", () => {
        const probe = makeProbe()
        return Effect.gen(function*() {
          const pool = yield* ThreadPool.ThreadPool
          const numbers = yield* Stream.runCollect(
            pool.stream(Api.Numbers, { id: 1, count: 1_000, fail: false }, { bufferSize: 4 })
          )
          assert.deepStrictEqual(numbers, Array.from({ length: 1_000 }, (_, i) => i + 1))
          assert.strictEqual(yield* pool.deferToThread(Api.Produced, undefined), 1_000)
          assert.deepStrictEqual(probe.interrupted, [])
          yield* waitIdle(pool)
        }).pipe(Effect.provide(harness.layer({ minThreads: 1, maxThreads: 1, mainHandlers: probe.mainHandlers })))
      })

      it.live("taking a few elements of an endless stream stops it in its thread, which stays", () => {
        const probe = makeProbe()
        return Effect.gen(function*() {
          const pool = yield* ThreadPool.ThreadPool
          const token = yield* pool.deferToThread(Api.ThreadToken, undefined)
          const bufferSize = 4
          const numbers = yield* pool.stream(Api.Numbers, { id: 2, count: 0, fail: false }, { bufferSize }).pipe(
            Stream.take(5),
            Stream.runCollect
          )
          assert.deepStrictEqual(numbers, [1, 2, 3, 4, 5])
          // The thread's stream was interrupted there, having run only a bounded way ahead of the consumer.
          yield* waitUntil("the thread's stream was interrupted", Effect.sync(() => probe.interrupted.includes(2)))
          assert.deepStrictEqual(probe.interrupted, [2])
          assert.isAtMost(yield* pool.deferToThread(Api.Produced, undefined), 5 + 2 * bufferSize + 1)
          assert.strictEqual(yield* pool.deferToThread(Api.ThreadToken, undefined), token)
          const stats = yield* pool.statistics
          assert.strictEqual(stats.threadsStarted, 1)
          assert.strictEqual(stats.threadsCrashed, 0)
          yield* waitIdle(pool)
        }).pipe(Effect.provide(harness.layer({ minThreads: 1, maxThreads: 1, mainHandlers: probe.mainHandlers })))
      })

      it.live("a typed failure fails the stream after the elements before it", () => {
        const probe = makeProbe()
        return Effect.gen(function*() {
          const pool = yield* ThreadPool.ThreadPool
          const seen: Array<number> = []
          const error = yield* Effect.flip(
            pool.stream(Api.Numbers, { id: 3, count: 3, fail: true }).pipe(
              Stream.runForEach((n) => Effect.sync(() => void seen.push(n)))
            )
          )
          assert.instanceOf(error, Api.Rejected)
          assert.strictEqual((error as Api.Rejected).reason, "after 3")
          assert.deepStrictEqual(seen, [1, 2, 3])
          assert.deepStrictEqual(probe.interrupted, [])
          assert.strictEqual(yield* pool.deferToThread(Api.Add, { x: 1, y: 2 }), 3)
          assert.strictEqual((yield* pool.statistics).threadsStarted, 1)
          yield* waitIdle(pool)
        }).pipe(Effect.provide(harness.layer({ minThreads: 1, maxThreads: 1, mainHandlers: probe.mainHandlers })))
      })
    })

    describe("recycling", () => {
      it.live("after 3 tasks a thread is retired and replaced: 7 tasks on 3 threads, in turn", () =>
        withCountedPool(
          { minThreads: 1, maxThreads: 1, recycle: { afterTasks: 3 } },
          (pool, workers) =>
            Effect.gen(function*() {
              const tokens: Array<number> = []
              for (let i = 0; i < 7; i++) tokens.push(yield* pool.deferToThread(Api.ThreadToken, undefined))
              assert.strictEqual(new Set(tokens.slice(0, 3)).size, 1)
              assert.strictEqual(new Set(tokens.slice(3, 6)).size, 1)
              assert.strictEqual(new Set(tokens).size, 3)
              const stats = yield* pool.statistics
              assert.strictEqual(stats.threadsRecycled, 2)
              assert.strictEqual(stats.threadsStarted, 3)
              assert.strictEqual(stats.threadsCrashed, 0)
              assert.strictEqual(stats.workerCount, 1)
              assert.strictEqual(workers.spawned(), 3)
              yield* waitUntil("the recycled workers ended", Effect.sync(() => workers.alive() === 1))
            })
        ))

      // Issue 19: the key's next task waited in the backlog for good when its thread was recycled with none left.
      it.live("a key's next task after its thread was recycled, with no minimum, runs on a new thread", () =>
        withCountedPool(
          { recycle: { afterTasks: 1 } },
          (pool) =>
            Effect.gen(function*() {
              const first = yield* Effect.forkChild(pool.deferToThread(Api.ThreadToken, undefined, { key: "a" }), {
                startImmediately: true
              })
              const next = yield* Effect.forkChild(pool.deferToThread(Api.ThreadToken, undefined, { key: "a" }), {
                startImmediately: true
              })
              const firstToken = yield* Fiber.join(first)
              assert.notStrictEqual(yield* Fiber.join(next), firstToken)
              const stats = yield* pool.statistics
              assert.strictEqual(stats.threadsRecycled, 2)
              assert.strictEqual(stats.tasksInFlight, 0)
            })
        ))
    })

    describe("timeouts", () => {
      it.live("Effect.timeout on a running task: TimeoutError, the task interrupted in its thread, which stays", () => {
        const probe = makeProbe()
        return Effect.gen(function*() {
          const pool = yield* ThreadPool.ThreadPool
          const token = yield* pool.deferToThread(Api.ThreadToken, undefined)
          // The timeout's clock passes its deadline (an hour: nothing else ends the task) when the test says so, once
          // the task runs in its thread; the task itself runs on the real clock.
          const live = yield* Effect.clockWith(Effect.succeed)
          const deadline = makeDeadline(live)
          const timed = yield* Effect.forkChild(
            pool.deferToThread(Api.Hold, 1).pipe(
              Effect.provideService(Clock.Clock, live),
              Effect.timeout("1 hour"),
              Effect.provideService(Clock.Clock, deadline.clock),
              Effect.flip
            )
          )
          yield* probe.waitStarted(1)
          yield* deadline.pass
          const error = yield* Fiber.join(timed)
          assert.isTrue(Cause.isTimeoutError(error), "a TimeoutError")
          // The caller resumed once the thread answered the interrupt: the task's fiber there was interrupted.
          assert.deepStrictEqual(probe.interrupted, [1])
          assert.strictEqual(yield* pool.deferToThread(Api.Interruptions, undefined), 1)
          // The thread was kept, and takes the next task.
          assert.strictEqual(yield* pool.deferToThread(Api.ThreadToken, undefined), token)
          const stats = yield* pool.statistics
          assert.strictEqual(stats.threadsStarted, 1)
          assert.strictEqual(stats.threadsCrashed, 0)
          assert.strictEqual(stats.workerCount, 1)
          yield* waitIdle(pool)
        }).pipe(
          // A grace period no loaded machine reaches: the thread must answer the interrupt, never be terminated.
          Effect.provide(harness.layer({
            minThreads: 1,
            maxThreads: 1,
            interruptGracePeriod: "10 seconds",
            mainHandlers: probe.mainHandlers
          }))
        )
      })
    })

    describe("lifecycle", () => {
      it.live("closing the scope of an idle pool leaves no worker alive", () =>
        Effect.gen(function*() {
          const { pool, scope, workers } = yield* openPool({ minThreads: 3, maxThreads: 3 })
          assert.strictEqual(workers.spawned(), 3)
          assert.strictEqual(yield* pool.deferToThread(Api.Add, { x: 1, y: 2 }), 3)
          yield* Scope.close(scope, Exit.void)
          assert.strictEqual(workers.alive(), 0)
          assert.strictEqual(workers.spawned(), 3)
        }))

      it.live("closing the scope with tasks running and queued interrupts every caller, no worker alive", () => {
        const probe = makeProbe()
        return Effect.gen(function*() {
          const { pool, scope, workers } = yield* openPool({
            minThreads: 2,
            maxThreads: 2,
            interruptGracePeriod: "1 hour",
            mainHandlers: probe.mainHandlers
          })
          // One worker is held by a task that listens for interrupts, the other spins and cannot hear one.
          const holding = yield* Effect.forkChild(pool.deferToThread(Api.Hold, 1))
          const spinning = yield* Effect.forkChild(pool.deferToThread(Api.Spin, { id: 2, ms: 60_000 }))
          yield* probe.waitStarted(2)
          const queued = yield* Effect.forEach(
            [1, 2, 3],
            (value) => Effect.forkChild(pool.deferToThread(Api.Record, value))
          )
          yield* waitStatistics(pool, "3 tasks are backlogged", (s) => s.backloggedWorkCount === 3)
          yield* Scope.close(scope, Exit.void)
          const callers: Array<Fiber.Fiber<unknown, unknown>> = [holding, spinning, ...queued]
          for (const caller of callers) assert.isTrue(isInterruptedOnly(yield* Fiber.await(caller)))
          assert.strictEqual(workers.alive(), 0)
          assert.strictEqual(workers.spawned(), 2)
          assert.deepStrictEqual(probe.ran, [])
        })
      })

      it.live("stop runs the queued work first, then releases every worker", () => {
        const probe = makeProbe()
        return Effect.gen(function*() {
          const { pool, scope, workers } = yield* openPool({
            minThreads: 0,
            maxThreads: 2,
            mainHandlers: probe.mainHandlers
          })
          const held = yield* Effect.forEach([1, 2], (id) => Effect.forkChild(pool.deferToThread(Api.Hold, id)))
          yield* probe.waitStarted(2)
          for (const value of [1, 2, 3]) yield* pool.callInThread(Api.Record, value)
          const stopping = yield* Effect.forkChild(pool.stop, { startImmediately: true })
          yield* waitUntil("the pool is stopping", Effect.map(pool.started, (started) => !started))
          assert.isUndefined(stopping.pollUnsafe())
          assert.strictEqual(workers.alive(), 2)
          yield* probe.open
          yield* Fiber.join(stopping)
          yield* Fiber.joinAll(held)
          assert.deepStrictEqual(probe.ran.slice().sort(), [1, 2, 3])
          yield* waitUntil("every worker ended", Effect.sync(() => workers.alive() === 0))
          yield* Scope.close(scope, Exit.void)
          assert.strictEqual(workers.spawned(), 2)
        })
      })
    })
  })
}
