/**
 * The pool's threads are released for real, counted by a platform that watches each thread's `exit` event: no
 * thread is alive once the pool's scope has closed, whether the pool was idle or had grown and replaced a thread.
 * A pool that never started spawns no thread, and closing its scope interrupts the callers of its backlog. `stop`
 * lets the queued work run first, then releases every thread.
 */
import { ThreadPool } from "@effect-threads/core"
import { assert, describe, it } from "@effect/vitest"
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
  readLog,
  suiteOptions,
  waitGatesStarted,
  waitStatistics,
  waitUntil
} from "./helpers.ts"

/** Builds a started pool on a counting platform in a scope of its own, which the test closes. */
const openPool = (options: ThreadPool.Options) =>
  Effect.gen(function*() {
    const platform = countingPlatform(entry)
    const scope = yield* Scope.make()
    const context = yield* Layer.buildWithScope(ThreadPool.layer(options).pipe(Layer.provide(platform.layer)), scope)
    return { platform, scope, pool: Context.get(context, ThreadPool.ThreadPool) }
  })

describe("Lifecycle", suiteOptions, () => {
  it.live("closing the scope of an idle pool leaves no thread alive", () =>
    Effect.gen(function*() {
      const { platform, pool, scope } = yield* openPool({ minThreads: 3, maxThreads: 3 })
      assert.strictEqual(platform.counts.spawned, 3)
      assert.strictEqual(platform.counts.online, 3)
      assert.strictEqual(yield* pool.deferToThread(Api.Add, { x: 1, y: 2 }), 3)
      yield* Scope.close(scope, Exit.void)
      assert.strictEqual(platform.alive(), 0)
      assert.strictEqual(platform.counts.exited, 3)
    }))

  it.live("closing the scope after the pool grew and replaced a thread leaves no thread alive", () =>
    Effect.gen(function*() {
      const { platform, pool, scope } = yield* openPool({ minThreads: 0, maxThreads: 4 })
      assert.strictEqual(platform.counts.spawned, 0)
      const gates = makeSignal()
      const held = yield* Effect.forEach(
        [1, 2, 3, 4],
        () => Effect.forkChild(pool.deferToThread(Api.Gate, gates.buffer))
      )
      yield* waitGatesStarted(gates, 4)
      yield* openGates(gates)
      yield* Effect.forEach(held, Fiber.join)
      // One thread dies, and is replaced when all four workers are needed again.
      yield* Effect.flip(pool.deferToThread(Api.Exit, 1))
      const again = makeSignal()
      const heldAgain = yield* Effect.forEach(
        [1, 2, 3, 4],
        () => Effect.forkChild(pool.deferToThread(Api.Gate, again.buffer))
      )
      yield* waitGatesStarted(again, 4)
      yield* openGates(again)
      yield* Effect.forEach(heldAgain, Fiber.join)
      assert.strictEqual(platform.counts.spawned, 5)
      yield* Scope.close(scope, Exit.void)
      assert.strictEqual(platform.alive(), 0)
      assert.strictEqual(platform.counts.exited, 5)
    }))

  it.live("closing the scope of a pool that never started interrupts the callers of its backlog, no thread spawned", () =>
    Effect.gen(function*() {
      const platform = countingPlatform(entry)
      const scope = yield* Scope.make()
      const pool = yield* ThreadPool.make({ minThreads: 2, maxThreads: 2 }).pipe(
        Effect.provide(platform.layer),
        Scope.provide(scope)
      )
      const log = makeSignal()
      const queued = yield* Effect.forEach(
        [1, 2, 3],
        (value) => Effect.forkChild(pool.deferToThread(Api.Append, { log: log.buffer, value }))
      )
      yield* waitStatistics(pool, "3 tasks are backlogged", (s) => s.backloggedWorkCount === 3)
      yield* Scope.close(scope, Exit.void)
      for (const caller of queued) assert.isTrue(isInterruptedOnly(yield* Fiber.await(caller)))
      assert.strictEqual(platform.counts.spawned, 0)
      assert.strictEqual(log.get(0), 0)
    }))

  it.live("stop runs the queued work first, then releases every thread", () =>
    Effect.gen(function*() {
      const { platform, pool, scope } = yield* openPool({ minThreads: 0, maxThreads: 2 })
      const gates = makeSignal()
      const log = makeSignal()
      const held = yield* Effect.forEach([1, 2], () => Effect.forkChild(pool.deferToThread(Api.Gate, gates.buffer)))
      yield* waitGatesStarted(gates, 2)
      for (const value of [1, 2, 3]) yield* pool.callInThread(Api.Append, { log: log.buffer, value })
      const stopping = yield* Effect.forkChild(pool.stop, { startImmediately: true })
      yield* waitUntil("the pool is stopping", Effect.map(pool.started, (started) => !started))
      // The gates hold both threads: stop waits for them and for the backlog behind them.
      assert.isUndefined(stopping.pollUnsafe())
      assert.strictEqual(platform.alive(), 2)
      yield* openGates(gates)
      yield* Fiber.join(stopping)
      yield* Effect.forEach(held, Fiber.join)
      assert.deepStrictEqual(readLog(log).values.sort(), [1, 2, 3])
      yield* waitUntil("every thread exited", Effect.sync(() => platform.alive() === 0))
      assert.strictEqual(platform.counts.exited, 2)
      yield* Scope.close(scope, Exit.void)
      assert.strictEqual(platform.alive(), 0)
    }))
})
