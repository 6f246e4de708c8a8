/**
 * The bulk calls on `worker_threads`, for what is Node's own (the platform-neutral semantics are the conformance
 * suite's and core's): transfer lists per element, a thread that calls `process.exit` in the middle of a batch, a
 * pipelined pool, and 100,000 elements through `forEach` and `mapStream`.
 */
import { ThreadError, ThreadPool } from "@effect-threads/core"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import { NodeThreadPool } from "../src/index.ts"
import * as Api from "./fixtures/api.ts"
import { recordingTracer } from "./fixtures/recording-tracer.ts"
import { Spans, Traced } from "./fixtures/tracing-api.ts"
import { entry, GateSlot, makeSignal, onlyFailure, openGates, waitGatesStarted } from "./helpers.ts"

const range = (n: number): Array<number> => Array.from({ length: n }, (_, i) => i)

const idle = Effect.gen(function*() {
  for (let i = 0; i < 500; i++) {
    if ((yield* ThreadPool.statistics).tasksInFlight === 0) return
    yield* Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))
  }
  return yield* Effect.die(new Error("the pool still holds tasks"))
})

// Real threads on a loaded machine can take seconds to start: each test gets 30 s.
describe("Bulk calls on worker_threads", { timeout: 30_000 }, () => {
  it.live("100,000 elements through forEach and mapStream, every result in its place", () =>
    Effect.gen(function*() {
      const inputs = range(100_000).map((x) => ({ x, y: 1 }))
      const results = yield* ThreadPool.forEach(Api.Add, inputs)
      assert.strictEqual(results.length, 100_000)
      assert.isTrue(results.every((sum, i) => sum === i + 1))
      const streamed = yield* Stream.fromIterable(inputs).pipe(ThreadPool.mapStream(Api.Add), Stream.runCollect)
      assert.isTrue(streamed.length === 100_000 && streamed.every((sum, i) => sum === i + 1))
      yield* idle
    }).pipe(Effect.provide(NodeThreadPool.layer({ entry, minThreads: 2, maxThreads: 2 }))))

  it.live("each element's buffers are transferred, not copied, when the call says what to transfer", () =>
    Effect.gen(function*() {
      const buffers = range(50).map((i) => new ArrayBuffer(1_000 + i))
      const lengths = yield* ThreadPool.forEach(Api.ByteLength, buffers, { transfer: (buffer) => [buffer] })
      assert.deepStrictEqual(lengths, range(50).map((i) => 1_000 + i))
      // The sender's buffers are detached: they moved.
      assert.isTrue(buffers.every((buffer) => buffer.byteLength === 0))
    }).pipe(Effect.provide(NodeThreadPool.layer({ entry, minThreads: 2, maxThreads: 2 }))))

  it.live("mapStream transfers each element's buffers with its own batch, over one chunk of many buffers", () =>
    Effect.gen(function*() {
      // One upstream chunk of 200 buffers waits to be batched: the batches after the first carry their own buffers.
      const buffers = range(200).map((i) => new ArrayBuffer(1_000 + i))
      const lengths = yield* Stream.fromIterable(buffers).pipe(
        ThreadPool.mapStream(Api.ByteLength, { transfer: (buffer) => [buffer] }),
        Stream.runCollect
      )
      assert.deepStrictEqual(lengths, range(200).map((i) => 1_000 + i))
      assert.isTrue(buffers.every((buffer) => buffer.byteLength === 0))
      const fixed = range(100).map((i) => new ArrayBuffer(10 + i))
      const inBatches = yield* Stream.fromIterable(fixed).pipe(
        ThreadPool.mapStream(Api.ByteLength, { transfer: (buffer) => [buffer], batchSize: 7, ordered: false }),
        Stream.runCollect
      )
      assert.deepStrictEqual(inBatches.toSorted((a, b) => a - b), range(100).map((i) => 10 + i))
      yield* idle
    }).pipe(Effect.provide(NodeThreadPool.layer({ entry, minThreads: 2, maxThreads: 2 }))))

  // minThreads 0: the call's own thread is still starting (from the bundle) when its batches are posted
  it.live.each([1, 0])(
    "a batch whose post fails (an element the platform cannot clone) fails each of its elements with it (minThreads %i)",
    (minThreads) =>
      Effect.gen(function*() {
        // A detached buffer passes the pool's walk for values that cannot be cloned; the platform's clone refuses it.
        const detached = new ArrayBuffer(8)
        structuredClone(detached, { transfer: [detached] })
        const buffers = [1, 2, 3, 4, 5, 6].map((n) => n === 2 ? detached : new ArrayBuffer(n))
        const exits = yield* ThreadPool.forEach(Api.ByteLength, buffers, { mode: "exit", batchSize: 3 })
        // The README's table says so: every element of that batch, the cloneable ones too, fails with its error at $.
        const errors = exits.slice(0, 3).map((exit) => onlyFailure(exit) as ThreadError.InvalidPayload)
        for (const error of errors) {
          assert.instanceOf(error, ThreadError.InvalidPayload)
          assert.strictEqual(error.task, "ByteLength")
          assert.strictEqual(error.path, "$")
          assert.match(error.message, /cannot be sent to a thread: .*detached/)
        }
        // The other batch ran.
        assert.deepStrictEqual(exits.slice(3), [Exit.succeed(4), Exit.succeed(5), Exit.succeed(6)])
        yield* idle
      }).pipe(Effect.provide(NodeThreadPool.layer({ entry, minThreads, maxThreads: 1 })))
  )

  it.live("the next batch waits at the thread, not in the backlog, while the thread runs the one before it", () =>
    Effect.gen(function*() {
      const gates = makeSignal()
      const call = yield* Effect.forkChild(
        ThreadPool.forEach(Api.Gate, [gates.buffer, gates.buffer, gates.buffer], { batchSize: 1 })
      )
      yield* waitGatesStarted(gates, 1)
      // The first holds the thread; the second was sent ahead to it (two batches in flight, one per place).
      const stats = yield* ThreadPool.statistics
      assert.strictEqual(stats.tasksInFlight, 2)
      assert.strictEqual(stats.backloggedWorkCount, 0)
      assert.strictEqual(stats.busyWorkerCount, 1)
      yield* openGates(gates)
      const threads = yield* Fiber.join(call)
      assert.strictEqual(new Set(threads).size, 1)
      assert.strictEqual(gates.get(GateSlot.started), 3)
      yield* idle
    }).pipe(Effect.provide(NodeThreadPool.layer({ entry, minThreads: 1, maxThreads: 1 }))))

  it.live("a thread that exits in a batch: the batch sent ahead behind it had not started and runs on its replacement", () =>
    Effect.gen(function*() {
      // The one thread is up before the call: the second batch goes ahead to it, behind the first.
      yield* ThreadPool.forEach(Api.Add, [{ x: 1, y: 1 }])
      const exits = yield* ThreadPool.forEach(Api.Exit, [3, 3, 3, 3], { mode: "exit", batchSize: 2 })
      for (const exit of exits) {
        const error = onlyFailure(exit) as ThreadError.ThreadCrashed
        assert.instanceOf(error, ThreadError.ThreadCrashed)
        assert.strictEqual(error.exitCode, 3)
      }
      // The first batch ended its thread; the second ran once, on the replacement, and ended it too: two crashes,
      // not one (the second failed unstarted) nor three (run twice).
      assert.strictEqual((yield* ThreadPool.statistics).threadsCrashed, 2)
      yield* idle
    }).pipe(Effect.provide(NodeThreadPool.layer({ entry, minThreads: 1, maxThreads: 1 }))))

  it.live("process.exit in the middle of a batch: its elements fail with ThreadCrashed and the exit code", () =>
    Effect.gen(function*() {
      const exits = yield* ThreadPool.forEach(Api.Exit, [3, 3, 3], { mode: "exit", batchSize: 3 })
      for (const exit of exits) {
        assert.isTrue(Exit.isFailure(exit))
        const error = (exit as Exit.Failure<unknown, unknown>).cause.reasons
          .map((reason) => reason._tag === "Fail" ? reason.error : undefined)[0] as ThreadError.ThreadCrashed
        assert.instanceOf(error, ThreadError.ThreadCrashed)
        assert.strictEqual(error.exitCode, 3)
        assert.strictEqual(error.task, "Exit")
      }
      assert.deepStrictEqual(yield* ThreadPool.forEach(Api.Add, [{ x: 1, y: 2 }]), [3])
      const stats = yield* ThreadPool.statistics
      assert.strictEqual(stats.threadsCrashed, 1)
      yield* idle
    }).pipe(Effect.provide(NodeThreadPool.layer({ entry, minThreads: 1, maxThreads: 1 }))))

  it.live("a pipelined pool: batches are sent ahead, and every result comes back once, in order", () =>
    Effect.gen(function*() {
      const inputs = range(20_000).map((x) => ({ x, y: 2 }))
      const results = yield* ThreadPool.forEach(Api.Add, inputs, { concurrency: 16 })
      assert.isTrue(results.length === 20_000 && results.every((sum, i) => sum === i + 2))
      const unordered = yield* Stream.fromIterable(inputs).pipe(
        ThreadPool.mapStream(Api.Add, { ordered: false }),
        Stream.runCollect
      )
      assert.deepStrictEqual(unordered.toSorted((a, b) => a - b), results)
      yield* idle
    }).pipe(
      Effect.provide(NodeThreadPool.layer({ entry, minThreads: 2, maxThreads: 2, concurrentTasksPerThread: 8 }))
    ))

  it.live("tracing: one span for the call and one a batch, on both sides, none per element", () => {
    const main = recordingTracer()
    return Effect.gen(function*() {
      const doubled = yield* ThreadPool.forEach(Traced, range(1_000))
      assert.deepStrictEqual(doubled, range(1_000).map((n) => n * 2))
      const calls = main.recorded.filter((span) => span.name === "effect-threads.forEach Traced")
      assert.strictEqual(calls.length, 1)
      const batches = main.recorded.filter((span) => span.name === "effect-threads.task effect-threads/batch:Traced")
      assert.isAbove(batches.length, 0)
      assert.isBelow(batches.length, 100)
      for (const batch of batches) assert.strictEqual(batch.parent, calls[0]!.spanId)
      const thread = yield* ThreadPool.deferToThread(Spans, undefined)
      // The thread ran each batch under one span, a child of the batch's; no element had a span of its own.
      const work = thread.filter((span) =>
        span.name.startsWith("effect-threads.thread") && !span.name.endsWith("Spans")
      )
      assert.isTrue(work.every((span) => span.name === "effect-threads.thread effect-threads/batch:Traced"))
      assert.strictEqual(work.length, batches.length)
      const batchIds = new Set(batches.map((batch) => batch.spanId))
      assert.isTrue(work.every((span) => span.parent !== null && batchIds.has(span.parent)))
    }).pipe(
      Effect.provide(NodeThreadPool.layer({
        entry: new URL("./fixtures/traced.ts", import.meta.url),
        minThreads: 1,
        maxThreads: 1,
        tracing: true
      })),
      Effect.withTracer(main.tracer)
    )
  })
})
