/**
 * The pool features beyond Twisted on real threads: keys (a key's tasks on one thread), broadcast (once per thread),
 * and per-thread set-up (the `serve` layer: built before the thread takes work; a failing one is ThreadStartFailed).
 */
import { ThreadError, ThreadPool } from "@effect-threads/core"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { NodeThreadPool } from "../src/index.ts"
import * as Api from "./fixtures/api.ts"
import { entry, suiteOptions, waitIdle } from "./helpers.ts"

const warmEntry = new URL("./fixtures/warm-entry.ts", import.meta.url)
const failingEntry = new URL("./fixtures/layer-fails.ts", import.meta.url)

describe("Features on threads", suiteOptions, () => {
  it.live("the tasks of a key run on one thread; keys spread over the threads", () =>
    Effect.gen(function*() {
      const pool = yield* ThreadPool.ThreadPool
      const keys = ["a", "b", "c", "d"]
      const runs = yield* Effect.forEach(
        Array.from({ length: 40 }, (_, i) => keys[i % keys.length]!),
        (key) => Effect.map(pool.deferToThread(Api.ThreadId, undefined, { key }), (thread) => [key, thread] as const),
        { concurrency: "unbounded" }
      )
      const threadsOf = new Map<string, Set<number>>()
      for (const [key, thread] of runs) threadsOf.set(key, (threadsOf.get(key) ?? new Set()).add(thread))
      for (const key of keys) assert.strictEqual(threadsOf.get(key)!.size, 1, `key ${key} stayed on one thread`)
      assert.isAbove(new Set(runs.map(([, thread]) => thread)).size, 1, "the keys spread")
      yield* waitIdle(pool)
    }).pipe(Effect.provide(NodeThreadPool.layer({ entry, minThreads: 2, maxThreads: 2 }))))

  it.live("a broadcast runs once on every thread", () =>
    Effect.gen(function*() {
      const exits = yield* ThreadPool.broadcast(Api.ThreadId, undefined)
      assert.strictEqual(exits.length, 3)
      const threads = exits.map((exit) => (Exit.isSuccess(exit) ? exit.value : -1))
      assert.strictEqual(new Set(threads).size, 3)
      assert.notInclude(threads, -1)
    }).pipe(Effect.provide(NodeThreadPool.layer({ entry, minThreads: 3, maxThreads: 3 }))))

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
