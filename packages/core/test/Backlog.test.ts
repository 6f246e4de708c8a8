/**
 * The backlog's features, over InProcessThreads: priorities (higher first, first in first out within one) and a
 * bounded backlog whose callers wait for room (interruptibly) or fail at once with `BacklogFull`, and priorities at
 * the backlog's bound (a caller waiting for room with a higher priority goes first). One thread is held
 * by a gated task so that everything else waits; the handlers run in this isolate, so they log their order here.
 */
import { InProcessThreads, Task, ThreadError, ThreadPool } from "@effect-threads/core"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { until } from "./helpers.ts"

const Gate = Task.make("Gate")
const Record = Task.make("Record", { payload: Schema.String, success: Schema.String })

let open: (() => void) | undefined
const ran: Array<string> = []
const handlers = [
  Task.implement(Gate, () =>
    Effect.callback<void>((resume) => {
      open = () => resume(Effect.void)
    })),
  Task.implement(Record, (name) => Effect.sync(() => (ran.push(name), name)))
]

const poolWith = (options: ThreadPool.Options) =>
  ThreadPool.layer({ minThreads: 1, maxThreads: 1, ...options }).pipe(
    Layer.provideMerge(InProcessThreads.layer(handlers))
  )

/** Holds the only thread with the gate; gives the gate's fiber. */
const holdThread = Effect.gen(function*() {
  open = undefined
  ran.length = 0
  const gate = yield* Effect.forkChild(ThreadPool.deferToThread(Gate, undefined), { startImmediately: true })
  yield* until("the gate holds the thread", Effect.sync(() => open !== undefined))
  return gate
})

const submit = (name: string, options?: ThreadPool.RunOptions) =>
  Effect.forkChild(ThreadPool.deferToThread(Record, name, options), { startImmediately: true })

describe("Backlog", () => {
  it.effect("priorities: higher first, first in first out within a priority", () =>
    Effect.gen(function*() {
      const gate = yield* holdThread
      const names = [["a", 0], ["b", 5], ["c", 1], ["d", 5], ["e", 0], ["f", -1]] as const
      const fibers = yield* Effect.forEach(names, ([name, priority]) => submit(name, { priority }))
      assert.strictEqual((yield* ThreadPool.statistics).backloggedWorkCount, 6)
      open!()
      yield* Fiber.join(gate)
      yield* Effect.forEach(fibers, Fiber.join)
      assert.deepStrictEqual(ran, ["b", "d", "c", "a", "e", "f"])
    }).pipe(Effect.provide(poolWith({}))))

  it.effect("a full backlog makes callers wait for room, in order; one that gives up never runs", () =>
    Effect.gen(function*() {
      const gate = yield* holdThread
      const fibers = yield* Effect.forEach(["a", "b", "c", "d", "e"], (name) => submit(name))
      let s = yield* ThreadPool.statistics
      assert.strictEqual(s.backloggedWorkCount, 2)
      assert.strictEqual(s.waitingForRoom, 3)
      yield* Fiber.interrupt(fibers[3]!)
      s = yield* ThreadPool.statistics
      assert.strictEqual(s.waitingForRoom, 2)
      assert.strictEqual(s.tasksInFlight, 5)
      open!()
      yield* Fiber.join(gate)
      const results = yield* Effect.forEach([0, 1, 2, 4], (i) => Fiber.join(fibers[i]!))
      assert.deepStrictEqual(results, ["a", "b", "c", "e"])
      assert.deepStrictEqual(ran, ["a", "b", "c", "e"])
      s = yield* ThreadPool.statistics
      assert.strictEqual(s.waitingForRoom, 0)
      assert.strictEqual(s.tasksInFlight, 0)
    }).pipe(Effect.provide(poolWith({ maxBacklog: 2 }))))

  it.effect("with whenBacklogFull \"fail\", a task past the bound fails at once with BacklogFull; a call may wait", () =>
    Effect.gen(function*() {
      const gate = yield* holdThread
      const kept = yield* Effect.forEach(["a", "b"], (name) => submit(name))
      const refused = yield* Effect.flip(ThreadPool.deferToThread(Record, "c"))
      assert.instanceOf(refused, ThreadError.BacklogFull)
      assert.strictEqual((refused as ThreadError.BacklogFull).limit, 2)
      assert.strictEqual((refused as ThreadError.BacklogFull).task, "Record")
      const patient = yield* submit("d", { whenBacklogFull: "wait" })
      assert.strictEqual((yield* ThreadPool.statistics).waitingForRoom, 1)
      open!()
      yield* Fiber.join(gate)
      assert.deepStrictEqual(yield* Effect.forEach(kept, Fiber.join), ["a", "b"])
      assert.strictEqual(yield* Fiber.join(patient), "d")
      assert.deepStrictEqual(ran, ["a", "b", "d"])
    }).pipe(Effect.provide(poolWith({ maxBacklog: 2, whenBacklogFull: "fail" }))))

  it.effect("closing the pool settles the callers waiting for room", () =>
    Effect.gen(function*() {
      const fibers = yield* Effect.scoped(Effect.gen(function*() {
        const pool = yield* ThreadPool.makeStarted({ minThreads: 1, maxThreads: 1, maxBacklog: 0 })
        open = undefined
        yield* Effect.forkDetach(pool.deferToThread(Gate, undefined), { startImmediately: true })
        yield* until("the gate holds the thread", Effect.sync(() => open !== undefined))
        const waiting = yield* Effect.forEach(
          ["x", "y"],
          (name) => Effect.forkDetach(pool.deferToThread(Record, name), { startImmediately: true })
        )
        assert.strictEqual((yield* pool.statistics).waitingForRoom, 2)
        return waiting
      }))
      for (const fiber of fibers) assert.isTrue(Exit.hasInterrupts(yield* Fiber.await(fiber)))
    }).pipe(Effect.provide(InProcessThreads.layer(handlers))))

  it.effect("maxBacklog must be a non-negative integer", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Effect.scoped(ThreadPool.make({ maxBacklog: -1 })))
      assert.instanceOf(error, ThreadPool.InvalidPoolSize)
    }).pipe(Effect.provide(InProcessThreads.layer(handlers))))
})

describe("priorities at the backlog's bound (InProcessThreads)", () => {
  /** Holds the one thread, fills the backlog with `low`, then a caller waits for room with `high`; frees the thread. */
  const order = (lowPriority: number, highPriority: number) =>
    Effect.gen(function*() {
      const gate = yield* holdThread
      const low = yield* submit("low", { priority: lowPriority })
      const high = yield* submit("high", { priority: highPriority, whenBacklogFull: "wait" })
      const before = yield* ThreadPool.statistics
      assert.strictEqual(before.backloggedWorkCount, 1)
      assert.strictEqual(before.waitingForRoom, 1)
      open!()
      yield* Fiber.join(gate)
      yield* Fiber.join(low)
      yield* Fiber.join(high)
      return [...ran]
    })

  it.effect("a caller waiting for room with a higher priority runs before a lower-priority backlogged task", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* order(0, 5), ["high", "low"])
    }).pipe(Effect.provide(poolWith({ maxBacklog: 1 }))))

  it.effect("with the same priority, the backlogged task keeps its place (first in, first out)", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* order(3, 3), ["low", "high"])
    }).pipe(Effect.provide(poolWith({ maxBacklog: 1 }))))
})
