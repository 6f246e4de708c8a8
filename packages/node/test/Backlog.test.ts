/**
 * A bounded backlog on real threads: one thread is held by a gate, the tasks behind it log their values in shared
 * memory in the order they ran; a call's own `whenBacklogFull: "fail"` on a pool that waits; at the backlog's bound,
 * a caller waiting for room with a higher priority runs before a lower-priority backlogged task. Priorities in the
 * backlog are the conformance suite's (run on Node by `Conformance.test.ts`).
 */
import { ThreadError, ThreadPool } from "@effect-threads/core"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import { NodeThreadPool } from "../src/index.ts"
import * as Api from "./fixtures/api.ts"
import { entry, makeSignal, openGates, readLog, suiteOptions, waitGatesStarted, waitIdle } from "./helpers.ts"

const holdThread = Effect.gen(function*() {
  const pool = yield* ThreadPool.ThreadPool
  const gates = makeSignal()
  const gate = yield* Effect.forkChild(pool.deferToThread(Api.Gate, gates.buffer))
  yield* waitGatesStarted(gates, 1)
  return { pool, gates, gate }
})

describe("Backlog on threads", suiteOptions, () => {
  it.live("past maxBacklog, callers wait for room, or fail with BacklogFull when they ask to", () =>
    Effect.gen(function*() {
      const { gate, gates, pool } = yield* holdThread
      const log = makeSignal()
      const append = (value: number, options?: ThreadPool.RunOptions) =>
        Effect.forkChild(pool.deferToThread(Api.Append, { log: log.buffer, value }, options), {
          startImmediately: true
        })
      const kept = yield* Effect.forEach([1, 2, 3], (value) => append(value))
      const refused = yield* Effect.flip(
        pool.deferToThread(Api.Append, { log: log.buffer, value: 4 }, { whenBacklogFull: "fail" })
      )
      assert.instanceOf(refused, ThreadError.BacklogFull)
      const stats = yield* pool.statistics
      assert.strictEqual(stats.backloggedWorkCount, 2)
      assert.strictEqual(stats.waitingForRoom, 1)
      yield* openGates(gates)
      yield* Fiber.join(gate)
      yield* Effect.forEach(kept, Fiber.join)
      assert.deepStrictEqual(readLog(log).values, [1, 2, 3])
      yield* waitIdle(pool)
    }).pipe(Effect.provide(NodeThreadPool.layer({ entry, minThreads: 1, maxThreads: 1, maxBacklog: 2 }))))
})

describe("priorities at the backlog's bound, on real threads", suiteOptions, () => {
  it.live("a caller waiting for room with priority 5 runs before a backlogged task of priority 0", () =>
    Effect.gen(function*() {
      const { gate, gates, pool } = yield* holdThread
      const log = makeSignal()
      const low = yield* Effect.forkChild(pool.deferToThread(Api.Append, { log: log.buffer, value: 0 }), {
        startImmediately: true
      })
      const high = yield* Effect.forkChild(
        pool.deferToThread(Api.Append, { log: log.buffer, value: 5 }, { priority: 5, whenBacklogFull: "wait" }),
        { startImmediately: true }
      )
      const full = yield* pool.statistics
      assert.strictEqual(full.backloggedWorkCount, 1)
      assert.strictEqual(full.waitingForRoom, 1)
      yield* openGates(gates)
      yield* Fiber.join(gate)
      yield* Fiber.join(low)
      yield* Fiber.join(high)
      assert.deepStrictEqual(readLog(log).values, [5, 0])
    }).pipe(Effect.provide(NodeThreadPool.layer({ entry, maxThreads: 1, maxBacklog: 1 }))))
})
