/**
 * Keys and broadcasts over InProcessThreads: the tasks of one key run on one thread, in order, one at a time; keys
 * spread; a key whose thread dies moves to another; a key's next task after its thread died or was recycled gets a
 * new thread, on a default pool; a broadcast runs once on every thread. Each in-process thread counts what ran on
 * it, in this isolate.
 */
import { InProcessThreads, Task, ThreadError, ThreadPool, ThreadRunner } from "@effect-threads/core"
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { failureOf, until } from "./helpers.ts"

/** Which thread ran it (each in-process thread's runner is told its number by a layer), and when it started. */
const Where = Task.make("Where", { payload: Schema.String, success: Schema.Number })
const Gate = Task.make("Gate")

class ThreadNumber extends Context.Service<ThreadNumber, { readonly n: number }>()("test/ThreadNumber") {}
let threads = 0
const log: Array<readonly [string, number]> = []
/** Tasks of each key running now: a key's tasks must never overlap. */
const running = new Map<string, number>()
let overlapped = false
let open: Array<() => void> = []

const handlers: ReadonlyArray<Task.AnyHandler<ThreadNumber | ThreadRunner.CurrentRunner>> = [
  Task.implement(Where, (name) =>
    Effect.gen(function*() {
      const { n } = yield* ThreadNumber
      const key = name.split("-")[0]!
      const now = running.get(key) ?? 0
      if (now > 0) overlapped = true
      running.set(key, now + 1)
      log.push([name, n])
      yield* Effect.yieldNow
      running.set(key, (running.get(key) ?? 1) - 1)
      return n
    })),
  Task.implement(Gate, () =>
    Effect.callback<void>((resume) => {
      open.push(() => resume(Effect.void))
    }))
]

const numbered = Layer.sync(ThreadNumber)(() => ({ n: ++threads }))

const reset = Effect.sync(() => {
  threads = 0
  log.length = 0
  running.clear()
  overlapped = false
  open = []
})

const poolWith = (options: ThreadPool.Options) =>
  ThreadPool.layer(options).pipe(Layer.provideMerge(InProcessThreads.layer(handlers, { layer: numbered })))

describe("Keys and broadcasts", () => {
  it.effect("the tasks of one key run on one thread, in order, one at a time; keys spread", () =>
    Effect.gen(function*() {
      const tasks = Array.from({ length: 30 }, (_, i) => [`k${i % 3}-${i}`, `key${i % 3}`] as const)
      const where = yield* Effect.forEach(tasks, ([name, key]) => ThreadPool.deferToThread(Where, name, { key }), {
        concurrency: "unbounded"
      })
      for (const key of [0, 1, 2]) {
        const ran = log.filter(([name]) => name.startsWith(`k${key}-`))
        assert.strictEqual(new Set(ran.map(([, n]) => n)).size, 1, `key ${key} ran on one thread`)
        assert.deepStrictEqual(ran.map(([name]) => Number(name.split("-")[1])), ran.map((_, i) => key + 3 * i))
      }
      assert.isFalse(overlapped)
      assert.isAbove(new Set(where).size, 1, "the keys spread over threads")
      assert.strictEqual((yield* ThreadPool.statistics).tasksInFlight, 0)
    }).pipe(Effect.provide(poolWith({ minThreads: 3, maxThreads: 3 })), Effect.ensuring(reset)))

  it.effect("a key waits for its thread even when another is idle", () =>
    Effect.gen(function*() {
      const first = yield* ThreadPool.deferToThread(Where, "a-1", { key: "a" })
      const gate = yield* Effect.forkChild(ThreadPool.deferToThread(Gate, undefined, { key: "a" }), {
        startImmediately: true
      })
      yield* until("the key's thread is held", Effect.sync(() => open.length === 1))
      const second = yield* Effect.forkChild(ThreadPool.deferToThread(Where, "a-2", { key: "a" }), {
        startImmediately: true
      })
      const other = yield* ThreadPool.deferToThread(Where, "b-1")
      assert.notStrictEqual(other, first, "another task used the other thread")
      assert.isUndefined(second.pollUnsafe(), "the key's next task waits for the one before it")
      open[0]!()
      yield* Fiber.join(gate)
      assert.strictEqual(yield* Fiber.join(second), first)
    }).pipe(Effect.provide(poolWith({ minThreads: 2, maxThreads: 2 })), Effect.ensuring(reset)))

  it.effect("a key whose thread dies moves to another thread", () =>
    Effect.gen(function*() {
      const control = yield* InProcessThreads.Control
      const before = yield* ThreadPool.deferToThread(Where, "a-1", { key: "a" })
      control.kill(before)
      // The pool sees the exit and keeps its minimum: the dead thread is replaced, and the key must move.
      yield* until("the thread is replaced", Effect.map(ThreadPool.statistics, (s) => s.threadsStarted === 3))
      const after = yield* ThreadPool.deferToThread(Where, "a-2", { key: "a" })
      assert.notStrictEqual(after, before)
    }).pipe(Effect.provide(poolWith({ minThreads: 2, maxThreads: 2 })), Effect.ensuring(reset)))

  it.effect("a broadcast runs once on every thread and gives one Exit per thread", () =>
    Effect.gen(function*() {
      const exits = yield* ThreadPool.broadcast(Where, "all")
      assert.strictEqual(exits.length, 3)
      const ran = exits.map((exit) => (Exit.isSuccess(exit) ? exit.value : -1)).sort()
      assert.deepStrictEqual(ran, [1, 2, 3])
      assert.strictEqual(log.filter(([name]) => name === "all").length, 3)
    }).pipe(Effect.provide(poolWith({ minThreads: 3, maxThreads: 3 })), Effect.ensuring(reset)))

  it.effect("a broadcast waits for busy threads, and a thread that dies first gives ThreadCrashed", () =>
    Effect.gen(function*() {
      const control = yield* InProcessThreads.Control
      const held = yield* Effect.forEach(
        [1, 2],
        () => Effect.forkChild(ThreadPool.deferToThread(Gate, undefined), { startImmediately: true })
      )
      yield* until("both threads are held", Effect.sync(() => open.length === 2))
      const all = yield* Effect.forkChild(ThreadPool.broadcast(Where, "all"), { startImmediately: true })
      assert.strictEqual((yield* ThreadPool.statistics).backloggedWorkCount, 2)
      control.kill(control.live()[0]!)
      for (const release of open) release()
      const exits = yield* Fiber.join(all)
      assert.strictEqual(exits.length, 2)
      const failures = exits.filter(Exit.isFailure)
      assert.strictEqual(failures.length, 1)
      yield* Effect.forEach(held, Fiber.await)
      const failure = failures[0]!
      assert.instanceOf(Exit.isFailure(failure) ? Cause.squash(failure.cause) : undefined, ThreadError.ThreadCrashed)
    }).pipe(Effect.provide(poolWith({ minThreads: 2, maxThreads: 2 })), Effect.ensuring(reset)))
})

const Square = Task.make("Square", { payload: Schema.Number, success: Schema.Number })
const Crash = Task.make("Crash")
const Held = Task.make("Held", { payload: Schema.Number, success: Schema.Number })
const opened = new Map<number, () => void>()
const keyHandlers = [
  Task.implement(Square, (n) => Effect.succeed(n * n)),
  Task.implement(Crash, () => Effect.never),
  Task.implement(Held, (n) =>
    Effect.callback<number>((resume) => {
      opened.set(n, () => resume(Effect.succeed(n)))
    }))
]

/** A default pool (minThreads 0) over in-process threads, where `Crash` kills its thread. */
const keyPool = (options: ThreadPool.Options) =>
  ThreadPool.layer(options).pipe(
    Layer.provideMerge(
      InProcessThreads.layer(keyHandlers, { faults: () => ({ _tag: "DiesOnTask", task: "Crash" }) })
    )
  )

describe("a key's next task after its thread left, on a default pool (InProcessThreads, TestClock)", () => {
  it.effect("the thread holding the key dies: the key's next task gets a new thread and runs", () =>
    Effect.gen(function*() {
      const crashing = yield* Effect.forkChild(ThreadPool.deferToThread(Crash, undefined, { key: "k" }), {
        startImmediately: true
      })
      const next = yield* Effect.forkChild(ThreadPool.deferToThread(Square, 3, { key: "k" }), {
        startImmediately: true
      })
      const crashed = failureOf(yield* Fiber.await(crashing))
      assert.instanceOf(crashed, ThreadError.ThreadCrashed)
      yield* until("the key's next task settles", Effect.sync(() => next.pollUnsafe() !== undefined))
      assert.strictEqual(yield* Fiber.join(next), 9)
      const stats = yield* ThreadPool.statistics
      assert.strictEqual(stats.threadsStarted, 2)
      assert.strictEqual(stats.tasksInFlight, 0)
    }).pipe(Effect.provide(keyPool({}))))

  it.effect("the thread holding the key is recycled: the key's next task gets a new thread and runs", () =>
    Effect.gen(function*() {
      opened.clear()
      const first = yield* Effect.forkChild(ThreadPool.deferToThread(Held, 1, { key: "k" }), {
        startImmediately: true
      })
      const next = yield* Effect.forkChild(ThreadPool.deferToThread(Square, 4, { key: "k" }), {
        startImmediately: true
      })
      yield* until("the first task runs", Effect.sync(() => opened.has(1)))
      opened.get(1)!()
      assert.strictEqual(yield* Fiber.join(first), 1)
      yield* until("the key's next task settles", Effect.sync(() => next.pollUnsafe() !== undefined))
      assert.strictEqual(yield* Fiber.join(next), 16)
      const stats = yield* ThreadPool.statistics
      assert.strictEqual(stats.threadsRecycled, 2)
      assert.strictEqual(stats.tasksInFlight, 0)
    }).pipe(Effect.provide(keyPool({ recycle: { afterTasks: 1 } }))))
})
