/**
 * Regressions found by the real-thread suite: closing a busy pool interrupts its callers and terminates busy threads
 * at once; a thread that never becomes ready is terminated after the start timeout; threads retired by a shrink,
 * a start timeout or a stop are not counted as crashes; a settled task is no longer counted in flight.
 */
import { ThreadError, ThreadPool } from "@effect-threads/core"
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import * as Api from "./fixtures/api.ts"
import {
  countingPlatform,
  entry,
  isInterruptedOnly,
  makeSignal,
  openGates,
  suiteOptions,
  waitGatesStarted,
  waitIdle,
  waitStatistics,
  waitUntil
} from "./helpers.ts"

describe("Regressions", suiteOptions, () => {
  // Bug 1: the pool's finalizer (interrupt the tickets, terminate busy threads) runs after the threads' scopes.
  it.live("closing the scope with tasks running and queued interrupts every caller and terminates busy threads", () =>
    Effect.gen(function*() {
      const platform = countingPlatform(entry)
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(
        ThreadPool.layer({ minThreads: 2, maxThreads: 2, interruptGracePeriod: "1 hour" }).pipe(
          Layer.provide(platform.layer)
        ),
        scope
      )
      const pool = Context.get(context, ThreadPool.ThreadPool)
      const gates = makeSignal()
      const spin = makeSignal()
      const log = makeSignal()
      const gate = yield* Effect.forkChild(pool.deferToThread(Api.Gate, gates.buffer))
      yield* waitGatesStarted(gates, 1)
      const spinning = yield* Effect.forkChild(pool.deferToThread(Api.SpinSignal, { signal: spin.buffer, ms: 60_000 }))
      yield* waitUntil("the loop runs", Effect.sync(() => spin.get(0) === 1))
      const queued = yield* Effect.forEach(
        [1, 2, 3],
        (value) => Effect.forkChild(pool.deferToThread(Api.Append, { log: log.buffer, value }))
      )
      yield* waitStatistics(pool, "3 tasks are backlogged", (s) => s.backloggedWorkCount === 3)
      yield* Scope.close(scope, Exit.void)
      const callers: Array<Fiber.Fiber<unknown, unknown>> = [gate, spinning, ...queued]
      for (const caller of callers) assert.isTrue(isInterruptedOnly(yield* Fiber.await(caller)))
      assert.strictEqual(platform.counts.terminated, 2)
      assert.strictEqual(platform.alive(), 0)
      assert.strictEqual(log.get(0), 0)
    }))

  // Bug 2: the start timeout fails `ready` before it terminates the thread; the failing start closes the scope and
  // interrupts that fiber, so the thread is never terminated.
  it.live("an entry that never serves: the start timeout fails the pool's layer and terminates the thread", () =>
    Effect.gen(function*() {
      const platform = countingPlatform(new URL("./fixtures/never-ready.ts", import.meta.url))
      const exit = yield* Effect.exit(
        Effect.scoped(
          Layer.build(ThreadPool.layer({ minThreads: 1, startTimeout: 200 }).pipe(Layer.provide(platform.layer)))
        )
      )
      assert.isTrue(Exit.isFailure(exit))
      assert.instanceOf(Cause.squash((exit as Exit.Failure<unknown, unknown>).cause), ThreadError.ThreadStartFailed)
      assert.strictEqual(platform.counts.terminated, 1)
      assert.strictEqual(platform.alive(), 0)
    }))

  // Bug 3: threadsCrashed counts threads that were retired, not crashed.
  it.live("threadsCrashed stays 0 when threads are released by a shrink, by a start timeout, or by stop", () =>
    Effect.gen(function*() {
      const platform = countingPlatform(entry)
      const pool = yield* ThreadPool.make({ minThreads: 3, maxThreads: 3 }).pipe(Effect.provide(platform.layer))
      yield* pool.start
      yield* pool.adjustPoolsize({ minThreads: 0, maxThreads: 1 })
      yield* waitUntil("two threads exited", Effect.sync(() => platform.counts.exited === 2))
      assert.strictEqual((yield* pool.statistics).threadsCrashed, 0)
      yield* pool.stop
      assert.strictEqual((yield* pool.statistics).threadsCrashed, 0)

      const never = countingPlatform(new URL("./fixtures/never-ready.ts", import.meta.url))
      const other = yield* ThreadPool.make({ minThreads: 0, maxThreads: 1, startTimeout: 200 }).pipe(
        Effect.provide(never.layer)
      )
      yield* other.start
      yield* Effect.flip(other.deferToThread(Api.Add, { x: 1, y: 1 }))
      yield* waitUntil("the thread exited", Effect.sync(() => never.counts.exited === 1))
      yield* waitIdle(other)
      assert.strictEqual((yield* other.statistics).threadsCrashed, 0)
    }))

  // Doc: tasksInFlight is "tasks submitted and not yet settled", but a task whose caller already has its result
  // is still counted until the worker's fiber forgets it.
  it.live("tasksInFlight is 0 once the only caller has its result", () =>
    Effect.gen(function*() {
      const platform = countingPlatform(entry)
      const pool = yield* ThreadPool.make({ minThreads: 1, maxThreads: 1 }).pipe(Effect.provide(platform.layer))
      yield* pool.start
      const gates = makeSignal()
      const fiber = yield* Effect.forkChild(pool.deferToThread(Api.Gate, gates.buffer))
      yield* waitGatesStarted(gates, 1)
      yield* openGates(gates)
      yield* Fiber.join(fiber)
      assert.strictEqual((yield* pool.statistics).tasksInFlight, 0)
    }))
})
