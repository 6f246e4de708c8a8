/**
 * Per-thread set-up on Node: `NodeThreadRunner.serve`'s layer is built before the thread takes work, and a failing
 * one is ThreadStartFailed. Keys and broadcast on real threads are the conformance suite's (run on Node by
 * `Conformance.test.ts`), their semantics core's (`packages/core/test/Affinity.test.ts`).
 */
import { ThreadError, ThreadPool } from "@effect-threads/core"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { NodeThreadPool } from "../src/index.ts"
import * as Api from "./fixtures/api.ts"
import { suiteOptions } from "./helpers.ts"

const warmEntry = new URL("./fixtures/warm-entry.ts", import.meta.url)
const failingEntry = new URL("./fixtures/layer-fails.ts", import.meta.url)

describe("Features on threads", suiteOptions, () => {
  it.live("the serve layer sets each thread up before it takes work", () =>
    Effect.gen(function*() {
      const results = yield* Effect.forEach(
        [1, 2, 3, 4],
        () => ThreadPool.deferToThread(Api.Lookup, "greeting"),
        { concurrency: "unbounded" }
      )
      for (const { thread, value } of results) assert.strictEqual(value, `hello from ${thread}`)
    }).pipe(Effect.provide(NodeThreadPool.layer({ entry: warmEntry, minThreads: 2, maxThreads: 2 }))))

  it.live("a set-up that fails is ThreadStartFailed, for start and for a task", () =>
    Effect.gen(function*() {
      const started = yield* Effect.flip(
        Effect.scoped(
          NodeThreadPool.make({ entry: failingEntry, minThreads: 1 }).pipe(
            Effect.flatMap((pool) => pool.start)
          )
        )
      )
      assert.instanceOf(started, ThreadError.ThreadStartFailed)
      assert.include((started as ThreadError.ThreadStartFailed).message, "the database is down")
      const task = yield* Effect.flip(Effect.scoped(Effect.gen(function*() {
        const pool = yield* NodeThreadPool.make({ entry: failingEntry, maxThreads: 1 })
        yield* pool.start
        return yield* pool.deferToThread(Api.ThreadId, undefined)
      })))
      assert.instanceOf(task, ThreadError.ThreadStartFailed)
    }))
})
