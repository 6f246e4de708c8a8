/**
 * `BrowserThreadPool.layerPlatform` on real Web Workers in Chromium, driven with raw protocol batches: READY first,
 * answers, an error event as the worker's death, and terminate reported in a later microtask.
 */
import { Protocol } from "@effect-threads/conformance/kit"
import type { ThreadExit, ThreadPlatformShape } from "@effect-threads/core/ThreadPlatform"
import { ThreadPlatform } from "@effect-threads/core/ThreadPlatform"
import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import { BrowserThreadPool } from "../src/index.ts"

const platformOf = (spawn: BrowserThreadPool.Spawn): Effect.Effect<ThreadPlatformShape> =>
  Effect.provide(
    Effect.gen(function*() {
      return yield* ThreadPlatform
    }),
    BrowserThreadPool.layerPlatform({ spawn })
  )

const spawnOn = (spawn: BrowserThreadPool.Spawn) =>
  Effect.gen(function*() {
    const platform = yield* platformOf(spawn)
    const incoming = yield* Queue.unbounded<unknown>()
    const exited = yield* Deferred.make<ThreadExit>()
    let exits = 0
    const handle = platform.spawn(1, {
      onBatch: (batch) => void Queue.offerUnsafe(incoming, batch),
      onExit: (exit) => {
        exits++
        Deferred.doneUnsafe(exited, Effect.succeed(exit))
      }
    })
    return { handle, next: Queue.take(incoming), exited: Deferred.await(exited), exits: () => exits }
  })

describe("BrowserThreadPool.layerPlatform", () => {
  it.live("a worker says READY, answers, and terminate reports a terminated exit once, in a later microtask", () =>
    Effect.gen(function*() {
      const thread = yield* spawnOn(() =>
        new Worker(new URL("./fixtures/browser-entry.ts", import.meta.url), { type: "module" })
      )
      assert.deepStrictEqual(yield* thread.next, [[Protocol.READY]])
      thread.handle.post([[Protocol.RUN, 1, "Add", { x: 2, y: 3 }]], [])
      assert.deepStrictEqual(yield* thread.next, [[Protocol.RESULT, 1, Protocol.SUCCESS, 5]])
      assert.throws(() => thread.handle.post([[Protocol.RUN, 2, "Echo", () => 1]], []))
      thread.handle.terminate()
      thread.handle.terminate()
      assert.strictEqual(thread.exits(), 0, "not from inside terminate")
      assert.deepStrictEqual(yield* thread.exited, { terminated: true })
      assert.strictEqual(thread.exits(), 1)
    }))

  it.live("an entry that throws while loading: onExit once, with the error event's description", () =>
    Effect.gen(function*() {
      const thread = yield* spawnOn(() =>
        new Worker(new URL("@effect-threads/conformance/throws-at-load", import.meta.url), { type: "module" })
      )
      const exit = yield* thread.exited
      assert.instanceOf(exit.error, Error)
      assert.include((exit.error as Error).message, "the entry failed while loading")
      thread.handle.terminate()
      yield* Effect.promise(() => Promise.resolve())
      assert.strictEqual(thread.exits(), 1)
    }))
})
