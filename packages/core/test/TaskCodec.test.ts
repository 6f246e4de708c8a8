/**
 * The public task codec (`TaskCodec`) over InProcessThreads: a task's codec and its relay are made once; a relay hands
 * a task to a pool encoded (as the cluster's runner does) and gets its outcome back encoded, elements included,
 * while the thread decodes and encodes with the task's own schemas; a payload the thread cannot decode fails with
 * `InvalidPayload` naming where, and the thread goes on.
 */
import { InProcessThreads, Task, TaskCodec, ThreadError, ThreadPool } from "@effect-threads/core"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"

class Odd extends Schema.TaggedError<Odd>()("Odd", { n: Schema.Number }) {}

/** Numbers that travel as strings: what crosses is not what the handler sees. */
const Halve = Task.make("Halve", { payload: Schema.NumberFromString, success: Schema.NumberFromString, failure: Odd })
const Scale = Task.make("Scale", {
  payload: Schema.Struct({ by: Schema.NumberFromString, xs: Schema.Array(Schema.Number) }),
  success: Schema.Array(Schema.Number)
})
const Count = Task.stream("Count", { payload: Schema.NumberFromString, element: Schema.NumberFromString })

const handlers = [
  Task.implement(Halve, (n) => n % 2 === 0 ? Effect.succeed(n / 2) : Effect.fail(new Odd({ n }))),
  Task.implement(Scale, ({ by, xs }) => Effect.succeed(xs.map((x) => x * by))),
  Task.implementStream(Count, (n) => Stream.range(1, n))
]

const PoolLive = ThreadPool.layer({ minThreads: 1, maxThreads: 1 }).pipe(
  Layer.provideMerge(InProcessThreads.layer(handlers))
)

describe("TaskCodec", () => {
  it("a task's codec and its relay are made once", () => {
    assert.strictEqual(TaskCodec.make(Halve), TaskCodec.make(Halve))
    assert.strictEqual(TaskCodec.relay(Halve), TaskCodec.relay(Halve))
    assert.strictEqual(TaskCodec.relay(Halve)._tag, "Halve")
    assert.isTrue(Task.isStream(TaskCodec.relay(Count)))
    assert.isFalse(Task.isStream(TaskCodec.relay(Halve)))
  })

  it("encodes and decodes each value with the task's schema, a mismatch naming where", () => {
    const codec = TaskCodec.make(Scale)
    assert.deepStrictEqual(codec.encodePayload({ by: 2, xs: [1] }), Exit.succeed({ by: "2", xs: [1] }))
    assert.deepStrictEqual(codec.decodePayload({ by: "2", xs: [1] }), Exit.succeed({ by: 2, xs: [1] }))
    const invalid = codec.decodePayload({ by: "2", xs: [1, "a"] })
    assert.isTrue(Exit.isFailure(invalid))
    const error = Exit.isFailure(invalid) ? (invalid.cause.reasons[0] as { readonly error?: unknown }).error : undefined
    assert.instanceOf(error, ThreadError.InvalidPayload)
    assert.strictEqual((error as ThreadError.InvalidPayload).path, "$.xs[1]")
    assert.deepStrictEqual(TaskCodec.make(Count).decodeElement("3"), Exit.succeed(3))
  })

  describe("a relay hands the task over encoded and gets its outcome back encoded", () => {
    it.effect("the success, as the thread encoded it", () =>
      Effect.gen(function*() {
        assert.strictEqual(yield* ThreadPool.deferToThread(TaskCodec.relay(Halve), "8"), "4")
      }).pipe(Effect.provide(PoolLive)))

    it.effect("the typed failure, encoded: the caller decodes it into its class", () =>
      Effect.gen(function*() {
        const encoded = yield* Effect.flip(ThreadPool.deferToThread(TaskCodec.relay(Halve), "3"))
        assert.notInstanceOf(encoded, Odd)
        const decoded = TaskCodec.make(Halve).decodeFailure(encoded)
        assert.isTrue(Exit.isSuccess(decoded) && decoded.value instanceof Odd && decoded.value.n === 3)
      }).pipe(Effect.provide(PoolLive)))

    it.effect("a stream's elements, encoded", () =>
      Effect.gen(function*() {
        const elements = yield* Stream.runCollect(ThreadPool.stream(TaskCodec.relay(Count), "3"))
        assert.deepStrictEqual(elements, ["1", "2", "3"])
      }).pipe(Effect.provide(PoolLive)))

    it.effect("a payload the thread cannot decode: InvalidPayload naming where, and the thread goes on", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(ThreadPool.deferToThread(TaskCodec.relay(Scale), { by: "2", xs: [1, "a"] }))
        assert.instanceOf(error, ThreadError.InvalidPayload)
        const invalid = error as ThreadError.InvalidPayload
        assert.strictEqual(invalid.task, "Scale")
        assert.strictEqual(invalid.path, "$.xs[1]")
        assert.strictEqual(
          invalid.message,
          "the payload of Scale does not match its schema at $.xs[1]: Expected number"
        )
        assert.deepStrictEqual(yield* ThreadPool.deferToThread(TaskCodec.relay(Scale), { by: "2", xs: [1, 2] }), [2, 4])
        assert.strictEqual((yield* ThreadPool.statistics).threadsCrashed, 0)
      }).pipe(Effect.provide(PoolLive)))
  })
})
