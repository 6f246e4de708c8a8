/**
 * A regression: a task submitted while the pool's scope is closing (its finalizer terminating a busy thread) used to
 * be lost or fail with ThreadCrashed. It is refused with AlreadyQuit, or interrupted.
 */
import { ThreadPool } from "@effect-threads/core"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Scope from "effect/Scope"
import * as Api from "../fixtures/reliability-api.ts"
import { countingPlatform, describeExit, entry, waitUntil } from "./support.ts"

describe("close race", { timeout: 60_000 }, () => {
  for (const submissions of [1, 3]) {
    it.live(`${submissions} task(s) submitted while the scope closes settle (interrupted or AlreadyQuit)`, () =>
      Effect.gen(function*() {
        const platform = countingPlatform(entry)
        const scope = yield* Scope.make()
        const pool = yield* ThreadPool.makeStarted({ minThreads: 1, maxThreads: 1 }).pipe(
          Effect.provide(platform.layer),
          Scope.provide(scope),
          Effect.orDie
        )
        // A task running: closing the scope terminates its thread (an await inside the pool's finalizer).
        const gate = new Int32Array(new SharedArrayBuffer(16))
        const running = yield* Effect.forkDetach(pool.deferToThread(Api.Hold, gate.buffer))
        yield* waitUntil("the task runs", Effect.sync(() => Atomics.load(gate, 0) === 1))
        const closing = yield* Effect.forkDetach(Scope.close(scope, Exit.void), { startImmediately: true })
        // The finalizer has settled the tasks in flight and is terminating the busy thread: submit now.
        assert.isFalse(yield* pool.started)
        const late = yield* Effect.forEach(
          Array.from({ length: submissions }, (_, i) => i),
          (i) => Effect.forkDetach(pool.deferToThread(Api.Twice, i), { startImmediately: true })
        )
        yield* Fiber.await(closing)
        assert.strictEqual(describeExit(yield* Fiber.await(running)), "interrupted")
        const seen: Array<string> = []
        for (const fiber of late) {
          const exit = yield* Effect.timeoutOption(Fiber.await(fiber), "5 seconds")
          seen.push(exit._tag === "None" ? "never settled" : describeExit(exit.value).split(":")[0]!)
        }
        assert.deepStrictEqual(
          seen.filter((s) => s !== "interrupted" && s !== "failure AlreadyQuit"),
          [],
          `threads spawned ${platform.counts.spawned}`
        )
      }))
  }
})
