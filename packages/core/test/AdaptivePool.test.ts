/**
 * The adaptive policy on `ThreadPool` itself (spec 5.1), over `InProcessThreads` with the TestClock: Twisted ticket
 * 5298's deadlock under a hard cap, completed by the adaptive pool; creation paced by the `pacing` schedule up to the
 * ceiling; idle threads released after the keep-alive, a few per look, down to the minimum. A task that waits holds
 * its thread, as a blocked thread would. Time moves only when a test says so; messages are waited for turn by turn.
 * (`Adaptive.test.ts` tests the same policy on `TeamPool`, the port.)
 */
import { InProcessThreads, Task, ThreadPool } from "@effect-threads/core"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import { TestClock } from "effect/testing"
import { turn, until } from "./helpers.ts"

/** Runs a `Child` task on the same pool and waits for it, holding its thread meanwhile. */
const Parent = Task.make("Parent", { payload: Schema.String, success: Schema.String })
const Child = Task.make("Child", { payload: Schema.String, success: Schema.String })
/** Ends when the test opens the gate (at once once it is open). */
const Gated = Task.make("Gated", { payload: Schema.Number, success: Schema.Number })

/** One test's platform: its handlers reach its pool (in-process threads share the isolate) and its gate. */
const makeWorld = () => {
  const world = {
    pool: undefined as ThreadPool.ThreadPoolShape | undefined,
    opened: false,
    gate: [] as Array<() => void>,
    open: () => {
      world.opened = true
      for (const resume of world.gate.splice(0)) resume()
    }
  }
  const handlers = [
    Task.implement(
      Parent,
      (name) => Effect.suspend(() => Effect.orDie(world.pool!.deferToThread(Child, name))).pipe(Effect.as(name))
    ),
    Task.implement(Child, (name) => Effect.succeed(name)),
    Task.implement(Gated, (n) =>
      Effect.callback<number>((resume) => {
        if (world.opened) return resume(Effect.succeed(n))
        world.gate.push(() => resume(Effect.succeed(n)))
      }))
  ]
  const layer = (options: ThreadPool.Options) =>
    ThreadPool.layer(options).pipe(Layer.provideMerge(InProcessThreads.layer(handlers)))
  return { world, layer }
}

/** [idle, busy, backlogged] */
const shape = Effect.map(
  ThreadPool.statistics,
  (s) => [s.idleWorkerCount, s.busyWorkerCount, s.backloggedWorkCount] as const
)

const shapeIs = (expected: readonly [number, number, number]) =>
  until(
    `the pool at [idle, busy, backlog] = [${expected.join(", ")}]`,
    Effect.map(shape, (s) => s[0] === expected[0] && s[1] === expected[1] && s[2] === expected[2])
  )

/** Several turns of the event loop: whatever the pool and its threads would do without time passing, done. */
const settle = Effect.gen(function*() {
  for (let i = 0; i < 20; i++) yield* turn
})

/** Ticket 5298: parents "a" then "b", each running a subtask on the same pool and waiting for it. */
const waitingOnEachOther = (done: Array<string>) =>
  Effect.forEach(["a", "b"], (name) =>
    Effect.forkChild(
      Effect.tap(ThreadPool.deferToThread(Parent, name), () => Effect.sync(() => done.push(name))),
      { startImmediately: true }
    ))

describe("ThreadPool's adaptive policy over InProcessThreads", () => {
  it.effect("ticket 5298: under a hard cap, tasks waiting for subtasks deadlock the pool", () => {
    const { layer, world } = makeWorld()
    return Effect.gen(function*() {
      world.pool = yield* ThreadPool.ThreadPool
      const done: Array<string> = []
      yield* waitingOnEachOther(done)
      // Both threads hold a parent; both subtasks wait in the backlog...
      yield* shapeIs([0, 2, 2])
      // ...for good: no time or turn frees a thread.
      yield* TestClock.adjust("1 hour")
      yield* settle
      assert.deepStrictEqual(yield* shape, [0, 2, 2])
      assert.deepStrictEqual(done, [])
      assert.strictEqual((yield* ThreadPool.statistics).threadsStarted, 2)
    }).pipe(Effect.provide(layer({ maxThreads: 2 })))
  })

  it.effect("ticket 5298: the adaptive pool completes it, one new thread per step of pacing", () => {
    const { layer, world } = makeWorld()
    return Effect.gen(function*() {
      world.pool = yield* ThreadPool.ThreadPool
      const done: Array<string> = []
      const parents = yield* waitingOnEachOther(done)
      // The first thread came at once (the token) and holds "a"; "b" and a's subtask wait for the token.
      yield* shapeIs([0, 1, 2])
      yield* settle
      assert.deepStrictEqual(yield* shape, [0, 1, 2])
      yield* TestClock.adjust("99 millis")
      yield* settle
      assert.deepStrictEqual(yield* shape, [0, 1, 2])
      // The token is back: one more thread, which takes the oldest backlog, "b", which waits too.
      yield* TestClock.adjust("1 millis")
      yield* shapeIs([0, 2, 2])
      assert.deepStrictEqual(done, [])
      // A third thread runs a's subtask: "a" finishes, its thread takes b's subtask, "b" finishes.
      yield* TestClock.adjust("100 millis")
      assert.deepStrictEqual(yield* Fiber.joinAll(parents), ["a", "b"])
      assert.deepStrictEqual(done, ["a", "b"])
      yield* shapeIs([3, 0, 0])
      assert.strictEqual((yield* ThreadPool.statistics).threadsStarted, 3)
    }).pipe(Effect.provide(layer({ adaptive: { pacing: Schedule.spaced("100 millis") } })))
  })

  it.effect("creation above the minimum is paced: one thread per step of the schedule, up to the ceiling", () => {
    const { layer, world } = makeWorld()
    return Effect.gen(function*() {
      const tasks = yield* Effect.forEach(
        Array.from({ length: 10 }, (_, i) => i),
        (i) => Effect.forkChild(ThreadPool.deferToThread(Gated, i), { startImmediately: true })
      )
      // The minimum thread is free of pacing; the second took the token.
      yield* shapeIs([0, 2, 8])
      yield* TestClock.adjust("999 millis")
      yield* settle
      assert.deepStrictEqual(yield* shape, [0, 2, 8])
      yield* TestClock.adjust("1 millis")
      yield* shapeIs([0, 3, 7])
      yield* TestClock.adjust("1 second")
      yield* shapeIs([0, 4, 6])
      // The ceiling holds.
      yield* TestClock.adjust("10 seconds")
      yield* settle
      assert.deepStrictEqual(yield* shape, [0, 4, 6])
      assert.strictEqual((yield* ThreadPool.statistics).threadsStarted, 4)
      // The gate opens: the four threads run the other six.
      world.open()
      assert.deepStrictEqual(yield* Fiber.joinAll(tasks), Array.from({ length: 10 }, (_, i) => i))
      yield* shapeIs([4, 0, 0])
    }).pipe(
      Effect.provide(layer({ minThreads: 1, maxThreads: 4, adaptive: { pacing: Schedule.spaced("1 second") } }))
    )
  })

  it.effect("idle threads are released after the keep-alive, at most releaseAtMost per look, down to the minimum", () => {
    const { layer, world } = makeWorld()
    return Effect.gen(function*() {
      const tasks = yield* Effect.forEach(
        Array.from({ length: 6 }, (_, i) => i),
        (i) => Effect.forkChild(ThreadPool.deferToThread(Gated, i), { startImmediately: true })
      )
      yield* shapeIs([0, 2, 4])
      for (let threads = 3; threads <= 6; threads++) {
        yield* TestClock.adjust("10 millis")
        yield* shapeIs([0, threads, 6 - threads])
      }
      world.open()
      yield* Fiber.joinAll(tasks)
      yield* shapeIs([6, 0, 0])
      // The threads became idle at 40 ms; the looks at 1 s ... 5 s find them idle for less than the keep-alive.
      yield* TestClock.adjust("4960 millis")
      yield* settle
      assert.deepStrictEqual(yield* shape, [6, 0, 0])
      // From the look at 6 s on, two per look, never below the minimum.
      yield* TestClock.adjust("1 second")
      yield* shapeIs([4, 0, 0])
      yield* TestClock.adjust("1 second")
      yield* shapeIs([2, 0, 0])
      yield* TestClock.adjust("1 second")
      yield* shapeIs([1, 0, 0])
      yield* TestClock.adjust("1 minute")
      yield* settle
      assert.deepStrictEqual(yield* shape, [1, 0, 0])
      const control = yield* InProcessThreads.Control
      yield* until("the released threads to end", Effect.sync(() => control.alive() === 1))
    }).pipe(
      Effect.provide(layer({
        minThreads: 1,
        adaptive: {
          pacing: Schedule.spaced("10 millis"),
          keepAlive: "5 seconds",
          release: Schedule.spaced("1 second"),
          releaseAtMost: 2
        }
      }))
    )
  })

  it.effect("a thread that takes work again is not released: its keep-alive starts over", () => {
    const { layer } = makeWorld()
    return Effect.gen(function*() {
      assert.strictEqual(yield* ThreadPool.deferToThread(Child, "x"), "x")
      yield* shapeIs([1, 0, 0])
      yield* TestClock.adjust("4 seconds")
      assert.strictEqual(yield* ThreadPool.deferToThread(Child, "y"), "y")
      yield* TestClock.adjust("4 seconds")
      yield* settle
      assert.deepStrictEqual(yield* shape, [1, 0, 0])
      yield* TestClock.adjust("1 second")
      yield* shapeIs([0, 0, 0])
      // Work after the release gets a new thread.
      assert.strictEqual(yield* ThreadPool.deferToThread(Child, "z"), "z")
      assert.strictEqual((yield* ThreadPool.statistics).threadsStarted, 2)
    }).pipe(
      Effect.provide(
        layer({ adaptive: { keepAlive: "5 seconds", release: Schedule.spaced("1 second"), releaseAtMost: 10 } })
      )
    )
  })
})
