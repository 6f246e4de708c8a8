/**
 * The in-process platform: its threads speak the protocol through `ThreadRunner.serve`, and its faults happen as
 * declared. Driven with raw batches, as a pool would.
 */
import { InProcessThreads, Task } from "@effect-threads/core"
import type { ThreadExit, ThreadHandle } from "@effect-threads/core/ThreadPlatform"
import { ThreadPlatform } from "@effect-threads/core/ThreadPlatform"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Protocol from "../src/internal/wire/protocol.ts"
import { turn, turns, until } from "./helpers.ts"

const Square = Task.make("Square", { payload: Schema.Number, success: Schema.Number })
const Crash = Task.make("Crash")
const handlers = [
  Task.implement(Square, (n) => Effect.succeed(n * n)),
  Task.implement(Crash, () => Effect.void)
]

/** Spawns thread `id`, recording what it reports. */
const spawn = (platform: ThreadPlatform["Service"], id: number) => {
  const batches: Array<unknown> = []
  const exits: Array<ThreadExit> = []
  const handle: ThreadHandle = platform.spawn(id, {
    onBatch: (batch) => void batches.push(batch),
    onExit: (exit) => void exits.push(exit)
  })
  return { handle, batches, exits }
}

describe("InProcessThreads", () => {
  it.live("a thread says READY, answers RUN, and exits with code 0 after CLOSE", () =>
    Effect.gen(function*() {
      const { control, platform } = InProcessThreads.makeUnsafe(handlers)
      const thread = spawn(platform, 1)
      assert.strictEqual(control.spawned(), 1)
      assert.strictEqual(control.alive(), 1)
      yield* until("READY", Effect.sync(() => thread.batches.length === 1))
      assert.deepStrictEqual(thread.batches[0], [[Protocol.READY]])
      thread.handle.post([[Protocol.RUN, 1, "Square", 3], [Protocol.RUN, 2, "Square", 4]], [])
      yield* until("the results", Effect.sync(() => thread.batches.length === 2))
      assert.deepStrictEqual(thread.batches[1], [
        [Protocol.RESULT, 1, Protocol.SUCCESS, 9],
        [Protocol.RESULT, 2, Protocol.SUCCESS, 16]
      ])
      thread.handle.post([[Protocol.CLOSE]], [])
      yield* until("the exit", Effect.sync(() => thread.exits.length === 1))
      assert.deepStrictEqual(thread.exits, [{ exitCode: 0 }])
      assert.strictEqual(control.alive(), 0)
    }))

  it.live("post throws on what cannot be cloned; terminate reports a terminated exit once, later", () =>
    Effect.gen(function*() {
      const { platform } = InProcessThreads.makeUnsafe(handlers)
      const thread = spawn(platform, 1)
      assert.throws(() => thread.handle.post([[Protocol.RUN, 1, "Square", () => 1]], []))
      thread.handle.terminate()
      thread.handle.terminate()
      assert.deepStrictEqual(thread.exits, [], "not from inside terminate")
      yield* until("the exit", Effect.sync(() => thread.exits.length === 1))
      yield* turn
      assert.deepStrictEqual(thread.exits, [{ terminated: true }])
    }))

  it.live("faults by id: spawn throws, fails to start, never ready, never answers", () =>
    Effect.gen(function*() {
      const error = new Error("no such entry")
      const { control, platform } = InProcessThreads.makeUnsafe(handlers, {
        faults: {
          1: { _tag: "SpawnThrows", error },
          2: { _tag: "FailsToStart", error },
          3: { _tag: "NeverReady" },
          4: { _tag: "NeverAnswers" }
        }
      })
      assert.throws(() => spawn(platform, 1), "no such entry")
      assert.strictEqual(control.spawned(), 0)

      const failing = spawn(platform, 2)
      yield* until("the start failure", Effect.sync(() => failing.exits.length === 1))
      assert.deepStrictEqual(failing.exits, [{ exitCode: 1, error }])
      assert.deepStrictEqual(failing.batches, [])

      const silent = spawn(platform, 3)
      const mute = spawn(platform, 4)
      yield* until("READY of the mute one", Effect.sync(() => mute.batches.length === 1))
      mute.handle.post([[Protocol.RUN, 1, "Square", 2]], [])
      silent.handle.post([[Protocol.RUN, 1, "Square", 2]], [])
      yield* turns(10)
      assert.deepStrictEqual(silent.batches, [])
      assert.deepStrictEqual(mute.batches, [[[Protocol.READY]]])
      assert.strictEqual(control.alive(), 2)
      silent.handle.terminate()
      mute.handle.terminate()
      yield* until(
        "both ended",
        Effect.sync(() => control.alive() === 0 && silent.exits.length + mute.exits.length === 2)
      )
    }))

  it.live("a thread dies when a given task starts, or on demand, with its exit code", () =>
    Effect.gen(function*() {
      const { control, platform } = InProcessThreads.makeUnsafe(handlers, {
        faults: (id) => id === 1 ? { _tag: "DiesOnTask", task: "Crash", exitCode: 3 } : undefined
      })
      const dying = spawn(platform, 1)
      yield* until("READY", Effect.sync(() => dying.batches.length === 1))
      dying.handle.post([[Protocol.RUN, 1, "Square", 2], [Protocol.RUN, 2, "Crash", undefined]], [])
      yield* until("the death", Effect.sync(() => dying.exits.length === 1))
      assert.deepStrictEqual(dying.exits, [{ exitCode: 3 }])
      assert.isFalse(
        dying.batches.flat().some((message) => (message as ReadonlyArray<unknown>)[1] === 2),
        "no answer for the task it died on"
      )

      control.setFault(2, { _tag: "NeverReady" })
      const killed = spawn(platform, 2)
      control.kill(2, 7)
      yield* until("the death", Effect.sync(() => killed.exits.length === 1))
      assert.deepStrictEqual(killed.exits, [{ exitCode: 7 }])
      assert.strictEqual(control.spawned(), 2)
      assert.strictEqual(control.alive(), 0)
    }))

  it.live("the layer provides the platform and its control, and ends live threads with its scope", () =>
    Effect.gen(function*() {
      const thread = yield* Effect.scoped(
        Effect.gen(function*() {
          const platform = yield* ThreadPlatform
          const control = yield* InProcessThreads.Control
          const thread = spawn(platform, 1)
          assert.strictEqual(control.alive(), 1)
          return thread
        }).pipe(Effect.provide(InProcessThreads.layer(handlers)))
      )
      yield* until("the exit", Effect.sync(() => thread.exits.length === 1))
    }))
})
