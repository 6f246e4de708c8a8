/**
 * The conformance suite's bulk calls (`ThreadPool.forEach`, `ThreadPool.mapStream`), run by `suite.ts` on every
 * platform: results in order across the threads, typed failures, every element's `Exit`, a thread that dies in the
 * middle of a batch (and the batch sent ahead to it, which runs elsewhere), a caller interrupted, the pool's scope closing, a stream stage in order with a consumer that
 * stops.
 */
import { Task, ThreadError, ThreadPool } from "@effect-threads/core"
import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Api from "./api.ts"
import { expectOnlyFailure, isInterruptedOnly, waitIdle, waitUntil } from "./kit.ts"
import type { Harness } from "./suite.ts"

/** The main thread's side of `Hold`: who started, who was interrupted; every `Hold` waits for ever. */
const makeProbe = () => {
  const started: Array<number> = []
  const interrupted: Array<number> = []
  const gate = Deferred.makeUnsafe<void>()
  return {
    started,
    interrupted,
    mainHandlers: [
      Task.implement(Api.Started, (id) => Effect.sync(() => void started.push(id))),
      Task.implement(Api.Wait, () => Deferred.await(gate)),
      Task.implement(Api.WasInterrupted, (id) => Effect.sync(() => void interrupted.push(id))),
      Task.implement(Api.Ran, () => Effect.void)
    ]
  }
}

/** Runs `body` with a started pool as the executor of the bulk calls. */
const withPool = <A, E>(
  harness: Harness,
  options: ThreadPool.Options,
  body: (pool: ThreadPool.ThreadPoolShape) => Effect.Effect<A, E, ThreadPool.Executor>
) =>
  ThreadPool.ThreadPool.use((pool) => body(pool).pipe(Effect.provideService(ThreadPool.Executor, pool))).pipe(
    Effect.provide(harness.layer(options))
  )

/** Registers the bulk calls' conformance tests for one platform. */
export const bulkConformance = (harness: Harness): void => {
  describe("bulk calls", () => {
    it.live("forEach gives every result in the input's order, spread over the threads", () =>
      withPool(harness, { minThreads: 2, maxThreads: 2 }, (pool) =>
        Effect.gen(function*() {
          const inputs = Array.from({ length: 3_000 }, (_, i) => ({ x: i, y: 1 }))
          assert.deepStrictEqual(yield* ThreadPool.forEach(Api.Add, inputs), inputs.map(({ x }) => x + 1))
          // Long enough for both threads: the tokens of 40 elements, one a batch, come from two threads.
          const tokens = yield* ThreadPool.forEach(Api.ThreadToken, Array.from({ length: 40 }, () => undefined), {
            batchSize: 1
          })
          assert.strictEqual(new Set(tokens).size, 2)
          yield* waitIdle(pool)
        })))

    it.live("a typed failure fails forEach; mode: \"exit\" gives each element's Exit", () =>
      withPool(harness, { minThreads: 1, maxThreads: 1 }, () =>
        Effect.gen(function*() {
          const error = expectOnlyFailure(yield* Effect.exit(ThreadPool.forEach(Api.Fail, ["a", "b"])))
          assert.instanceOf(error, Api.Rejected)
          assert.strictEqual((error as Api.Rejected).reason, "a")
          const exits = yield* ThreadPool.forEach(Api.Fail, ["a", "b"], { mode: "exit" })
          assert.deepStrictEqual(exits.map((exit) => (expectOnlyFailure(exit) as Api.Rejected).reason), ["a", "b"])
        })))

    it.live("a thread that dies in the middle of a batch fails that batch's elements with ThreadCrashed", () =>
      withPool(harness, { minThreads: 1, maxThreads: 1 }, (pool) =>
        Effect.gen(function*() {
          const token = yield* pool.deferToThread(Api.ThreadToken, undefined)
          const exits = yield* ThreadPool.forEach(Api.AsyncThrow, ["x", "y", "z"], { mode: "exit", batchSize: 3 })
          for (const exit of exits) {
            const error = expectOnlyFailure(exit) as ThreadError.ThreadCrashed
            assert.instanceOf(error, ThreadError.ThreadCrashed)
            assert.strictEqual(error.task, "AsyncThrow")
          }
          // The thread was replaced; the next call runs on the new one.
          assert.notStrictEqual(yield* pool.deferToThread(Api.ThreadToken, undefined), token)
          assert.deepStrictEqual(yield* ThreadPool.forEach(Api.Add, [{ x: 1, y: 1 }]), [2])
          assert.strictEqual((yield* pool.statistics).threadsCrashed, 1)
        })))

    it.live("a batch sent ahead to a thread that dies before it started runs once, on another thread", () =>
      withPool(harness, { minThreads: 1, maxThreads: 1 }, (pool) =>
        Effect.gen(function*() {
          // The thread is up: the second batch goes ahead to it, behind the first, which ends the thread.
          yield* pool.deferToThread(Api.ThreadToken, undefined)
          const exits = yield* ThreadPool.forEach(Api.AsyncThrow, ["a", "b", "c", "d"], { mode: "exit", batchSize: 2 })
          for (const exit of exits) assert.instanceOf(expectOnlyFailure(exit), ThreadError.ThreadCrashed)
          // The second batch did not fail with the first thread: it ran on the replacement (and ended it too), once.
          assert.strictEqual((yield* pool.statistics).threadsCrashed, 2)
          assert.deepStrictEqual(yield* ThreadPool.forEach(Api.Add, [{ x: 1, y: 1 }]), [2])
        })))

    it.live("interrupting forEach interrupts its running elements in their threads; the rest never start", () => {
      const probe = makeProbe()
      return withPool(
        harness,
        { minThreads: 2, maxThreads: 2, mainHandlers: probe.mainHandlers },
        (pool) =>
          Effect.gen(function*() {
            const fiber = yield* Effect.forkChild(ThreadPool.forEach(Api.Hold, [1, 2, 3, 4], { batchSize: 1 }))
            yield* waitUntil("2 holds started", Effect.sync(() => probe.started.length === 2))
            yield* Fiber.interrupt(fiber)
            assert.deepStrictEqual(probe.interrupted.toSorted(), probe.started.toSorted())
            assert.strictEqual(probe.started.length, 2)
            yield* waitIdle(pool)
            assert.strictEqual((yield* pool.statistics).threadsStarted, 2)
          })
      )
    })

    it.live("closing the pool's scope ends a forEach under way as interrupted, no worker alive", () => {
      const probe = makeProbe()
      return Effect.gen(function*() {
        const workers = harness.workers("tasks")
        const scope = yield* Scope.make()
        const context = yield* Layer.buildWithScope(
          ThreadPool.layer({ minThreads: 2, maxThreads: 2, mainHandlers: probe.mainHandlers }).pipe(
            Layer.provide(workers.layer)
          ),
          scope
        )
        const fiber = yield* Effect.forkChild(
          ThreadPool.forEach(Api.Hold, [1, 2, 3], { batchSize: 1 }).pipe(Effect.provide(context))
        )
        yield* waitUntil("2 holds started", Effect.sync(() => probe.started.length === 2))
        yield* Scope.close(scope, Exit.void)
        assert.isTrue(isInterruptedOnly(yield* Fiber.await(fiber)))
        assert.strictEqual(workers.alive(), 0)
      })
    })

    it.live("mapStream keeps the input's order across the threads; a consumer that stops stops it", () =>
      withPool(harness, { minThreads: 2, maxThreads: 2 }, (pool) =>
        Effect.gen(function*() {
          const sums = yield* Stream.range(0, 1_999).pipe(
            Stream.map((x) => ({ x, y: 1 })),
            ThreadPool.mapStream(Api.Add),
            Stream.runCollect
          )
          assert.deepStrictEqual(sums, Array.from({ length: 2_000 }, (_, i) => i + 1))
          const first = yield* Stream.iterate(0, (x) => x + 1).pipe(
            Stream.map((x) => ({ x, y: 1 })),
            ThreadPool.mapStream(Api.Add, { bufferSize: 64 }),
            Stream.take(100),
            Stream.runCollect
          )
          assert.deepStrictEqual(first, Array.from({ length: 100 }, (_, i) => i + 1))
          yield* waitIdle(pool)
        })))
  })
}
