/**
 * A catalogue of bad inputs, each met on real threads with a clear typed error within seconds: no hang (every call
 * is bounded), no crash of the process, and, where the pool was already running, the pool unaffected (the same
 * thread serves the next task, nothing crashed, nothing left in flight). The table of what the caller gets is in
 * `README.md` beside this file.
 */
import { ThreadError, ThreadPool } from "@effect-threads/core"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Scope from "effect/Scope"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { pathToFileURL } from "node:url"
import * as Api from "../fixtures/reliability-api.ts"
import { countingPlatform, entry, isIdle, onlyFailure, waitIdle, waitUntil } from "./support.ts"

const missingEntry = new URL("../fixtures/reliability-does-not-exist.ts", import.meta.url)
const throwingEntry = new URL("../fixtures/reliability-throws-at-load.ts", import.meta.url)
const neverReadyEntry = new URL("../fixtures/reliability-never-ready.ts", import.meta.url)

/** An entry file that does not parse, in a temporary directory (in the repository it would break the tooling). */
const syntaxErrorEntry = Effect.acquireRelease(
  Effect.sync(() => {
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-threads-reliability-"))
    const file = Path.join(dir, "syntax-error.mjs")
    Fs.writeFileSync(file, "export const = ;\n")
    return { dir, url: pathToFileURL(file) }
  }),
  ({ dir }) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
).pipe(Effect.map(({ url }) => url))

/** Every call here must end within this: a hang fails the test, it does not time it out. */
const bound = "10 seconds"
const within = <A, E, R>(what: string, effect: Effect.Effect<A, E, R>) =>
  Effect.timeoutOrElse(effect, {
    duration: bound,
    orElse: () => Effect.die(new Error(`${what} did not end within ${bound}`))
  })

/** The typed failure of `effect`, checking that it fails with exactly one. */
const failureOf = <A, E, R>(what: string, effect: Effect.Effect<A, E, R>) =>
  Effect.map(within(what, Effect.exit(effect)), (exit) => {
    const error = onlyFailure(exit)
    assert.isDefined(error, `${what}: ${Exit.isSuccess(exit) ? "succeeded" : String(exit.cause)}`)
    return error
  })

/** The thread that serves the next task (a `Hold` whose gate is already open answers at once with it). */
const threadOf = (pool: ThreadPool.ThreadPoolShape) => {
  const gate = new Int32Array(new SharedArrayBuffer(16))
  Atomics.store(gate, 1, 1)
  return within("a task", pool.deferToThread(Api.Hold, gate.buffer))
}

/**
 * Runs `bad` on a started one-thread pool, then checks that the pool is unaffected: idle, nothing crashed, the
 * same thread serves the next task.
 */
const onRunningPool = <A, E>(bad: (pool: ThreadPool.ThreadPoolShape) => Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const platform = countingPlatform(entry)
    const pool = yield* ThreadPool.makeStarted({ minThreads: 1, maxThreads: 1 }).pipe(
      Effect.provide(platform.layer),
      Effect.orDie
    )
    const before = yield* threadOf(pool)
    const result = yield* bad(pool)
    assert.strictEqual(yield* threadOf(pool), before, "the same thread serves the next task")
    assert.strictEqual(yield* within("a task", pool.deferToThread(Api.Twice, 20)), 41)
    yield* waitIdle(pool)
    const s = yield* pool.statistics
    assert.isTrue(isIdle(s), JSON.stringify(s))
    assert.strictEqual(s.threadsStarted, 1)
    assert.strictEqual(s.threadsCrashed, 0)
    assert.strictEqual(platform.counts.spawned, 1)
    return result
  })

/** An InvalidPayload at `path`, for task `task`. */
const assertInvalidPayload = (error: unknown, task: string, path: string) => {
  assert.instanceOf(error, ThreadError.InvalidPayload)
  const invalid = error as ThreadError.InvalidPayload
  assert.strictEqual(invalid.task, task)
  assert.strictEqual(invalid.path, path)
  return invalid
}

describe("Bad inputs", { timeout: 60_000 }, () => {
  describe("payloads that cannot be sent fail with InvalidPayload at submit, naming where", () => {
    const cases: ReadonlyArray<readonly [string, unknown, string]> = [
      ["a function", () => 1, "$"],
      ["a symbol", Symbol("s"), "$"],
      ["an object holding a function, deep", { a: { b: [1, () => 2] } }, "$.a.b[1]"],
      ["an object holding a symbol", { s: Symbol("s") }, "$.s"],
      ["a Map holding a function", { m: new Map([["k", () => 3]]) }, "$.m.get(k)"],
      ["a Promise", { p: Promise.resolve(1) }, "$.p"]
    ]
    for (const [name, payload, path] of cases) {
      it.live(
        name,
        () =>
          onRunningPool((pool) =>
            Effect.map(failureOf(name, pool.deferToThread(Api.Echo, payload)), (error) => {
              const invalid = assertInvalidPayload(error, "Echo", path)
              assert.include(invalid.message, "cannot be sent to a thread")
            })
          )
      )
    }

    it.live("a value the pre-check does not know (a WeakRef): InvalidPayload when the post fails", () =>
      onRunningPool((pool) =>
        Effect.map(failureOf("a WeakRef", pool.deferToThread(Api.Echo, { w: new WeakRef({}) })), (error) => {
          const invalid = assertInvalidPayload(error, "Echo", "$")
          assert.include(invalid.message, "cannot be sent to a thread")
        })
      ))

    // The pre-check reads the payload: a getter that throws is an InvalidPayload naming the error. Nothing is sent;
    // the pool is unaffected.
    it.live("an object whose getter throws: InvalidPayload at submit, nothing is sent", () =>
      onRunningPool((pool) =>
        Effect.gen(function*() {
          const hostile = {
            get x(): number {
              throw new Error("the getter blew up")
            }
          }
          const error = yield* failureOf("a hostile getter", pool.deferToThread(Api.Echo, hostile))
          assert.instanceOf(error, ThreadError.InvalidPayload)
          assert.include((error as ThreadError.InvalidPayload).message, "the getter blew up")
        })
      ))

    it.live("a class instance arrives as plain data: its prototype and methods stay behind", () =>
      onRunningPool((pool) =>
        Effect.gen(function*() {
          class Point {
            readonly x: number
            constructor(x: number) {
              this.x = x
            }
            norm(): number {
              return Math.abs(this.x)
            }
          }
          const back = yield* within("a class instance", pool.deferToThread(Api.Echo, new Point(-3)))
          assert.deepStrictEqual(back, { x: -3 })
          assert.notInstanceOf(back, Point)
        })
      ))

    it.live("a cyclic object is fine: it is cloned, cycle and all", () =>
      onRunningPool((pool) =>
        Effect.gen(function*() {
          const cyclic: { name: string; self?: unknown } = { name: "loop" }
          cyclic.self = cyclic
          const back = (yield* within("a cyclic echo", pool.deferToThread(Api.Echo, cyclic))) as typeof cyclic
          assert.strictEqual(back.name, "loop")
          assert.strictEqual(back.self, back)
        })
      ))
  })

  describe("payloads that fail their schema fail with InvalidPayload at submit, naming where", () => {
    const cases: ReadonlyArray<readonly [string, unknown, string]> = [
      ["a number below its minimum", { n: -1, tags: [] }, "$.n"],
      ["a fraction where an integer is due", { n: 1.5, tags: [] }, "$.n"],
      ["a wrong element in an array", { n: 1, tags: ["a", 2] }, "$.tags[1]"],
      ["a missing field", { n: 1 }, "$.tags"],
      ["not an object at all", "x", "$"]
    ]
    for (const [name, payload, path] of cases) {
      it.live(
        name,
        () =>
          onRunningPool((pool) =>
            Effect.map(failureOf(name, pool.deferToThread(Api.Strict, payload as never)), (error) => {
              const invalid = assertInvalidPayload(error, "Strict", path)
              assert.include(invalid.message, "does not match its schema")
            })
          )
      )
    }
  })

  describe("a 200 MB payload works", () => {
    const size = 200 * 1024 * 1024
    it.live("copied (structured clone)", () =>
      onRunningPool((pool) =>
        Effect.gen(function*() {
          const buffer = new ArrayBuffer(size)
          assert.strictEqual(yield* within("200 MB copied", pool.deferToThread(Api.ByteLength, buffer)), size)
          assert.strictEqual(buffer.byteLength, size, "a copy leaves the buffer here")
        })
      ))

    it.live("transferred", () =>
      onRunningPool((pool) =>
        Effect.gen(function*() {
          const buffer = new ArrayBuffer(size)
          assert.strictEqual(
            yield* within("200 MB transferred", pool.deferToThread(Api.ByteLength, buffer, { transfer: [buffer] })),
            size
          )
          assert.strictEqual(buffer.byteLength, 0, "a transfer detaches the buffer here")
        })
      ))
  })

  it.live("a task the thread does not implement fails with TaskNotImplemented", () =>
    onRunningPool((pool) =>
      Effect.map(failureOf("Unimplemented", pool.deferToThread(Api.Unimplemented, 1)), (error) => {
        assert.instanceOf(error, ThreadError.TaskNotImplemented)
        assert.strictEqual((error as ThreadError.TaskNotImplemented).task, "Unimplemented")
      })
    ))

  describe("an entry that cannot serve fails with ThreadStartFailed, and leaves no thread", () => {
    /** The started pool (one thread) fails to build; with no minimum, the first task fails instead. */
    const cannotStart = (entryFile: URL, options: ThreadPool.Options = {}) =>
      Effect.gen(function*() {
        const started = countingPlatform(entryFile)
        const atStart = yield* failureOf(
          "starting the pool",
          Effect.scoped(ThreadPool.makeStarted({ minThreads: 1, ...options }).pipe(Effect.provide(started.layer)))
        )
        assert.instanceOf(atStart, ThreadError.ThreadStartFailed)
        yield* waitUntil("the thread exited", Effect.sync(() => started.alive() === 0))
        const lazy = countingPlatform(entryFile)
        const atTask = yield* Effect.scoped(Effect.gen(function*() {
          const pool = yield* ThreadPool.makeStarted({ minThreads: 0, maxThreads: 1, ...options }).pipe(
            Effect.provide(lazy.layer),
            Effect.orDie
          )
          const error = yield* failureOf("a task", pool.deferToThread(Api.Twice, 1))
          yield* waitIdle(pool)
          return error
        }))
        assert.instanceOf(atTask, ThreadError.ThreadStartFailed)
        assert.strictEqual(lazy.counts.spawned, 1)
        yield* waitUntil("the thread exited", Effect.sync(() => lazy.alive() === 0))
        return atStart as ThreadError.ThreadStartFailed
      })

    it.live("a missing entry file", () =>
      Effect.map(cannotStart(missingEntry), (error) => assert.include(error.message, "reliability-does-not-exist.ts")))

    it.live("an entry with a syntax error", () =>
      Effect.gen(function*() {
        const error = yield* cannotStart(yield* syntaxErrorEntry)
        assert.include(error.message, "SyntaxError")
      }))

    it.live("an entry that throws while loading", () =>
      Effect.map(
        cannotStart(throwingEntry),
        (error) => assert.include(error.message, "the entry failed while loading")
      ))

    it.live("an entry that never answers, with a start timeout of 300 ms", () =>
      Effect.map(
        cannotStart(neverReadyEntry, { startTimeout: 300 }),
        (error) => assert.include(error.message, "did not become ready within 300ms")
      ))
  })

  describe("a currentLimit that is not a number of threads, or fails, gives InvalidLimit", () => {
    const cases: ReadonlyArray<readonly [string, Effect.Effect<number, unknown>, string]> = [
      ["NaN", Effect.succeed(NaN), "got NaN"],
      ["a negative number", Effect.succeed(-1), "got -1"],
      ["a fraction", Effect.succeed(1.5), "got 1.5"],
      ["a failure", Effect.fail(new Error("no limit today")), "currentLimit failed"],
      ["a defect", Effect.die(new Error("the limit died")), "currentLimit failed"]
    ]
    for (const [name, currentLimit, message] of cases) {
      it.live(`${name}: to the task that needed a thread, and to start with a minimum`, () =>
        Effect.gen(function*() {
          const platform = countingPlatform(entry)
          const atTask = yield* Effect.scoped(Effect.gen(function*() {
            const pool = yield* ThreadPool.makeStarted({ currentLimit }).pipe(
              Effect.provide(platform.layer),
              Effect.orDie
            )
            const error = yield* failureOf("a task", pool.deferToThread(Api.Twice, 1))
            yield* waitIdle(pool)
            return error
          }))
          assert.strictEqual((atTask as { _tag?: string })._tag, "InvalidLimit")
          assert.include((atTask as { message: string }).message, message)
          const atStart = yield* failureOf(
            "starting with a minimum",
            Effect.scoped(ThreadPool.makeStarted({ minThreads: 1, currentLimit }).pipe(Effect.provide(platform.layer)))
          )
          assert.strictEqual((atStart as { _tag?: string })._tag, "InvalidLimit")
          assert.strictEqual(platform.counts.spawned, 0, "no thread started")
        }))
    }

    it.live("a limit that turns NaN while the pool runs: its thread keeps serving, a new thread is refused", () =>
      Effect.gen(function*() {
        let limit = 1
        const platform = countingPlatform(entry)
        const pool = yield* ThreadPool.makeStarted({ currentLimit: Effect.sync(() => limit) }).pipe(
          Effect.provide(platform.layer),
          Effect.orDie
        )
        const thread = yield* threadOf(pool)
        limit = NaN
        // An idle thread takes the task: the limit is not read. (Right after a result, the thread may not be idle
        // yet: its completion reaches the coordinator a moment later, and a task then would read the limit.)
        yield* waitIdle(pool)
        assert.strictEqual(yield* threadOf(pool), thread)
        yield* waitIdle(pool)
        // With that thread held, the next task needs a new one: the limit is read, and refused.
        const gate = new Int32Array(new SharedArrayBuffer(16))
        const held = yield* Effect.forkChild(pool.deferToThread(Api.Hold, gate.buffer))
        yield* waitUntil("the thread is held", Effect.sync(() => Atomics.load(gate, 0) === 1))
        const error = yield* failureOf("a second task", pool.deferToThread(Api.Twice, 1))
        assert.strictEqual((error as { _tag?: string })._tag, "InvalidLimit")
        Atomics.store(gate, 1, 1)
        assert.strictEqual(yield* within("the held task", Fiber.join(held)), thread)
        yield* waitIdle(pool)
        const s = yield* pool.statistics
        assert.isTrue(isIdle(s), JSON.stringify(s))
        assert.strictEqual(s.threadsStarted, 1)
        assert.strictEqual(platform.counts.spawned, 1)
      }))
  })

  describe("sizes out of range fail with InvalidPoolSize", () => {
    const cases: ReadonlyArray<readonly [string, ThreadPool.Options, string]> = [
      ["minThreads > maxThreads", { minThreads: 3, maxThreads: 2 }, "greater than maxThreads"],
      ["a negative minThreads", { minThreads: -1, maxThreads: 2 }, "minThreads must be a non-negative integer"],
      ["a fractional minThreads", { minThreads: 0.5, maxThreads: 2 }, "minThreads must be a non-negative integer"],
      ["a NaN maxThreads", { maxThreads: NaN }, "maxThreads must be a non-negative integer"],
      ["a negative maxThreads", { maxThreads: -2 }, "maxThreads must be a non-negative integer"],
      ["concurrentTasksPerThread 0", { concurrentTasksPerThread: 0 }, "concurrentTasksPerThread must be"],
      ["a negative concurrentTasksPerThread", { concurrentTasksPerThread: -1 }, "concurrentTasksPerThread must be"],
      ["a fractional concurrentTasksPerThread", { concurrentTasksPerThread: 1.5 }, "concurrentTasksPerThread must be"]
    ]
    for (const [name, options, message] of cases) {
      it.live(name, () =>
        Effect.gen(function*() {
          const platform = countingPlatform(entry)
          const error = yield* failureOf(
            name,
            Effect.scoped(ThreadPool.make(options).pipe(Effect.provide(platform.layer)))
          )
          assert.instanceOf(error, ThreadPool.InvalidPoolSize)
          assert.include((error as ThreadPool.InvalidPoolSize).message, message)
          assert.strictEqual(platform.counts.spawned, 0)
        }))
    }

    it.live("adjustPoolsize to minThreads > maxThreads on a running pool: refused, the size unchanged", () =>
      onRunningPool((pool) =>
        Effect.gen(function*() {
          const error = yield* failureOf("adjustPoolsize", pool.adjustPoolsize({ minThreads: 5, maxThreads: 2 }))
          assert.instanceOf(error, ThreadPool.InvalidPoolSize)
          assert.deepStrictEqual(yield* pool.size, { minThreads: 1, maxThreads: 1 })
        })
      ))
  })

  describe("durations out of range are rejected with InvalidPoolSize, and no thread starts", () => {
    for (
      const [label, options] of [
        ["a negative keep-alive in adaptive", { adaptive: { keepAlive: -1000 } }],
        ["a negative startTimeout", { minThreads: 1, startTimeout: -1 }],
        ["a negative interruptGracePeriod", { interruptGracePeriod: -5 }],
        ["a duration that does not parse", { startTimeout: "soon" as never }]
      ] as const
    ) {
      it.live(label, () =>
        Effect.gen(function*() {
          const platform = countingPlatform(entry)
          const error = yield* failureOf(
            "making the pool",
            Effect.scoped(ThreadPool.makeStarted(options).pipe(Effect.provide(platform.layer)))
          )
          assert.instanceOf(error, ThreadPool.InvalidPoolSize)
          assert.include((error as ThreadPool.InvalidPoolSize).message, "non-negative duration")
          assert.strictEqual(platform.counts.spawned, 0)
        }))
    }
  })

  it.live("none of the above left a thread behind in a pool closed with its scope", () =>
    Effect.gen(function*() {
      const platform = countingPlatform(entry)
      const scope = yield* Scope.make()
      const pool = yield* ThreadPool.makeStarted({ minThreads: 2, maxThreads: 2 }).pipe(
        Effect.provide(platform.layer),
        Scope.provide(scope),
        Effect.orDie
      )
      yield* failureOf("a function", pool.deferToThread(Api.Echo, () => 1))
      yield* failureOf("a bad schema", pool.deferToThread(Api.Strict, { n: -1, tags: [] }))
      yield* failureOf("not implemented", pool.deferToThread(Api.Unimplemented, 1))
      yield* Scope.close(scope, Exit.void)
      assert.strictEqual(platform.alive(), 0)
      assert.strictEqual(platform.counts.spawned, 2)
    }))
})
