/**
 * The worker side's platform on a `MessageChannel` standing in for the worker's global scope: the ready message,
 * requests to the handler, replies with their transfer list, the close message, and the listeners removed after.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as WorkerError from "effect/workers/WorkerError"
import * as WorkerRunner from "effect/workers/WorkerRunner"
import { BrowserThreadRunner } from "../src/index.ts"

/** Polls `condition` every 5 ms until it holds; dies naming `what` after about 10 s. */
const waitUntil = (what: string, condition: () => boolean): Effect.Effect<void> =>
  Effect.gen(function*() {
    for (let i = 0; i < 2000; i++) {
      if (condition()) return
      yield* Effect.sleep("5 millis")
    }
    return yield* Effect.die(new Error(`timed out waiting until ${what}`))
  })

/** One end of a channel as the runner's port, counting its listeners; the other end plays the main thread. */
const makeChannel = () => {
  const channel = new MessageChannel()
  const listeners = new Map<string, number>()
  const count = (type: string, delta: number) => listeners.set(type, (listeners.get(type) ?? 0) + delta)
  const port: BrowserThreadRunner.WorkerPort = {
    postMessage: (message, transfer) => channel.port1.postMessage(message, transfer),
    addEventListener: (type, listener) => {
      count(type, 1)
      channel.port1.addEventListener(type, listener)
    },
    removeEventListener: (type, listener) => {
      count(type, -1)
      channel.port1.removeEventListener(type, listener)
    },
    start: () => channel.port1.start()
  }
  const fromRunner: Array<unknown> = []
  channel.port2.onmessage = (event) => void fromRunner.push(event.data)
  return { port, main: channel.port2, fromRunner, listeners }
}

describe("BrowserThreadRunner", () => {
  it.live("says it is ready, hands requests to the handler, replies, and ends on the close message", () =>
    Effect.gen(function*() {
      const { fromRunner, listeners, main, port } = makeChannel()
      const runner = yield* BrowserThreadRunner.make(port).start<unknown, string>()
      const requests: Array<string> = []
      const run = yield* Effect.forkChild(
        runner.run<void, never, never>((_portId, message) => void requests.push(message))
      )
      yield* waitUntil("the runner is ready", () => fromRunner.length === 1)
      assert.deepStrictEqual(fromRunner, [[0]])
      assert.deepStrictEqual(Object.fromEntries(listeners), { message: 1, messageerror: 1 })

      main.postMessage([0, "a"])
      main.postMessage([0, "b"])
      yield* waitUntil("two requests arrived", () => requests.length === 2)
      assert.deepStrictEqual(requests, ["a", "b"])

      runner.sendUnsafe(0, "plain")
      const buffer = new ArrayBuffer(16)
      yield* runner.send(0, buffer, [buffer])
      assert.strictEqual(buffer.byteLength, 0, "the buffer was transferred, not copied")
      yield* waitUntil("two replies arrived", () => fromRunner.length === 3)
      assert.deepStrictEqual(fromRunner[1], [1, "plain"])
      assert.strictEqual((fromRunner[2] as [1, ArrayBuffer])[1].byteLength, 16)

      main.postMessage([1])
      yield* Fiber.join(run)
      assert.deepStrictEqual(Object.fromEntries(listeners), { message: 0, messageerror: 0 })
    }))

  it.live("forks a handler's effect, and interrupts it when the run is interrupted", () =>
    Effect.gen(function*() {
      const { fromRunner, main, port } = makeChannel()
      const runner = yield* BrowserThreadRunner.make(port).start<unknown, string>()
      const started: Array<string> = []
      const interrupted: Array<string> = []
      const run = yield* Effect.forkChild(runner.run((_portId, message) =>
        Effect.sync(() => void started.push(message)).pipe(
          Effect.andThen(Effect.never),
          Effect.onInterrupt(() => Effect.sync(() => void interrupted.push(message)))
        )
      ))
      yield* waitUntil("the runner is ready", () =>
        fromRunner.length === 1)
      main.postMessage([0, "long"])
      yield* waitUntil("the handler started", () => started.length === 1)
      yield* Fiber.interrupt(run)
      assert.deepStrictEqual(interrupted, ["long"])
    }))

  it.effect("outside a dedicated worker, the layer's runner fails to start with WorkerSpawnError", () =>
    Effect.gen(function*() {
      assert.isFalse(BrowserThreadRunner.isDedicatedWorker())
      const platform = yield* WorkerRunner.WorkerRunnerPlatform
      const error = yield* Effect.flip(platform.start())
      assert.isTrue(WorkerError.isWorkerError(error))
      assert.instanceOf(error.reason, WorkerError.WorkerSpawnError)
    }).pipe(Effect.provide(BrowserThreadRunner.layer)))
})
