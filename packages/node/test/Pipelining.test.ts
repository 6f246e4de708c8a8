/**
 * Pipelining (`concurrentTasksPerThread` above 1) on real threads: tasks are sent ahead to busy threads, and taken
 * back (work stealing) when another thread is free, so none waits behind a slow task while a thread is idle.
 */
import { ThreadPool } from "@effect-threads/core"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import { NodeThreadPool } from "../src/index.ts"
import * as Api from "./fixtures/api.ts"
import { entry, makeSignal, openGates, readLog, suiteOptions, waitGatesStarted, waitIdle } from "./helpers.ts"

const pipelined = NodeThreadPool.layer({ entry, minThreads: 2, maxThreads: 2, concurrentTasksPerThread: 8 })

describe("Pipelining", () => {
  it.live("tasks sent ahead to a blocked thread are taken back by the free thread", () =>
    Effect.gen(function*() {
      const pool = yield* ThreadPool.ThreadPool
      const gates = makeSignal()
      const log = makeSignal(128)
      const held = yield* Effect.forkChild(pool.deferToThread(Api.Gate, gates.buffer))
      yield* waitGatesStarted(gates, 1)
      // Twenty tasks: some are sent ahead to the blocked thread, the rest go to the other one.
      const appended = yield* Effect.forEach(
        Array.from({ length: 20 }, (_, i) => i),
        (value) => pool.deferToThread(Api.Append, { log: log.buffer, value }),
        { concurrency: "unbounded" }
      )
      // All of them ran while the gate was still closed: none waited behind it.
      assert.strictEqual(appended.length, 20)
      const { threads, values } = readLog(log)
      assert.deepStrictEqual(values.slice().sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => i))
      assert.strictEqual(new Set(threads).size, 1)
      yield* openGates(gates)
      const gateThread = yield* Fiber.join(held)
      assert.notStrictEqual(threads[0], gateThread)
      yield* waitIdle(pool)
      const stats = yield* pool.statistics
      assert.strictEqual(stats.tasksInFlight, 0)
      assert.strictEqual(stats.threadsStarted, 2)
    }).pipe(Effect.provide(pipelined)), suiteOptions.timeout)

  it.live("many tiny tasks, pipelined and batched, all come back right", () =>
    Effect.gen(function*() {
      const pool = yield* ThreadPool.ThreadPool
      const results = yield* Effect.forEach(
        Array.from({ length: 20_000 }, (_, i) => i),
        (x) => pool.deferToThread(Api.Add, { x, y: 1 }),
        { concurrency: "unbounded" }
      )
      assert.deepStrictEqual(results, Array.from({ length: 20_000 }, (_, i) => i + 1))
      yield* waitIdle(pool)
    }).pipe(Effect.provide(pipelined)), suiteOptions.timeout)
})
