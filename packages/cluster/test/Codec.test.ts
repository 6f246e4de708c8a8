// The cluster's codec is the core's (TaskCodec): a caller's InvalidPayload names the field in the pool's path format,
// and a runner hands the caller's encoded payload to its pool as it came and the thread's encoded outcome back, with
// nothing decoded only to be encoded again (counted by schemas that count their own decodes and encodes). The
// runner's pool here runs over InProcessThreads: what is counted is the runner's work plus the thread's.
import { InProcessThreads, Task, TaskCodec, ThreadError, ThreadPool } from "@effect-threads/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Layer, Schema, SchemaTransformation, Stream } from "effect"
import * as ClusterRunner from "../src/ClusterRunner.ts"
import * as TaskEntity from "../src/TaskEntity.ts"

/** How many times each counted schema decoded and encoded. */
const counts = { payload: { decoded: 0, encoded: 0 }, success: { decoded: 0, encoded: 0 } }

/** A number that travels as a string, counting its decodes and encodes in `count`. */
const counted = (count: { decoded: number; encoded: number }) =>
  Schema.String.pipe(Schema.decodeTo(
    Schema.Number,
    SchemaTransformation.transform({
      decode: (s: string) => {
        count.decoded++
        return Number(s)
      },
      encode: (n: number) => {
        count.encoded++
        return String(n)
      }
    })
  ))

class Odd extends Schema.TaggedError<Odd>()("Odd", { n: Schema.Number }) {}

const Next = Task.make("Next", { payload: counted(counts.payload), success: counted(counts.success), failure: Odd })
const Strict = Task.make("Strict", {
  payload: Schema.Struct({ tags: Schema.Array(Schema.String), "a key": Schema.optional(Schema.Number) }),
  success: Schema.Struct({ xs: Schema.Array(Schema.Number) })
})
const Count = Task.stream("Count", { payload: Schema.NumberFromString, element: Schema.NumberFromString })

const handlers = [
  Task.implement(Next, (n) => n % 2 === 1 ? Effect.fail(new Odd({ n })) : Effect.succeed(n + 1)),
  Task.implement(Strict, ({ tags }) => Effect.succeed({ xs: tags.map((tag) => tag.length) })),
  Task.implementStream(Count, (n) => Stream.range(1, n))
]

const tasks = new Map<string, Task.Any>([Next, Strict, Count].map((task) => [task._tag, task]))

const PoolLive = ThreadPool.layer({ minThreads: 1, maxThreads: 1 }).pipe(
  Layer.provideMerge(InProcessThreads.layer(handlers))
)

/** The typed failure of an exit. */
const failureOf = (exit: Exit.Exit<unknown, unknown>): unknown => {
  assert.isTrue(Exit.isFailure(exit))
  const reason = Exit.isFailure(exit) ? exit.cause.reasons[0] : undefined
  assert.strictEqual(reason?._tag, "Fail")
  return (reason as unknown as { readonly error: unknown }).error
}

describe("the cluster's codec is the core's", () => {
  it("an invalid payload names the field as the pool does, array indexes and odd keys included", () => {
    for (
      const [payload, path, what] of [
        [{ tags: ["a", 2] }, "$.tags[1]", "Expected string"],
        [{ tags: [], "a key": "x" }, "$[\"a key\"]", "Expected number | undefined"]
      ] as const
    ) {
      const error = failureOf(TaskEntity.encodePayload(Strict, payload))
      assert.instanceOf(error, ThreadError.InvalidPayload)
      assert.strictEqual((error as ThreadError.InvalidPayload).path, path)
      assert.strictEqual(
        (error as ThreadError.InvalidPayload).message,
        `the payload of Strict does not match its schema at ${path}: ${what}`
      )
      assert.deepStrictEqual(TaskEntity.decodePayload(Strict, payload), TaskCodec.make(Strict).decodePayload(payload))
    }
    const result = failureOf(TaskEntity.convertResult("decode", Strict, Strict.success, { xs: [1, "2"] }))
    assert.instanceOf(result, ThreadError.InvalidResult)
    assert.strictEqual((result as ThreadError.InvalidResult).path, "$.xs[1]")
  })

  describe("a runner passes the encoded payload and the encoded outcome through", () => {
    it.effect("a success: decoded once (in the thread), encoded once (in the thread)", () =>
      Effect.gen(function*() {
        const pool = yield* ThreadPool.ThreadPool
        const run = ClusterRunner.runOn(pool, tasks)
        for (const count of [counts.payload, counts.success]) count.decoded = count.encoded = 0
        assert.strictEqual(yield* run({ task: "Next", payload: "40" }), "41")
        assert.deepStrictEqual(counts, { payload: { decoded: 1, encoded: 0 }, success: { decoded: 0, encoded: 1 } })
      }).pipe(Effect.provide(PoolLive)))

    it.effect("a typed failure: encoded by the thread, wrapped in TaskFailed, decoded at the caller", () =>
      Effect.gen(function*() {
        const pool = yield* ThreadPool.ThreadPool
        const error = yield* Effect.flip(ClusterRunner.runOn(pool, tasks)({ task: "Next", payload: "3" }))
        assert.instanceOf(error, TaskEntity.TaskFailed)
        const decoded = TaskCodec.make(Next).decodeFailure((error as TaskEntity.TaskFailed).error)
        assert.isTrue(Exit.isSuccess(decoded) && decoded.value instanceof Odd && decoded.value.n === 3)
      }).pipe(Effect.provide(PoolLive)))

    it.effect("a payload the thread cannot decode: InvalidPayload naming the field, as the runner's answer", () =>
      Effect.gen(function*() {
        const pool = yield* ThreadPool.ThreadPool
        const error = yield* Effect.flip(ClusterRunner.runOn(pool, tasks)({ task: "Strict", payload: { tags: [1] } }))
        assert.instanceOf(error, ThreadError.InvalidPayload)
        assert.strictEqual((error as ThreadError.InvalidPayload).path, "$.tags[0]")
      }).pipe(Effect.provide(PoolLive)))

    it.effect("a stream's elements, encoded by the thread", () =>
      Effect.gen(function*() {
        const pool = yield* ThreadPool.ThreadPool
        const elements = yield* Stream.runCollect(ClusterRunner.streamOn(pool, tasks)({ task: "Count", payload: "3" }))
        assert.deepStrictEqual(elements, ["1", "2", "3"])
      }).pipe(Effect.provide(PoolLive)))
  })
})
