/**
 * Port of Twisted's `twisted._threads.test.test_threadworker.LockWorkerTests` (spec 4.D, tests 24-30), with Twisted's
 * `FakeLock`: acquiring it while held dies with `WouldDeadlock`, releasing it while not held dies with `ThreadError`.
 * Also tests spec 1.7's failure and concurrency rules: a defect ends the outermost `do`, releases the lock and drops
 * the re-entrant items not yet run; a second fiber waits for the whole re-entrant list of the first.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import { AlreadyQuit } from "../src/AlreadyQuit.ts"
import * as LockWorker from "../src/LockWorker.ts"
import * as Worker from "../src/Worker.ts"

/** If this were a real lock, it would deadlock: it was acquired twice. */
class WouldDeadlock extends Error {}

/** Python's `threading.ThreadError`: a lock released while not held. */
class ThreadError extends Error {}

/** Twisted's `FakeLock`, counting how often it is used. */
interface FakeLock extends LockWorker.Lock {
  readonly acquired: boolean
  readonly acquires: number
  readonly releases: number
}

const makeFakeLock = (): FakeLock => {
  let acquired = false
  let acquires = 0
  let releases = 0
  return {
    get acquired() {
      return acquired
    },
    get acquires() {
      return acquires
    },
    get releases() {
      return releases
    },
    acquire: Effect.suspend(() => {
      if (acquired) return Effect.die(new WouldDeadlock())
      acquired = true
      acquires += 1
      return Effect.void
    }),
    release: Effect.suspend(() => {
      if (!acquired) return Effect.die(new ThreadError())
      acquired = false
      releases += 1
      return Effect.void
    })
  }
}

/** A real lock (a one-permit semaphore) that counts how often it is acquired and released. */
const makeCountingLock = () => {
  const lock = LockWorker.makeLock()
  const counts = { acquires: 0, releases: 0 }
  const counting: LockWorker.Lock = {
    acquire: Effect.tap(lock.acquire, () => Effect.sync(() => void counts.acquires++)),
    release: Effect.tap(lock.release, () => Effect.sync(() => void counts.releases++))
  }
  return { lock: counting, counts }
}

const dies = <A, E>(exit: Exit.Exit<A, E>, defect: new(message?: string) => Error) => {
  assert.isTrue(Exit.isFailure(exit), "expected a defect")
  if (Exit.isFailure(exit)) assert.instanceOf(Cause.squash(exit.cause), defect)
}

class Boom extends Error {}

describe("LockWorkerTests", () => {
  it.effect("fakeDeadlock: acquiring a held FakeLock dies with WouldDeadlock", () =>
    Effect.gen(function*() {
      const lock = makeFakeLock()
      yield* lock.acquire
      dies(yield* Effect.exit(lock.acquire), WouldDeadlock)
      assert.isTrue(lock.acquired)
    }))

  it.effect("fakeDoubleRelease: releasing an unheld FakeLock dies with ThreadError", () =>
    Effect.gen(function*() {
      const lock = makeFakeLock()
      dies(yield* Effect.exit(lock.release), ThreadError)
      yield* lock.acquire
      assert.isUndefined(yield* lock.release)
      dies(yield* Effect.exit(lock.release), ThreadError)
      assert.isFalse(lock.acquired)
    }))

  it.effect("doExecutesImmediatelyWithLock: do runs the work before returning, with the lock held", () =>
    Effect.gen(function*() {
      const lock = makeFakeLock()
      const worker = LockWorker.makeUnsafe(lock)
      assert.isTrue(Worker.isExclusive(worker))
      const work = { done: false, acquired: false }
      yield* worker.do(Effect.sync(() => {
        work.done = true
        work.acquired = lock.acquired
      }))
      assert.isTrue(work.done)
      assert.isTrue(work.acquired)
      assert.isFalse(lock.acquired)
      assert.strictEqual(lock.acquires, 1)
      assert.strictEqual(lock.releases, 1)
    }))

  it.effect("doUnwindsReentrancy: a do from inside the work is postponed until the outer work is complete", () =>
    Effect.gen(function*() {
      const lock = makeFakeLock()
      const worker = LockWorker.makeUnsafe(lock)
      const levels: Array<number> = []
      const acquired: Array<boolean> = []
      let level = 0
      const work: Effect.Effect<void> = Effect.gen(function*() {
        level += 1
        levels.push(level)
        acquired.push(lock.acquired)
        if (levels.length < 2) yield* Effect.orDie(worker.do(work))
        level -= 1
      })
      // A double acquire would die with WouldDeadlock and fail this test.
      yield* worker.do(work)
      assert.deepStrictEqual(levels, [1, 1])
      assert.deepStrictEqual(acquired, [true, true])
      assert.strictEqual(lock.acquires, 1)
      assert.isFalse(lock.acquired)
    }))

  it.effect("quit: quit drops the lock; later do and quit fail with AlreadyQuit without touching it", () =>
    Effect.gen(function*() {
      const lock = makeFakeLock()
      const worker = LockWorker.makeUnsafe(lock)
      yield* worker.quit
      assert.instanceOf(yield* Effect.flip(worker.quit), AlreadyQuit)
      let ran = false
      assert.instanceOf(yield* Effect.flip(worker.do(Effect.sync(() => void (ran = true)))), AlreadyQuit)
      assert.isFalse(ran)
      // The worker no longer uses the lock (Twisted checks that it became garbage).
      assert.strictEqual(lock.acquires, 0)
      assert.strictEqual(lock.releases, 0)
    }))

  it.effect("quitWhileWorking: quit inside the work lets the work queued before it finish, then releases the lock", () =>
    Effect.gen(function*() {
      const lock = makeFakeLock()
      const worker = LockWorker.makeUnsafe(lock)
      const phase1 = { complete: false, laterDo: undefined as unknown }
      const phase2 = { complete: false, acquired: false }
      yield* worker.do(Effect.gen(function*() {
        yield* Effect.orDie(worker.do(Effect.sync(() => {
          phase2.complete = true
          phase2.acquired = lock.acquired
        })))
        yield* Effect.orDie(worker.quit)
        phase1.laterDo = yield* Effect.orDie(Effect.flip(worker.do(Effect.void)))
        phase1.complete = true
      }))
      assert.isTrue(phase1.complete)
      assert.instanceOf(phase1.laterDo, AlreadyQuit)
      assert.isTrue(phase2.complete)
      assert.isTrue(phase2.acquired)
      assert.isFalse(lock.acquired)
      // The lock is no longer used: later calls fail without touching it.
      assert.instanceOf(yield* Effect.flip(worker.do(Effect.void)), AlreadyQuit)
      assert.strictEqual(lock.acquires, 1)
      assert.strictEqual(lock.releases, 1)
    }))

  it.effect("quitWhileGettingLock: a quit between reading the lock and checking the flag makes do fail", () =>
    Effect.gen(function*() {
      const lock = makeFakeLock()
      const quitExits: Array<Exit.Exit<void, AlreadyQuit> | undefined> = []
      // The hook is synchronous, so the racing quit has to be run from inside it.
      const worker: Worker.ExclusiveWorker = LockWorker.makeUnsafe(lock, {
        onReadLock: () => void quitExits.push(Effect.runFork(worker.quit).pollUnsafe())
      })
      let ran = false
      assert.instanceOf(yield* Effect.flip(worker.do(Effect.sync(() => void (ran = true)))), AlreadyQuit)
      assert.isFalse(ran)
      assert.strictEqual(quitExits.length, 1)
      assert.isTrue(quitExits[0] !== undefined && Exit.isSuccess(quitExits[0]))
      assert.strictEqual(lock.acquires, 0)
    }))
})

describe("LockWorker (spec 1.7)", () => {
  it.effect("a defect ends the outermost do, releases the lock and drops the re-entrant items not yet run", () =>
    Effect.gen(function*() {
      const lock = makeFakeLock()
      const worker = LockWorker.makeUnsafe(lock)
      const boom = new Boom("boom")
      const done: Array<string> = []
      const exit = yield* Effect.exit(worker.do(Effect.gen(function*() {
        yield* Effect.orDie(worker.do(Effect.sync(() => void done.push("second"))))
        yield* Effect.orDie(worker.do(Effect.die(boom)))
        yield* Effect.orDie(worker.do(Effect.sync(() => void done.push("after the defect"))))
        done.push("first")
      })))
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) assert.strictEqual(Cause.squash(exit.cause), boom)
      assert.deepStrictEqual(done, ["first", "second"])
      assert.isFalse(lock.acquired)
      // Later calls work normally, and the dropped item never runs.
      yield* worker.do(Effect.sync(() => void done.push("later")))
      assert.deepStrictEqual(done, ["first", "second", "later"])
      assert.strictEqual(lock.acquires, 2)
      assert.strictEqual(lock.releases, 2)
    }))

  it.effect("a second fiber waits for the whole re-entrant list of the first", () =>
    Effect.gen(function*() {
      const { counts, lock } = makeCountingLock()
      const worker = LockWorker.makeUnsafe(lock)
      const gate = yield* Deferred.make<void>()
      const events: Array<string> = []
      const first = yield* Effect.forkChild(
        worker.do(Effect.gen(function*() {
          events.push("a1 start")
          yield* Effect.orDie(worker.do(Effect.sync(() => void events.push("a2"))))
          yield* Deferred.await(gate)
          events.push("a1 end")
        })),
        { startImmediately: true }
      )
      const second = yield* Effect.forkChild(worker.do(Effect.sync(() => void events.push("b"))), {
        startImmediately: true
      })
      yield* Effect.yieldNow
      assert.deepStrictEqual(events, ["a1 start"])
      assert.isUndefined(second.pollUnsafe())
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(first)
      yield* Fiber.join(second)
      assert.deepStrictEqual(events, ["a1 start", "a1 end", "a2", "b"])
      assert.strictEqual(counts.acquires, 2)
      assert.strictEqual(counts.releases, 2)
    }))

  it.effect("a do from another fiber forked inside the work waits for the lock instead of joining the list", () =>
    Effect.gen(function*() {
      const { counts, lock } = makeCountingLock()
      const worker = LockWorker.makeUnsafe(lock)
      const events: Array<string> = []
      let child: Fiber.Fiber<void, AlreadyQuit> | undefined
      yield* worker.do(Effect.gen(function*() {
        child = yield* Effect.forkDetach(worker.do(Effect.sync(() => void events.push("child"))), {
          startImmediately: true
        })
        yield* Effect.orDie(worker.do(Effect.sync(() => void events.push("re-entrant"))))
        yield* Effect.yieldNow
        events.push("outer")
      }))
      assert.deepStrictEqual(events, ["outer", "re-entrant"])
      assert.isDefined(child)
      if (child !== undefined) yield* Fiber.join(child)
      assert.deepStrictEqual(events, ["outer", "re-entrant", "child"])
      assert.strictEqual(counts.acquires, 2)
    }))

  it.effect("interrupting the caller releases the lock and drops the re-entrant items not yet run", () =>
    Effect.gen(function*() {
      const { counts, lock } = makeCountingLock()
      const worker = LockWorker.makeUnsafe(lock)
      const events: Array<string> = []
      const fiber = yield* Effect.forkChild(
        worker.do(Effect.gen(function*() {
          yield* Effect.orDie(worker.do(Effect.sync(() => void events.push("dropped"))))
          events.push("waiting")
          yield* Effect.never
        })),
        { startImmediately: true }
      )
      assert.deepStrictEqual(events, ["waiting"])
      yield* Fiber.interrupt(fiber)
      assert.strictEqual(counts.releases, 1)
      yield* worker.do(Effect.sync(() => void events.push("later")))
      assert.deepStrictEqual(events, ["waiting", "later"])
      assert.strictEqual(counts.acquires, 2)
      assert.strictEqual(counts.releases, 2)
    }))
})
