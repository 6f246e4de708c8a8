import { ThreadPool } from "@effect-threads/core"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { NodeThreadPool } from "../src/index.ts"
import * as Api from "./fixtures/api.ts"

const entry = new URL("./fixtures/tasks.ts", import.meta.url)

describe("smoke", () => {
  it.live("runs a task on a thread", () =>
    Effect.gen(function*() {
      const pool = yield* ThreadPool.ThreadPool
      const sum = yield* pool.deferToThread(Api.Add, { x: 1, y: 2 })
      assert.strictEqual(sum, 3)
      const results = yield* Effect.forEach(
        Array.from({ length: 100 }, (_, i) => i),
        (i) => pool.deferToThread(Api.Add, { x: i, y: 1 }),
        { concurrency: "unbounded" }
      )
      assert.deepStrictEqual(results, Array.from({ length: 100 }, (_, i) => i + 1))
      const stats = yield* pool.statistics
      assert.strictEqual(stats.workerCount, 2)
    }).pipe(Effect.provide(NodeThreadPool.layer({ entry, minThreads: 1, maxThreads: 2 }))))
})
