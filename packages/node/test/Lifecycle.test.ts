/**
 * The pool's threads are released for real, counted by a platform that watches each thread's `exit` event: no
 * thread is alive once the scope of a pool that grew and replaced a thread has closed. A pool that never started
 * spawns no thread, and closing its scope interrupts the callers of its backlog. Closing an idle pool and `stop` are
 * the conformance suite's (run on Node by `Conformance.test.ts`).
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
  suiteOptions,
  waitGatesStarted,
  waitStatistics
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
})
