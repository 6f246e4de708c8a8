/**
 * The shared thread-side runner, driven with raw protocol batches over a fake port that clones what it is given
 * (as `postMessage` does) and records every post.
 */
import { Task, ThreadRunner } from "@effect-threads/core"
import type { RunnerPort } from "@effect-threads/core/ThreadPlatform"
import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Protocol from "../src/internal/wire/protocol.ts"

const Square = Task.make("Square", { payload: Schema.Number, success: Schema.Number })
const Later = Task.make("Later", { payload: Schema.Number, success: Schema.Number })
const Fail = Task.make("Fail", { failure: Schema.String })
const Bad = Task.make("Bad", { success: Schema.Struct({ a: Schema.Struct({ b: Schema.Array(Schema.Number) }) }) })
const Fn = Task.make("Fn", { success: Schema.Unknown })

/** A fake port: posts are structured-cloned (throwing as `postMessage` does) and recorded. */
const makePort = () => {
  const posts: Array<ReadonlyArray<ReadonlyArray<unknown>>> = []
  let deliver: ((batch: unknown) => void) | undefined
  let closed = false
  const port: RunnerPort = {
    post: (batch) => void posts.push(structuredClone(batch) as ReadonlyArray<ReadonlyArray<unknown>>),
    listen: (onBatch) => {
      deliver = onBatch
    },
    close: () => {
      closed = true
    }
  }
  const send = (...batch: ReadonlyArray<Protocol.ToThread>) => deliver!(batch)
  return { port, posts, send, closed: () => closed, listening: () => deliver !== undefined }
}

/** Lets every microtask and the current macrotask run: the runner's flush, a fiber's wake-up. */
const tick = Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, 0)))

const makeHandlers = (gate: Deferred.Deferred<number>, started: Array<number>) => [
  Task.implement(Square, (n) => Effect.succeed(n * n)),
  Task.implement(Later, (n) =>
    Effect.sync(() => started.push(n)).pipe(
      Effect.andThen(Deferred.await(gate)),
      Effect.map((m) => m + n)
    )),
  Task.implement(Fail, () => Effect.fail("no")),
  Task.implement(Bad, () => Effect.succeed({ a: { b: [1, "two" as unknown as number] } })),
  Task.implement(Fn, () => Effect.sync(() => ({ f: { g: () => 1 } })))
]

const setup = Effect.gen(function*() {
  const gate = yield* Deferred.make<number>()
  const started: Array<number> = []
  const channel = makePort()
  const fiber = ThreadRunner.serve(channel.port, makeHandlers(gate, started))
  return { ...channel, gate, started, fiber }
})

describe("ThreadRunner.serve", () => {
  it.live("listens at once, says READY first, and answers RUN with RESULT", () =>
    Effect.gen(function*() {
      const { listening, posts, send } = yield* setup
      assert.isTrue(listening())
      assert.deepStrictEqual(posts, [[[Protocol.READY]]])
      send([Protocol.RUN, 1, "Square", 7], [Protocol.RUN, 2, "Fail", undefined], [Protocol.RUN, 3, "Nope", 0])
      yield* tick
      assert.deepStrictEqual(posts.slice(1), [[
        [Protocol.RESULT, 1, Protocol.SUCCESS, 49],
        [Protocol.RESULT, 2, Protocol.FAILURE, "no"],
        [Protocol.RESULT, 3, Protocol.NOT_IMPLEMENTED]
      ]])
    }))

  it.live("answers many synchronous requests of one turn with one post", () =>
    Effect.gen(function*() {
      const { posts, send } = yield* setup
      const runs: Array<Protocol.ToThread> = []
      for (let i = 0; i < 500; i++) runs.push([Protocol.RUN, i, "Square", i])
      send(...runs)
      yield* tick
      assert.strictEqual(posts.length, 2)
      assert.strictEqual(posts[1]!.length, 500)
      assert.deepStrictEqual(posts[1]![499], [Protocol.RESULT, 499, Protocol.SUCCESS, 499 * 499])
    }))

  it.live("runs an asynchronous handler, one request at a time, in order", () =>
    Effect.gen(function*() {
      const { gate, posts, send, started } = yield* setup
      send([Protocol.RUN, 1, "Later", 1], [Protocol.RUN, 2, "Square", 3], [Protocol.RUN, 3, "Later", 2])
      yield* tick
      assert.deepStrictEqual(started, [1])
      assert.strictEqual(posts.length, 1, "nothing answered while the first request runs")
      yield* Deferred.succeed(gate, 10)
      yield* tick
      assert.deepStrictEqual(started, [1, 2])
      assert.deepStrictEqual(posts.slice(1), [[
        [Protocol.RESULT, 1, Protocol.SUCCESS, 11],
        [Protocol.RESULT, 2, Protocol.SUCCESS, 9],
        [Protocol.RESULT, 3, Protocol.SUCCESS, 12]
      ]])
    }))

  it.live("INTERRUPT interrupts the running request and drops a queued one; RECALL gives one back", () =>
    Effect.gen(function*() {
      const { posts, send, started } = yield* setup
      send([Protocol.RUN, 1, "Later", 1], [Protocol.RUN, 2, "Later", 2], [Protocol.RUN, 3, "Later", 3])
      yield* tick
      send([Protocol.INTERRUPT, 2], [Protocol.RECALL, 3], [Protocol.RECALL, 1])
      yield* tick
      assert.deepStrictEqual(posts.slice(1), [[
        [Protocol.RESULT, 2, Protocol.INTERRUPTED],
        [Protocol.RESULT, 3, Protocol.RECALLED]
      ]], "a running request is not recalled")
      send([Protocol.INTERRUPT, 1], [Protocol.RUN, 4, "Square", 2])
      yield* tick
      assert.deepStrictEqual(posts.slice(2), [[
        [Protocol.RESULT, 1, Protocol.INTERRUPTED],
        [Protocol.RESULT, 4, Protocol.SUCCESS, 4]
      ]])
      assert.deepStrictEqual(started, [1])
    }))

  it.live("CLOSE closes the port and ends the session", () =>
    Effect.gen(function*() {
      const { closed, fiber, send } = yield* setup
      send([Protocol.CLOSE])
      assert.isTrue(closed())
      const exit = yield* Fiber.await(fiber)
      assert.isTrue(Exit.isSuccess(exit))
    }))

  it.live("answers an uncloneable result with INVALID_RESULT and its path, the other answers intact", () =>
    Effect.gen(function*() {
      const { posts, send } = yield* setup
      send([Protocol.RUN, 1, "Square", 2], [Protocol.RUN, 2, "Fn", undefined], [Protocol.RUN, 3, "Square", 3])
      yield* tick
      const answers = posts.slice(1).flat()
      assert.deepStrictEqual(answers[0], [Protocol.RESULT, 1, Protocol.SUCCESS, 4])
      assert.deepStrictEqual(answers[1]!.slice(0, 4), [Protocol.RESULT, 2, Protocol.INVALID_RESULT, "$.f.g"])
      assert.deepStrictEqual(answers[2], [Protocol.RESULT, 3, Protocol.SUCCESS, 9])
      send([Protocol.RUN, 4, "Square", 4])
      yield* tick
      assert.deepStrictEqual(posts.at(-1), [[Protocol.RESULT, 4, Protocol.SUCCESS, 16]], "the thread still serves")
    }))

  it.live("answers a result that does not match its schema with INVALID_RESULT and its path", () =>
    Effect.gen(function*() {
      const { posts, send } = yield* setup
      send([Protocol.RUN, 1, "Bad", undefined])
      yield* tick
      const answer = posts[1]![0]!
      assert.deepStrictEqual(answer.slice(0, 4), [Protocol.RESULT, 1, Protocol.INVALID_RESULT, "$.a.b[1]"])
      assert.include(answer[4] as string, "the success of Bad does not match its schema at $.a.b[1]")
    }))

  it.live("with a layer, buffers requests and says READY once it is built; a failing layer fails the session", () =>
    Effect.gen(function*() {
      const built = yield* Deferred.make<void>()
      const { port, posts, send } = makePort()
      const fiber = ThreadRunner.serve(port, [Task.implement(Square, (n) => Effect.succeed(n + 1))], {
        layer: Layer.effectDiscard(Deferred.await(built))
      })
      send([Protocol.RUN, 1, "Square", 1])
      yield* tick
      assert.deepStrictEqual(posts, [])
      yield* Deferred.succeed(built, undefined)
      yield* tick
      assert.deepStrictEqual(posts, [[[Protocol.READY]], [[Protocol.RESULT, 1, Protocol.SUCCESS, 2]]])
      yield* Fiber.interrupt(fiber)

      const failing = makePort()
      const failed = ThreadRunner.serve(failing.port, [], { layer: Layer.effectDiscard(Effect.fail("boom")) })
      const exit = yield* Fiber.await(failed)
      assert.deepStrictEqual(exit, Exit.fail("boom"))
      assert.deepStrictEqual(failing.posts, [], "never ready")
    }))

  it.live("callMain posts CALL and resumes with the REPLY", () =>
    Effect.gen(function*() {
      const Ask = Task.make("Ask", { payload: Schema.Number, success: Schema.Number })
      const Main = Task.make("Main", { payload: Schema.Number, success: Schema.Number })
      const { port, posts, send } = makePort()
      ThreadRunner.serve(port, [Task.implement(Ask, (n) => Effect.orDie(ThreadRunner.callMain(Main, n * 2)))])
      send([Protocol.RUN, 1, "Ask", 5])
      yield* tick
      assert.deepStrictEqual(posts[1], [[Protocol.CALL, 0, "Main", 10]])
      send([Protocol.REPLY, 0, Protocol.SUCCESS, 11])
      yield* tick
      assert.deepStrictEqual(posts[2], [[Protocol.RESULT, 1, Protocol.SUCCESS, 11]])
    }))
})
