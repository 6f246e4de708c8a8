/**
 * Port of Twisted's `twisted._threads.test.test_threadworker.ThreadWorkerTests` (spec 4.D, tests 22-23), with a fake
 * `startThread` that records that a thread started and, through its scope finalizer, that it was released. Also
 * tests the choices ThreadWorker.ts documents: quit drains queued work then releases the thread, closing the scope
 * releases it at once, and a defect in one item is logged while the next item still runs.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Logger from "effect/Logger"
import * as Scope from "effect/Scope"
import { AlreadyQuit } from "../src/AlreadyQuit.ts"
import * as ThreadWorker from "../src/ThreadWorker.ts"
import * as Worker from "../src/Worker.ts"

/** Twisted's `FakeThread`: records that it was started, and here also that it was released. */
interface FakeThreadState {
  readonly id: number
  started: boolean
  released: boolean
}

/** The service through which work reaches its (fake) thread. */
class FakeThread extends Context.Service<FakeThread, FakeThreadState>()("test/ThreadWorker/FakeThread") {}

/** Twisted's `startThread` fixture: makes and starts a fake thread, released when its scope closes. */
const makeFakeThreads = () => {
  const threads: Array<FakeThreadState> = []
  const startThread: ThreadWorker.StartThread<FakeThread> = Effect.gen(function*() {
    const thread: FakeThreadState = { id: threads.length + 1, started: false, released: false }
    threads.push(thread)
    thread.started = true
    yield* Effect.addFinalizer(() => Effect.sync(() => void (thread.released = true)))
    return Context.make(FakeThread, thread)
  })
  return { threads, startThread }
}

/** Lets the worker's fiber run until it waits for more work. */
const settle = Effect.gen(function*() {
  for (let i = 0; i < 10; i++) yield* Effect.yieldNow
})

class Boom extends Error {}

class CannotStart extends Data.TaggedError("CannotStart")<{}> {}

describe("ThreadWorkerTests", () => {
  it.effect("startsThreadAndPerformsWork: make starts one thread, and the thread's loop runs the work", () =>
    Effect.gen(function*() {
      const { startThread, threads } = makeFakeThreads()
      const worker = yield* ThreadWorker.make(startThread)
      assert.isTrue(Worker.isExclusive(worker))
      assert.strictEqual(threads.length, 1)
      assert.isTrue(threads[0]!.started)
      const ranOn: Array<number> = []
      yield* worker.do(Effect.gen(function*() {
        ranOn.push((yield* FakeThread).id)
      }))
      // `do` only queues the work: it runs once the worker's fiber runs.
      assert.deepStrictEqual(ranOn, [])
      yield* settle
      assert.deepStrictEqual(ranOn, [1])
      // The loop keeps pulling from its queue (Twisted's FakeQueueEmpty): the thread is still held.
      assert.isFalse(threads[0]!.released)
      assert.strictEqual(threads.length, 1)
    }))

  it.effect("quitPreventsFutureCalls: after quit, quit and do fail with AlreadyQuit", () =>
    Effect.gen(function*() {
      const { startThread } = makeFakeThreads()
      const worker = yield* ThreadWorker.make(startThread)
      yield* worker.quit
      assert.instanceOf(yield* Effect.flip(worker.quit), AlreadyQuit)
      assert.instanceOf(yield* Effect.flip(worker.do(Effect.void)), AlreadyQuit)
    }))
})

describe("ThreadWorker", () => {
  it.effect("quit lets the work queued before it finish in order, then releases the thread", () =>
    Effect.gen(function*() {
      const { startThread, threads } = makeFakeThreads()
      const worker = yield* ThreadWorker.make(startThread)
      const done: Array<string> = []
      yield* worker.do(Effect.sync(() => void done.push("a")))
      yield* worker.do(Effect.sync(() => void done.push("b")))
      yield* worker.quit
      assert.deepStrictEqual(done, [])
      assert.isFalse(threads[0]!.released)
      yield* settle
      assert.deepStrictEqual(done, ["a", "b"])
      assert.isTrue(threads[0]!.released)
    }))

  it.effect("closing the scope interrupts running work and releases the thread at once", () =>
    Effect.gen(function*() {
      const { startThread, threads } = makeFakeThreads()
      const scope = yield* Scope.make()
      const worker = yield* Scope.provide(scope)(ThreadWorker.make(startThread))
      const started = yield* Deferred.make<void>()
      let interrupted = false
      let laterRan = false
      yield* worker.do(
        Deferred.succeed(started, undefined).pipe(
          Effect.andThen(Effect.never),
          Effect.onInterrupt(() => Effect.sync(() => void (interrupted = true)))
        )
      )
      yield* worker.do(Effect.sync(() => void (laterRan = true)))
      yield* Deferred.await(started)
      assert.isFalse(threads[0]!.released)
      yield* Scope.close(scope, Exit.void)
      assert.isTrue(threads[0]!.released)
      assert.isTrue(interrupted)
      yield* settle
      assert.isFalse(laterRan)
    }))

  it.effect("a defect in one item is logged and the next item still runs", () => {
    const logged: Array<Cause.Cause<unknown>> = []
    const collector = Logger.make((options) => {
      if (options.logLevel === "Error") logged.push(options.cause)
    })
    return Effect.gen(function*() {
      const { startThread, threads } = makeFakeThreads()
      const worker = yield* ThreadWorker.make(startThread)
      const boom = new Boom("boom")
      let ran = 0
      yield* worker.do(Effect.die(boom))
      yield* worker.do(Effect.sync(() => void ran++))
      yield* settle
      assert.strictEqual(ran, 1)
      assert.strictEqual(logged.length, 1)
      assert.strictEqual(Cause.squash(logged[0]!), boom)
      assert.isFalse(threads[0]!.released)
      // The worker still accepts and runs work.
      yield* worker.do(Effect.sync(() => void ran++))
      yield* settle
      assert.strictEqual(ran, 2)
    }).pipe(Effect.provide(Logger.layer([collector])))
  })

  it.effect("work items never overlap: the next item starts only when the current one has finished", () =>
    Effect.gen(function*() {
      const { startThread } = makeFakeThreads()
      const worker = yield* ThreadWorker.make(startThread)
      const gate = yield* Deferred.make<void>()
      const events: Array<string> = []
      yield* worker.do(Effect.gen(function*() {
        events.push("first start")
        yield* Deferred.await(gate)
        events.push("first end")
      }))
      yield* worker.do(Effect.sync(() => void events.push("second")))
      yield* settle
      assert.deepStrictEqual(events, ["first start"])
      yield* Deferred.succeed(gate, undefined)
      yield* settle
      assert.deepStrictEqual(events, ["first start", "first end", "second"])
    }))

  it.effect("a failure of startThread is the failure of make, and no worker is made", () =>
    Effect.gen(function*() {
      const startThread: ThreadWorker.StartThread<FakeThread, CannotStart> = Effect.fail(new CannotStart())
      const error = yield* Effect.flip(ThreadWorker.make(startThread))
      assert.instanceOf(error, CannotStart)
    }))
})
