/**
 * Issue 19, on real threads: a thread that dies of any thrown value (an Effect error, `null`, `undefined`, a symbol,
 * a string, an object with no prototype, an object whose `toString` throws, a `Proxy` that throws on every access)
 * fails what it held with `ThreadCrashed`, or its start with `ThreadStartFailed`, saying what it died of; the pool's
 * exit listener never throws and nothing is left unsettled.
 */
import { ThreadError } from "@effect-threads/core"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import { NodeThreadPool } from "../src/index.ts"
import * as Api from "./fixtures/api.ts"
import { DieOf, type Kind } from "./fixtures/dies-of-api.ts"
import { Produce } from "./fixtures/produced-api.ts"
import {
  entry,
  expectFailure,
  makeSignal,
  openGates,
  readLog,
  suiteOptions,
  waitGatesStarted,
  waitIdle,
  waitStatistics,
  waitUntil
} from "./helpers.ts"

const diesOf = new URL("./fixtures/dies-of.ts", import.meta.url)

/** Each kind, with what the message says on Node (what is left of the value once Node carried it across). */
const kinds: ReadonlyArray<readonly [Kind, string]> = [
  ["tagged", "the disk is full"],
  ["null", ": null with code 1"],
  ["undefined", ": it exited with code 1"],
  ["symbol", "Symbol(gone)"],
  ["string", "out of luck"],
  ["nullPrototype", `{"code":7}`],
  ["throwingToString", "toString"],
  ["proxy", " with code 1"]
]

describe("a thread that dies of any value (issue 19)", suiteOptions, () => {
  for (const [kind, says] of kinds) {
    it.live(`a task whose thread dies of ${kind} fails with ThreadCrashed`, () =>
      Effect.gen(function*() {
        const pool = yield* NodeThreadPool.make({
          entry: diesOf,
          maxThreads: 1,
          workerOptions: { workerData: { kind, atStart: false } }
        })
        yield* pool.start
        const error = expectFailure(yield* Effect.exit(pool.deferToThread(DieOf, undefined)))
        assert.instanceOf(error, ThreadError.ThreadCrashed)
        const crashed = error as ThreadError.ThreadCrashed
        assert.match(crashed.message, /^thread \d+ died while running DieOf: /)
        assert.include(crashed.message, says)
        assert.strictEqual(crashed.exitCode, 1)
        const stats = yield* pool.statistics
        assert.strictEqual(stats.threadsCrashed, 1)
        assert.strictEqual(stats.tasksInFlight, 0)
      }).pipe(Effect.scoped))

    it.live(`a thread whose serve layer fails with ${kind} fails start with ThreadStartFailed`, () =>
      Effect.gen(function*() {
        const pool = yield* NodeThreadPool.make({
          entry: diesOf,
          minThreads: 1,
          maxThreads: 1,
          workerOptions: { workerData: { kind, atStart: true } }
        })
        const error = expectFailure(yield* Effect.exit(pool.start))
        assert.instanceOf(error, ThreadError.ThreadStartFailed)
        assert.match((error as ThreadError.ThreadStartFailed).message, /^thread \d+ could not start: /)
        assert.include((error as ThreadError.ThreadStartFailed).message, says)
      }).pipe(Effect.scoped))
  }
})

describe("a key's next task after its thread left, on a default pool (issue 19)", suiteOptions, () => {
  it.live("the thread holding the key dies: the key's next task runs on a new thread", () =>
    Effect.gen(function*() {
      const pool = yield* NodeThreadPool.make({ entry })
      yield* pool.start
      const dying = yield* Effect.forkChild(pool.deferToThread(Api.Exit, 3, { key: "k" }), { startImmediately: true })
      const next = yield* Effect.forkChild(pool.deferToThread(Api.Add, { x: 2, y: 3 }, { key: "k" }), {
        startImmediately: true
      })
      assert.instanceOf(expectFailure(yield* Fiber.await(dying)), ThreadError.ThreadCrashed)
      assert.strictEqual(yield* Fiber.join(next), 5)
      const stats = yield* pool.statistics
      assert.strictEqual(stats.threadsStarted, 2)
      assert.strictEqual(stats.tasksInFlight, 0)
    }).pipe(Effect.scoped))
  // The thread holding the key recycled: the conformance suite's test, run on worker_threads (Conformance.test.ts)
  // and in Chromium.
})

describe(
  "threads terminated for ignoring an interrupt, apart from threads that crashed (issue 19)",
  suiteOptions,
  () => {
    it.live("a spinning task's thread terminated after the grace period counts in threadsTerminated only", () =>
      Effect.gen(function*() {
        const pool = yield* NodeThreadPool.make({ entry, minThreads: 1, maxThreads: 1, interruptGracePeriod: 50 })
        yield* pool.start
        const signal = makeSignal()
        const spinning = yield* Effect.forkChild(
          pool.deferToThread(Api.SpinSignal, { signal: signal.buffer, ms: 60_000 })
        )
        yield* waitUntil("the loop runs", Effect.sync(() => signal.get(0) === 1))
        yield* Fiber.interrupt(spinning)
        yield* waitStatistics(pool, "the thread is replaced", (s) => s.threadsStarted === 2)
        const terminated = yield* pool.statistics
        assert.strictEqual(terminated.threadsTerminated, 1)
        assert.strictEqual(terminated.threadsCrashed, 0)
        assert.instanceOf(expectFailure(yield* Effect.exit(pool.deferToThread(Api.Exit, 3))), ThreadError.ThreadCrashed)
        const crashed = yield* pool.statistics
        assert.strictEqual(crashed.threadsTerminated, 1)
        assert.strictEqual(crashed.threadsCrashed, 1)
      }).pipe(Effect.scoped))
  }
)

const produced = new URL("./fixtures/produced.ts", import.meta.url)

describe("how far a thread's stream runs ahead of its consumer (issue 19)", suiteOptions, () => {
  const bufferSize = 16
  /** Takes `take` elements of a million, then counts what the thread's stream computed once it stopped. */
  const run = (take: number, chunk: number, rechunk: boolean) =>
    Effect.gen(function*() {
      const pool = yield* NodeThreadPool.make({ entry: produced, maxThreads: 1 })
      yield* pool.start
      const signal = makeSignal()
      const taken = yield* pool.stream(Produce, { count: 1_000_000, chunk, rechunk, signal: signal.buffer }, {
        bufferSize
      }).pipe(Stream.take(take), Stream.runCollect)
      assert.deepStrictEqual(taken, Array.from({ length: take }, (_, i) => i + 1))
      yield* waitIdle(pool)
      return signal.get(0)
    }).pipe(Effect.scoped)

  it.live("one element per pull: at most twice bufferSize ahead of what the consumer took", () =>
    Effect.gen(function*() {
      assert.isAtMost(yield* run(5, 1, false), 5 + 2 * bufferSize)
      assert.isAtMost(yield* run(100, 1, false), 100 + 2 * bufferSize)
    }))

  it.live("chunks of 64: at most twice bufferSize and one chunk ahead", () =>
    Effect.gen(function*() {
      assert.isAtMost(yield* run(5, 64, false), 5 + 2 * bufferSize + 64)
      assert.isAtMost(yield* run(300, 64, false), 300 + 2 * bufferSize + 64)
    }))

  it.live("the default chunks of Stream.range, with Stream.rechunk(1) before the costly step: bounded as one per pull", () =>
    Effect.gen(function*() {
      assert.isAtMost(yield* run(5, 0, true), 5 + 2 * bufferSize)
    }))

  it.live("the default chunks of Stream.range: one chunk of 4,096 is computed whole (as documented)", () =>
    Effect.gen(function*() {
      const computed = yield* run(5, 0, false)
      assert.isAtLeast(computed, 4_096)
      assert.isAtMost(computed, 5 + 2 * bufferSize + 4_096)
    }))
})

describe("priorities at the backlog's bound, on real threads (issue 19)", suiteOptions, () => {
  it.live("a caller waiting for room with priority 5 runs before a backlogged task of priority 0", () =>
    Effect.gen(function*() {
      const pool = yield* NodeThreadPool.make({ entry, maxThreads: 1, maxBacklog: 1 })
      yield* pool.start
      const gates = makeSignal()
      const log = makeSignal()
      const held = yield* Effect.forkChild(pool.deferToThread(Api.Gate, gates.buffer))
      yield* waitGatesStarted(gates, 1)
      const low = yield* Effect.forkChild(pool.deferToThread(Api.Append, { log: log.buffer, value: 0 }), {
        startImmediately: true
      })
      const high = yield* Effect.forkChild(
        pool.deferToThread(Api.Append, { log: log.buffer, value: 5 }, { priority: 5, whenBacklogFull: "wait" }),
        { startImmediately: true }
      )
      const full = yield* pool.statistics
      assert.strictEqual(full.backloggedWorkCount, 1)
      assert.strictEqual(full.waitingForRoom, 1)
      yield* openGates(gates)
      yield* Fiber.join(held)
      yield* Fiber.join(low)
      yield* Fiber.join(high)
      assert.deepStrictEqual(readLog(log).values, [5, 0])
    }).pipe(Effect.scoped))
})
