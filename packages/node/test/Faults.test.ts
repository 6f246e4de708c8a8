/**
 * Threads that die and threads that cannot start, for real: a task that exits its thread, throws asynchronously or
 * runs out of its heap limit fails with `ThreadCrashed` and takes only itself down (the thread is replaced, the
 * other thread's work and the backlog complete); a thread that dies of any thrown value (an Effect error, `null`,
 * `undefined`, a symbol, a string, an object with no prototype, an object whose `toString` throws, a `Proxy` that
 * throws on every access) fails what it held with `ThreadCrashed`, or its start with `ThreadStartFailed`, saying what
 * it died of; a key whose thread died runs its next task on a new thread; an entry file that is missing, does not
 * parse, throws while loading or never serves fails with `ThreadStartFailed`, and the pool does not respawn it on
 * its own.
 */
import { ThreadError, ThreadPool } from "@effect-threads/core"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { pathToFileURL } from "node:url"
import type * as WorkerThreads from "node:worker_threads"
import { NodeThreadPool } from "../src/index.ts"
import * as Api from "./fixtures/api.ts"
import { DieOf, type Kind } from "./fixtures/dies-of-api.ts"
import {
  countingPlatform,
  entry,
  expectFailure,
  expectOnlyFailure,
  GateSlot,
  makeSignal,
  openGates,
  readLog,
  suiteOptions,
  waitGatesStarted,
  waitIdle,
  waitUntil
} from "./helpers.ts"

const missingEntry = new URL("./fixtures/does-not-exist.ts", import.meta.url)
const throwingEntry = new URL("./fixtures/throws-at-load.ts", import.meta.url)
const neverReadyEntry = new URL("./fixtures/never-ready.ts", import.meta.url)
const diesOf = new URL("./fixtures/dies-of.ts", import.meta.url)

/** An entry file that does not parse, written to a temporary directory (a fixture in the repository would break the type check and the formatter). */
const syntaxErrorEntry = Effect.acquireRelease(
  Effect.sync(() => {
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-threads-"))
    const file = Path.join(dir, "syntax-error.mjs")
    Fs.writeFileSync(file, "export const = ;\n")
    return { dir, url: pathToFileURL(file) }
  }),
  ({ dir }) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
).pipe(Effect.map(({ url }) => url))

/**
 * Runs `crash` on one of two threads while the other holds a `Gate`, with one more task backlogged behind them:
 * the crash fails its caller only, the backlog runs on the replacement thread, the gate's task completes, and the
 * pool ends idle with two threads.
 */
const crashOneThread = (
  crash: Effect.Effect<unknown, unknown, ThreadPool.Executor>,
  workerOptions?: Omit<WorkerThreads.WorkerOptions, "name">
) => {
  const platform = countingPlatform(entry, workerOptions)
  return Effect.gen(function*() {
    const pool = yield* ThreadPool.ThreadPool
    const gates = makeSignal()
    const log = makeSignal()
    const held = yield* Effect.forkChild(pool.deferToThread(Api.Gate, gates.buffer))
    yield* waitGatesStarted(gates, 1)
    const crashing = yield* Effect.forkChild(crash)
    const queued = yield* Effect.forkChild(pool.deferToThread(Api.Append, { log: log.buffer, value: 7 }))
    const exit = yield* Fiber.await(crashing)
    yield* Fiber.join(queued)
    assert.deepStrictEqual(readLog(log).values, [7])
    yield* openGates(gates)
    const gateThread = yield* Fiber.join(held)
    assert.notStrictEqual(readLog(log).threads[0], gateThread)
    assert.strictEqual(gates.get(GateSlot.interrupted), 0)
    yield* waitIdle(pool)
    const stats = yield* pool.statistics
    assert.strictEqual(stats.busyWorkerCount, 0)
    assert.strictEqual(stats.backloggedWorkCount, 0)
    assert.strictEqual(stats.tasksInFlight, 0)
    assert.strictEqual(stats.workerCount, 2)
    assert.strictEqual(stats.threadsStarted, 3)
    assert.strictEqual(stats.threadsCrashed, 1)
    // For real: three threads were spawned, the one that crashed has exited, and the pool still works.
    yield* waitUntil("the crashed thread exited", Effect.sync(() => platform.counts.exited === 1))
    assert.strictEqual(platform.counts.spawned, 3)
    assert.strictEqual(yield* pool.deferToThread(Api.Add, { x: 2, y: 3 }), 5)
    return expectOnlyFailure(exit)
  }).pipe(
    Effect.provide(ThreadPool.layer({ minThreads: 2, maxThreads: 2 }).pipe(Layer.provide(platform.layer)))
  )
}

describe("Faults", suiteOptions, () => {
  describe("a task that kills its thread fails with ThreadCrashed, and the thread is replaced", () => {
    it.live("process.exit(3): exitCode 3", () =>
      Effect.gen(function*() {
        const error = yield* crashOneThread(ThreadPool.deferToThread(Api.Exit, 3))
        assert.instanceOf(error, ThreadError.ThreadCrashed)
        const crashed = error as ThreadError.ThreadCrashed
        assert.strictEqual(crashed.task, "Exit")
        assert.strictEqual(crashed.exitCode, 3)
      }))

    it.live("an asynchronous throw: the message names the error", () =>
      Effect.gen(function*() {
        const error = yield* crashOneThread(ThreadPool.deferToThread(Api.AsyncThrow, "thrown from a timer"))
        assert.instanceOf(error, ThreadError.ThreadCrashed)
        const crashed = error as ThreadError.ThreadCrashed
        assert.strictEqual(crashed.task, "AsyncThrow")
        assert.include(crashed.message, "thrown from a timer")
      }))

    it.live("running out of the resourceLimits heap: the message names out-of-memory", () =>
      Effect.gen(function*() {
        const error = yield* crashOneThread(ThreadPool.deferToThread(Api.Hog, undefined), {
          resourceLimits: { maxOldGenerationSizeMb: 32 }
        })
        assert.instanceOf(error, ThreadError.ThreadCrashed)
        const crashed = error as ThreadError.ThreadCrashed
        assert.strictEqual(crashed.task, "Hog")
        assert.match(crashed.message, /out of memory|memory limit/i)
      }))

    it.live("with NodeThreadPool.layer too: the next task runs on a new thread", () =>
      Effect.gen(function*() {
        const pool = yield* ThreadPool.ThreadPool
        const first = yield* pool.deferToThread(Api.ThreadId, undefined)
        const error = yield* Effect.flip(pool.deferToThread(Api.Exit, 3))
        assert.instanceOf(error, ThreadError.ThreadCrashed)
        const next = yield* pool.deferToThread(Api.ThreadId, undefined)
        assert.notStrictEqual(next, first)
        yield* waitIdle(pool)
        const stats = yield* pool.statistics
        assert.strictEqual(stats.threadsStarted, 2)
        assert.strictEqual(stats.threadsCrashed, 1)
        assert.strictEqual(stats.workerCount, 1)
      }).pipe(Effect.provide(NodeThreadPool.layer({ entry, minThreads: 1, maxThreads: 1 }))))
  })

  describe("an entry that cannot start fails with ThreadStartFailed", () => {
    /** Builds a started pool of `minThreads` threads from `entryFile`: its layer must fail once, leaving no thread. */
    const layerFails = (entryFile: URL, options: ThreadPool.Options = {}) =>
      Effect.gen(function*() {
        const platform = countingPlatform(entryFile)
        const exit = yield* Effect.exit(
          Effect.scoped(
            Layer.build(ThreadPool.layer({ minThreads: 2, ...options }).pipe(Layer.provide(platform.layer)))
          )
        )
        const error = expectOnlyFailure(exit)
        assert.instanceOf(error, ThreadError.ThreadStartFailed)
        assert.isAtLeast(platform.counts.spawned, 1)
        yield* waitUntil("every thread exited", Effect.sync(() => platform.alive() === 0))
        return error as ThreadError.ThreadStartFailed
      })

    it.live("a missing entry file: the pool's layer fails once", () =>
      Effect.gen(function*() {
        const error = yield* layerFails(missingEntry)
        assert.include(error.message, "does-not-exist.ts")
      }))

    it.live("an entry that does not parse: the pool's layer fails once", () =>
      Effect.gen(function*() {
        const error = yield* layerFails(yield* syntaxErrorEntry)
        assert.include(error.message, "SyntaxError")
      }))

    it.live("an entry that throws while loading: the pool's layer fails once", () =>
      Effect.gen(function*() {
        const error = yield* layerFails(throwingEntry)
        assert.include(error.message, "the entry failed while loading")
      }))

    it.live("with minThreads 0, the first task fails, and the pool does not respawn until another task asks", () => {
      const platform = countingPlatform(throwingEntry)
      return Effect.gen(function*() {
        const pool = yield* ThreadPool.ThreadPool
        assert.strictEqual(platform.counts.spawned, 0)
        const error = yield* Effect.flip(pool.deferToThread(Api.Add, { x: 1, y: 1 }))
        assert.instanceOf(error, ThreadError.ThreadStartFailed)
        yield* waitUntil("the thread exited", Effect.sync(() => platform.counts.exited === 1))
        yield* waitIdle(pool)
        assert.strictEqual(platform.counts.spawned, 1)
        assert.strictEqual((yield* pool.statistics).threadsStarted, 1)
        // The next task asks again: one more spawn, one more failure.
        assert.instanceOf(
          yield* Effect.flip(pool.deferToThread(Api.Add, { x: 1, y: 1 })),
          ThreadError.ThreadStartFailed
        )
        yield* waitUntil("the second thread exited", Effect.sync(() => platform.counts.exited === 2))
        yield* waitIdle(pool)
        assert.strictEqual(platform.counts.spawned, 2)
        assert.strictEqual((yield* pool.statistics).threadsStarted, 2)
      }).pipe(Effect.provide(ThreadPool.layer({ minThreads: 0, maxThreads: 1 }).pipe(Layer.provide(platform.layer))))
    })

    it.live("with minThreads 0 and an entry that never serves, the task fails after the start timeout", () => {
      const platform = countingPlatform(neverReadyEntry)
      return Effect.gen(function*() {
        const pool = yield* ThreadPool.ThreadPool
        const error = yield* Effect.flip(pool.deferToThread(Api.Add, { x: 1, y: 1 }))
        assert.instanceOf(error, ThreadError.ThreadStartFailed)
        assert.include((error as ThreadError.ThreadStartFailed).message, "did not become ready")
        yield* waitIdle(pool)
        assert.strictEqual((yield* pool.statistics).threadsStarted, 1)
        // The thread that never became ready is terminated, not left running.
        yield* waitUntil("the thread exited", Effect.sync(() => platform.counts.exited === 1))
        assert.strictEqual(platform.counts.terminated, 1)
        assert.strictEqual(platform.counts.spawned, 1)
      }).pipe(
        Effect.provide(
          ThreadPool.layer({ minThreads: 0, maxThreads: 1, startTimeout: 200 }).pipe(Layer.provide(platform.layer))
        )
      )
    })
  })
})

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

describe("a thread that dies of any value", suiteOptions, () => {
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

describe("a key's next task after its thread left, on a default pool", suiteOptions, () => {
  it.live("the thread holding the key dies: the key's next task runs on a new thread", () =>
    Effect.gen(function*() {
      const pool = yield* ThreadPool.ThreadPool
      const dying = yield* Effect.forkChild(pool.deferToThread(Api.Exit, 3, { key: "k" }), { startImmediately: true })
      const next = yield* Effect.forkChild(pool.deferToThread(Api.Add, { x: 2, y: 3 }, { key: "k" }), {
        startImmediately: true
      })
      assert.instanceOf(expectFailure(yield* Fiber.await(dying)), ThreadError.ThreadCrashed)
      assert.strictEqual(yield* Fiber.join(next), 5)
      const stats = yield* pool.statistics
      assert.strictEqual(stats.threadsStarted, 2)
      assert.strictEqual(stats.tasksInFlight, 0)
    }).pipe(Effect.provide(NodeThreadPool.layer({ entry }))))
  // The thread holding the key recycled: the conformance suite's test, run on worker_threads (Conformance.test.ts)
  // and in Chromium.
})
