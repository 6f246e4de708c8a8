/**
 * `NodeThreadPool.layerPlatform` and `NodeThreadRunner.serve` on real threads, driven with raw protocol batches:
 * READY first, answers, and each way a thread ends with its real exit code and error.
 */
import { Protocol } from "@effect-threads/conformance/kit"
import type { ThreadExit, ThreadPlatformShape } from "@effect-threads/core/ThreadPlatform"
import { ThreadPlatform } from "@effect-threads/core/ThreadPlatform"
import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import { NodeThreadPool } from "../src/index.ts"
import { entry, suiteOptions } from "./helpers.ts"

const platformOn = (file: URL | string): Effect.Effect<ThreadPlatformShape> =>
  Effect.provide(
    Effect.gen(function*() {
      return yield* ThreadPlatform
    }),
    NodeThreadPool.layerPlatform({ entry: file, name: "test" })
  )

/** Spawns a thread on `file`, with its batches in a list and its exit in a Deferred. */
const spawn = (file: URL | string) =>
  Effect.gen(function*() {
    const platform = yield* platformOn(file)
    const batches: Array<ReadonlyArray<ReadonlyArray<unknown>>> = []
    const incoming = yield* Queue.unbounded<ReadonlyArray<ReadonlyArray<unknown>>>()
    const ready = yield* Deferred.make<void>()
    const exited = yield* Deferred.make<ThreadExit>()
    let exits = 0
    const handle = platform.spawn(1, {
      onBatch: (batch) => {
        batches.push(batch as ReadonlyArray<ReadonlyArray<unknown>>)
        Queue.offerUnsafe(incoming, batch as ReadonlyArray<ReadonlyArray<unknown>>)
        Deferred.doneUnsafe(ready, Effect.void)
      },
      onExit: (exit) => {
        exits++
        Deferred.doneUnsafe(exited, Effect.succeed(exit))
      }
    })
    return {
      handle,
      batches,
      next: Queue.take(incoming),
      ready: Deferred.await(ready),
      exited: Deferred.await(exited),
      exits: () => exits
    }
  })

describe("NodeThreadPool.layerPlatform", suiteOptions, () => {
  it.live("a thread says READY, answers a batch with one batch, and exits with code 0 after CLOSE", () =>
    Effect.gen(function*() {
      const thread = yield* spawn(entry)
      assert.deepStrictEqual(yield* thread.next, [[Protocol.READY]])
      thread.handle.post([[Protocol.RUN, 1, "Add", { x: 1, y: 2 }], [Protocol.RUN, 2, "Add", { x: 3, y: 4 }]], [])
      assert.deepStrictEqual(yield* thread.next, [
        [Protocol.RESULT, 1, Protocol.SUCCESS, 3],
        [Protocol.RESULT, 2, Protocol.SUCCESS, 7]
      ])
      thread.handle.post([[Protocol.CLOSE]], [])
      const exit = yield* thread.exited
      assert.deepStrictEqual(exit, { exitCode: 0, error: undefined, terminated: false })
    }))

  it.live("process.exit(3) in a task: exit code 3", () =>
    Effect.gen(function*() {
      const thread = yield* spawn(entry)
      yield* thread.ready
      thread.handle.post([[Protocol.RUN, 1, "Exit", 3]], [])
      const exit = yield* thread.exited
      assert.strictEqual(exit.exitCode, 3)
      assert.strictEqual(exit.error, undefined)
      assert.strictEqual(exit.terminated, false)
    }))

  it.live("an uncaught throw: the error, and exit code 1", () =>
    Effect.gen(function*() {
      const thread = yield* spawn(entry)
      yield* thread.ready
      thread.handle.post([[Protocol.RUN, 1, "AsyncThrow", "kaboom"]], [])
      const exit = yield* thread.exited
      assert.strictEqual(exit.exitCode, 1)
      assert.instanceOf(exit.error, Error)
      assert.strictEqual((exit.error as Error).message, "kaboom")
    }))

  it.live("terminate: a terminated exit, reported once", () =>
    Effect.gen(function*() {
      const thread = yield* spawn(entry)
      yield* thread.ready
      thread.handle.terminate()
      thread.handle.terminate()
      const exit = yield* thread.exited
      assert.isTrue(exit.terminated)
      assert.strictEqual(exit.exitCode, 1)
      yield* Effect.yieldNow
      assert.strictEqual(thread.exits(), 1)
    }))

  it.live("post throws on a value that cannot be cloned", () =>
    Effect.gen(function*() {
      const thread = yield* spawn(entry)
      yield* thread.ready
      assert.throws(() => thread.handle.post([[Protocol.RUN, 1, "Echo", () => 1]], []))
      thread.handle.terminate()
      yield* thread.exited
    }))

  it.live("a missing entry: spawn throws, or the thread ends with an error before READY", () =>
    Effect.gen(function*() {
      const missing = new URL("./fixtures/does-not-exist.ts", import.meta.url)
      const spawned = yield* Effect.exit(spawn(missing))
      if (spawned._tag === "Failure") return
      // Node reports a missing entry after the spawn, as the thread's error.
      const thread = spawned.value
      const exit = yield* thread.exited
      assert.notStrictEqual(exit.error, undefined)
      assert.strictEqual(exit.exitCode, 1)
      assert.deepStrictEqual(thread.batches, [])
    }))

  it.live("a layer that fails to build ends the thread with its error before READY", () =>
    Effect.gen(function*() {
      const thread = yield* spawn(new URL("./fixtures/layer-fails.ts", import.meta.url))
      const exit = yield* thread.exited
      assert.strictEqual(exit.exitCode, 1)
      assert.strictEqual((exit.error as Error).message, "the database is down")
      assert.deepStrictEqual(thread.batches, [])
    }))
})
