/**
 * The worker side's port on a `MessageChannel` standing in for the worker's global scope, serving with
 * `ThreadRunner.serve`: the ready message, a request answered, the close message, and the listeners removed after.
 */
import { Protocol } from "@effect-threads/conformance/kit"
import { Task, ThreadRunner } from "@effect-threads/core"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Queue from "effect/Queue"
import * as Schema from "effect/Schema"
import { BrowserThreadRunner } from "../src/index.ts"

const Square = Task.make("Square", { payload: Schema.Number, success: Schema.Number })

/** One end of a channel as the runner's port, counting its listeners; the other end plays the main thread. */
const makeChannel = Effect.gen(function*() {
  const channel = new MessageChannel()
  const listeners = new Map<string, number>()
  let closed = false
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
    start: () => channel.port1.start(),
    close: () => {
      closed = true
      channel.port1.close()
    }
  }
  const fromRunner = yield* Queue.unbounded<unknown>()
  channel.port2.onmessage = (event) => void Queue.offerUnsafe(fromRunner, event.data)
  return { port, main: channel.port2, next: Queue.take(fromRunner), listeners, closed: () => closed }
})

describe("BrowserThreadRunner", () => {
  it.live("serves over a port: READY, a request answered, and CLOSE removes the listeners and closes it", () =>
    Effect.gen(function*() {
      const { closed, listeners, main, next, port } = yield* makeChannel
      const fiber = ThreadRunner.serve(BrowserThreadRunner.makePort(port), [
        Task.implement(Square, (n) => Effect.succeed(n * n))
      ])
      assert.deepStrictEqual(yield* next, [[Protocol.READY]])
      assert.deepStrictEqual(Object.fromEntries(listeners), { message: 1, messageerror: 1 })
      main.postMessage([[Protocol.RUN, 1, "Square", 5]])
      assert.deepStrictEqual(yield* next, [[Protocol.RESULT, 1, Protocol.SUCCESS, 25]])
      main.postMessage([[Protocol.CLOSE]])
      assert.isTrue(Exit.isSuccess(yield* Fiber.await(fiber)))
      assert.isTrue(closed())
      assert.deepStrictEqual(Object.fromEntries(listeners), { message: 0, messageerror: 0 })
    }))

  it.effect("outside a dedicated worker, serve throws", () =>
    Effect.sync(() => {
      assert.isFalse(BrowserThreadRunner.isDedicatedWorker())
      assert.throws(() => BrowserThreadRunner.serve([]), "dedicated Web Worker")
    }))
})
