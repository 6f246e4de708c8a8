/**
 * Port of Twisted's `twisted._threads.test.test_team.TeamTests` (spec 4.C, tests 9-21), with Twisted's fixture: a
 * memory-worker coordinator, a `createWorker` that makes memory workers (each wrapped so its work runs with a
 * "worker" context, like Twisted's `ContextualWorker`), and `coordinate` / `performAllOutstandingWork` helpers.
 * Also tests the creation-failure path that Team.ts documents (a `createWorker` failing with a typed error).
 */
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import { AlreadyQuit } from "../src/AlreadyQuit.ts"
import * as LockWorker from "../src/LockWorker.ts"
import * as MemoryWorker from "../src/MemoryWorker.ts"
import * as Team from "../src/Team.ts"
import * as Worker from "../src/Worker.ts"

/** Twisted's `twisted.python.context` key "worker": which worker runs the current work. */
const CurrentWorker = Context.Reference<string | number | undefined>("test/Team/CurrentWorker", {
  defaultValue: () => undefined
})

/** Twisted's `ContextualWorker`: passes work on to the real worker, to be run with the given context. */
const contextual = (real: Worker.Worker, ctx: string | number): Worker.Worker =>
  Worker.make({ do: (work) => real.do(Effect.provideService(work, CurrentWorker, ctx)), quit: real.quit })

class ZeroDivisionError extends Error {}

interface TeamFixture {
  readonly team: Team.Team
  /** The coordinator, wrapped with the context `worker: "coordinator"`. */
  readonly coordinator: Worker.Worker
  readonly coordinateOnce: Effect.Effect<boolean>
  readonly workerPerformers: Array<Effect.Effect<boolean>>
  readonly allWorkersEver: Array<Worker.Worker>
  readonly allUnquitWorkers: Array<Worker.Worker>
  readonly activePerformers: Array<Effect.Effect<boolean>>
  /** While it returns true, `createWorker` gives `None`. */
  noMoreWorkers: () => boolean
  /** The causes given to `logException`. */
  readonly failures: Array<Cause.Cause<unknown>>
  /** Performs all work scheduled on the coordinator; whether any ran. */
  readonly coordinate: Effect.Effect<boolean>
  /** Performs all work on the coordinator and the workers until nothing is left. */
  readonly performAllOutstandingWork: Effect.Effect<void>
}

const remove = <A>(list: Array<A>, item: A): void => {
  const index = list.indexOf(item)
  if (index >= 0) list.splice(index, 1)
}

/** Twisted's `TeamTests.setUp`. */
const makeFixture = (options?: {
  readonly afterQuitSet?: ((fixture: TeamFixture) => Effect.Effect<void>) | undefined
  readonly capacity?: number | undefined
}): TeamFixture => {
  const coordinatorMemory = MemoryWorker.makeUnsafe()
  const workerPerformers: Array<Effect.Effect<boolean>> = []
  const allWorkersEver: Array<Worker.Worker> = []
  const allUnquitWorkers: Array<Worker.Worker> = []
  const activePerformers: Array<Effect.Effect<boolean>> = []
  const failures: Array<Cause.Cause<unknown>> = []
  const createWorker: Effect.Effect<Option.Option<Worker.Worker>> = Effect.sync(() => {
    if (fixture.noMoreWorkers()) return Option.none()
    const { perform, worker } = MemoryWorker.makeUnsafe()
    workerPerformers.push(perform)
    activePerformers.push(perform)
    const real = contextual(worker, workerPerformers.length)
    const cw: Worker.Worker = Worker.make({
      do: real.do,
      quit: Effect.andThen(
        real.quit,
        Effect.sync(() => {
          remove(allUnquitWorkers, cw)
          remove(activePerformers, perform)
        })
      )
    })
    allWorkersEver.push(cw)
    allUnquitWorkers.push(cw)
    return Option.some(cw)
  })
  const afterQuitSet = options?.afterQuitSet
  const team = Team.makeUnsafe({
    coordinator: coordinatorMemory.worker,
    createWorker,
    logException: (cause) => Effect.sync(() => void failures.push(cause)),
    afterQuitSet: afterQuitSet === undefined ? undefined : Effect.suspend(() => afterQuitSet(fixture)),
    capacity: options?.capacity
  })
  const coordinateOnce = coordinatorMemory.perform
  const coordinate: Effect.Effect<boolean> = Effect.gen(function*() {
    let did = false
    while (yield* coordinateOnce) did = true
    return did
  })
  const performAllOutstandingWork: Effect.Effect<void> = Effect.gen(function*() {
    let continuing = true
    while (continuing) {
      continuing = yield* coordinate
      for (const performer of workerPerformers) {
        if (activePerformers.includes(performer)) yield* performer
      }
      if (!continuing) continuing = yield* coordinate
    }
  })
  const fixture: TeamFixture = {
    team,
    coordinator: Worker.makeExclusive({
      do: contextual(coordinatorMemory.worker, "coordinator").do,
      quit: coordinatorMemory.worker.quit
    }),
    coordinateOnce,
    workerPerformers,
    allWorkersEver,
    allUnquitWorkers,
    activePerformers,
    noMoreWorkers: () => false,
    failures,
    coordinate,
    performAllOutstandingWork
  }
  return fixture
}

describe("TeamTests", () => {
  it.effect("doDoesWorkInWorker: do runs the work in a worker made by createWorker", () =>
    Effect.gen(function*() {
      const f = makeFixture()
      const who: Array<string | number | undefined> = []
      yield* f.team.do(Effect.gen(function*() {
        who.push(yield* CurrentWorker)
      }))
      yield* f.coordinate
      assert.strictEqual((yield* f.team.statistics).busyWorkerCount, 1)
      assert.deepStrictEqual(who, [])
      yield* f.performAllOutstandingWork
      assert.deepStrictEqual(who, [1])
      assert.strictEqual((yield* f.team.statistics).busyWorkerCount, 0)
    }))

  it.effect("initialStatistics: a new team has no idle, busy or backlogged work", () =>
    Effect.gen(function*() {
      const f = makeFixture()
      const stats = yield* f.team.statistics
      assert.deepStrictEqual(stats, { idleWorkerCount: 0, busyWorkerCount: 0, backloggedWorkCount: 0 })
    }))

  it.effect("growCreatesIdleWorkers: grow increases the number of idle workers", () =>
    Effect.gen(function*() {
      const f = makeFixture()
      yield* f.team.grow(5)
      assert.strictEqual(f.workerPerformers.length, 0)
      yield* f.performAllOutstandingWork
      assert.strictEqual(f.workerPerformers.length, 5)
      assert.strictEqual((yield* f.team.statistics).idleWorkerCount, 5)
    }))

  it.effect("growCreateLimit: grow stops creating workers once createWorker gives None", () =>
    Effect.gen(function*() {
      const f = makeFixture()
      f.noMoreWorkers = () => f.allWorkersEver.length >= 3
      yield* f.team.grow(5)
      yield* f.performAllOutstandingWork
      assert.strictEqual(f.allWorkersEver.length, 3)
      assert.strictEqual((yield* f.team.statistics).idleWorkerCount, 3)
    }))

  it.effect("shrinkQuitsWorkers: shrink quits the given number of workers", () =>
    Effect.gen(function*() {
      const f = makeFixture()
      yield* f.team.grow(5)
      yield* f.performAllOutstandingWork
      yield* f.team.shrink(3)
      yield* f.performAllOutstandingWork
      assert.strictEqual(f.allUnquitWorkers.length, 2)
      assert.strictEqual((yield* f.team.statistics).idleWorkerCount, 2)
    }))

  it.effect("shrinkToZero: shrink with no argument quits every worker, once the coordinator runs", () =>
    Effect.gen(function*() {
      const f = makeFixture()
      yield* f.team.grow(10)
      yield* f.performAllOutstandingWork
      assert.strictEqual(f.allUnquitWorkers.length, 10)
      yield* f.team.shrink()
      assert.strictEqual(f.allUnquitWorkers.length, 10)
      yield* f.performAllOutstandingWork
      assert.strictEqual(f.allUnquitWorkers.length, 0)
    }))

  it.effect("moreWorkWhenNoWorkersAvailable: work is backlogged when no worker is available, and run later", () =>
    Effect.gen(function*() {
      const f = makeFixture()
      yield* f.team.grow(3)
      yield* f.coordinate
      let times = 0
      const something = Effect.sync(() => void times++)
      assert.strictEqual((yield* f.team.statistics).idleWorkerCount, 3)
      for (let i = 0; i < 3; i++) yield* f.team.do(something)
      // Make progress on the coordinator but do not complete the work yet.
      yield* f.coordinate
      assert.strictEqual((yield* f.team.statistics).idleWorkerCount, 0)
      assert.strictEqual(times, 0)
      f.noMoreWorkers = () => true
      yield* f.team.do(something)
      yield* f.coordinate
      assert.strictEqual((yield* f.team.statistics).idleWorkerCount, 0)
      assert.strictEqual((yield* f.team.statistics).backloggedWorkCount, 1)
      yield* f.performAllOutstandingWork
      assert.strictEqual((yield* f.team.statistics).backloggedWorkCount, 0)
      assert.strictEqual(times, 4)
    }))

  it.effect("exceptionInTask: a defect in a task goes to logException exactly once, with its cause", () =>
    Effect.gen(function*() {
      const f = makeFixture()
      yield* f.team.do(Effect.sync(() => {
        throw new ZeroDivisionError("division by zero")
      }))
      yield* f.performAllOutstandingWork
      assert.strictEqual(f.failures.length, 1)
      assert.instanceOf(Cause.squash(f.failures[0]!), ZeroDivisionError)
      // The worker went back to idle: the failure did not leak the worker.
      assert.deepStrictEqual(yield* f.team.statistics, {
        idleWorkerCount: 1,
        busyWorkerCount: 0,
        backloggedWorkCount: 0
      })
    }))

  it.effect("quit: after quit, quit and do fail with AlreadyQuit at once", () =>
    Effect.gen(function*() {
      const f = makeFixture()
      yield* f.team.quit
      assert.instanceOf(yield* Effect.flip(f.team.quit), AlreadyQuit)
      assert.instanceOf(yield* Effect.flip(f.team.do(Effect.void)), AlreadyQuit)
      assert.isTrue(yield* f.team.isQuit)
    }))

  it.effect("quitQuits: quit quits every idle worker and the coordinator", () =>
    Effect.gen(function*() {
      const f = makeFixture()
      for (let i = 0; i < 10; i++) yield* f.team.do(Effect.void)
      yield* f.performAllOutstandingWork
      assert.isAbove(f.allUnquitWorkers.length, 0)
      yield* f.team.quit
      yield* f.performAllOutstandingWork
      assert.strictEqual(f.allUnquitWorkers.length, 0)
      assert.instanceOf(yield* Effect.flip(f.coordinator.quit), AlreadyQuit)
    }))

  it.effect("quitQuitsLaterWhenBusy: quit quits busy workers once they have finished their work", () =>
    Effect.gen(function*() {
      const f = makeFixture()
      yield* f.team.grow(10)
      for (let i = 0; i < 5; i++) yield* f.team.do(Effect.void)
      yield* f.coordinate
      assert.deepStrictEqual(yield* f.team.statistics, {
        idleWorkerCount: 5,
        busyWorkerCount: 5,
        backloggedWorkCount: 0
      })
      yield* f.team.quit
      yield* f.coordinate
      assert.strictEqual(f.allUnquitWorkers.length, 5)
      yield* f.performAllOutstandingWork
      assert.strictEqual(f.allUnquitWorkers.length, 0)
      assert.instanceOf(yield* Effect.flip(f.coordinator.quit), AlreadyQuit)
    }))

  it.effect("quitConcurrentWithWorkHappening: work done between setting the quit flag and finishing is fine", () =>
    Effect.gen(function*() {
      let ranInWindow = 0
      let inWindow = false
      const f = makeFixture({
        afterQuitSet: (f) =>
          Effect.gen(function*() {
            inWindow = true
            yield* f.performAllOutstandingWork
            inWindow = false
          })
      })
      yield* f.team.do(Effect.sync(() => {
        if (inWindow) ranInWindow++
      }))
      yield* f.team.quit
      assert.strictEqual(ranInWindow, 1)
      assert.instanceOf(yield* Effect.flip(f.team.quit), AlreadyQuit)
      assert.instanceOf(yield* Effect.flip(f.team.do(Effect.void)), AlreadyQuit)
      // The finishing step still runs on the coordinator, and quits everything exactly once.
      yield* f.performAllOutstandingWork
      assert.strictEqual(f.allWorkersEver.length, 1)
      assert.strictEqual(f.allUnquitWorkers.length, 0)
      assert.instanceOf(yield* Effect.flip(f.coordinator.quit), AlreadyQuit)
      assert.strictEqual(f.failures.length, 0)
    }))

  it.effect("shrinkWhenBusy: shrink waits for busy workers to finish, then quits them", () =>
    Effect.gen(function*() {
      const f = makeFixture()
      for (let i = 0; i < 10; i++) yield* f.team.do(Effect.void)
      yield* f.coordinate
      assert.strictEqual(f.allUnquitWorkers.length, 10)
      assert.strictEqual((yield* f.team.statistics).busyWorkerCount, 10)
      yield* f.team.shrink(7)
      yield* f.coordinate
      assert.strictEqual(f.allUnquitWorkers.length, 10)
      yield* f.performAllOutstandingWork
      assert.strictEqual(f.allUnquitWorkers.length, 3)
      assert.strictEqual((yield* f.team.statistics).idleWorkerCount, 3)
    }))
})

describe("Team (spec 1.8)", () => {
  it.effect("shrink with no argument also quits the busy workers, as they finish", () =>
    Effect.gen(function*() {
      const f = makeFixture()
      yield* f.team.grow(2)
      yield* f.coordinate
      for (let i = 0; i < 5; i++) yield* f.team.do(Effect.void)
      yield* f.coordinate
      assert.deepStrictEqual(yield* f.team.statistics, {
        idleWorkerCount: 0,
        busyWorkerCount: 5,
        backloggedWorkCount: 0
      })
      yield* f.team.shrink()
      yield* f.coordinate
      assert.strictEqual(f.allUnquitWorkers.length, 5)
      yield* f.performAllOutstandingWork
      assert.strictEqual(f.allUnquitWorkers.length, 0)
      // The team itself is not quit: it can grow again.
      yield* f.team.grow(1)
      yield* f.coordinate
      assert.strictEqual(f.allUnquitWorkers.length, 1)
    }))

  it.effect("the shrink debt persists: workers grown later are quit at once until it is paid", () =>
    Effect.gen(function*() {
      const f = makeFixture()
      yield* f.team.grow(2)
      yield* f.team.shrink(10)
      yield* f.team.grow(3)
      yield* f.performAllOutstandingWork
      assert.strictEqual(f.allWorkersEver.length, 5)
      assert.strictEqual(f.allUnquitWorkers.length, 0)
      // 10 - 2 - 3 = 5 still owed: the next 5 workers go too, the 6th stays.
      yield* f.team.grow(6)
      yield* f.performAllOutstandingWork
      assert.strictEqual(f.allUnquitWorkers.length, 1)
      assert.strictEqual((yield* f.team.statistics).idleWorkerCount, 1)
    }))

  it.effect("after quit, the backlog still drains through the workers that exist", () =>
    Effect.gen(function*() {
      const f = makeFixture()
      f.noMoreWorkers = () => f.allWorkersEver.length >= 1
      let times = 0
      for (let i = 0; i < 4; i++) yield* f.team.do(Effect.sync(() => void times++))
      yield* f.coordinate
      assert.deepStrictEqual(yield* f.team.statistics, {
        idleWorkerCount: 0,
        busyWorkerCount: 1,
        backloggedWorkCount: 3
      })
      yield* f.team.quit
      yield* f.performAllOutstandingWork
      assert.strictEqual(times, 4)
      assert.strictEqual(f.allUnquitWorkers.length, 0)
      assert.instanceOf(yield* Effect.flip(f.coordinator.quit), AlreadyQuit)
    }))

  it.effect("a backlog with no worker at quit is dropped, and the statistics keep reporting it", () =>
    Effect.gen(function*() {
      const f = makeFixture()
      f.noMoreWorkers = () => true
      let times = 0
      for (let i = 0; i < 3; i++) yield* f.team.do(Effect.sync(() => void times++))
      yield* f.team.quit
      yield* f.performAllOutstandingWork
      assert.strictEqual(times, 0)
      assert.strictEqual((yield* f.team.statistics).backloggedWorkCount, 3)
      assert.instanceOf(yield* Effect.flip(f.coordinator.quit), AlreadyQuit)
    }))

  it.effect("a new task takes a newly created worker before the backlog is looked at", () =>
    Effect.gen(function*() {
      const f = makeFixture()
      const order: Array<string> = []
      yield* f.team.do(Effect.sync(() => void order.push("first")))
      yield* f.coordinate
      f.noMoreWorkers = () => true
      yield* f.team.do(Effect.sync(() => void order.push("backlogged")))
      yield* f.coordinate
      assert.strictEqual((yield* f.team.statistics).backloggedWorkCount, 1)
      f.noMoreWorkers = () => false
      yield* f.team.do(Effect.sync(() => void order.push("overtaking")))
      yield* f.coordinate
      assert.deepStrictEqual(yield* f.team.statistics, {
        idleWorkerCount: 0,
        busyWorkerCount: 2,
        backloggedWorkCount: 1
      })
      yield* f.performAllOutstandingWork
      assert.deepStrictEqual(order.toSorted(), ["backlogged", "first", "overtaking"])
      assert.strictEqual(order.indexOf("backlogged"), 2)
    }))

  it.effect("grow(NaN) creates no worker (Twisted's range(n) rejects it; n <= 0 does nothing)", () =>
    Effect.gen(function*() {
      const f = makeFixture()
      // A cap, so that the test ends even if grow(NaN) loops.
      f.noMoreWorkers = () => f.allWorkersEver.length >= 5
      yield* Effect.exit(f.team.grow(Number.NaN))
      yield* Effect.exit(f.coordinate)
      assert.strictEqual(f.allWorkersEver.length, 0)
    }))

  it.effect("makeScoped quits the team when its scope closes", () =>
    Effect.gen(function*() {
      const coordinator = MemoryWorker.makeUnsafe()
      const team = yield* Effect.scoped(Team.makeScoped({
        coordinator: coordinator.worker,
        createWorker: Effect.succeed(Option.none())
      }))
      assert.isTrue(yield* team.isQuit)
      assert.instanceOf(yield* Effect.flip(team.do(Effect.void)), AlreadyQuit)
      assert.isTrue(yield* coordinator.perform)
      assert.instanceOf(yield* Effect.flip(coordinator.worker.quit), AlreadyQuit)
    }))
})

describe("Team capacity", () => {
  it.effect("with capacity 2, a busy worker takes a second task before the task is backlogged", () =>
    Effect.gen(function*() {
      const f = makeFixture({ capacity: 2 })
      f.noMoreWorkers = () => f.allWorkersEver.length >= 1
      let times = 0
      for (let i = 0; i < 3; i++) yield* f.team.do(Effect.sync(() => void times++))
      yield* f.coordinate
      assert.strictEqual(f.allWorkersEver.length, 1)
      assert.deepStrictEqual(yield* f.team.statistics, {
        idleWorkerCount: 0,
        busyWorkerCount: 1,
        backloggedWorkCount: 1
      })
      // Finishing one task makes room: the backlogged task goes to the same worker, which stays busy.
      yield* f.workerPerformers[0]!
      yield* f.coordinate
      assert.deepStrictEqual(yield* f.team.statistics, {
        idleWorkerCount: 0,
        busyWorkerCount: 1,
        backloggedWorkCount: 0
      })
      yield* f.performAllOutstandingWork
      assert.strictEqual(times, 3)
      assert.deepStrictEqual(yield* f.team.statistics, {
        idleWorkerCount: 1,
        busyWorkerCount: 0,
        backloggedWorkCount: 0
      })
    }))

  it.effect("with capacity 2, a worker grown while tasks are backlogged takes up to 2 of them", () =>
    Effect.gen(function*() {
      const f = makeFixture({ capacity: 2 })
      f.noMoreWorkers = () => true
      for (let i = 0; i < 3; i++) yield* f.team.do(Effect.void)
      yield* f.coordinate
      assert.strictEqual((yield* f.team.statistics).backloggedWorkCount, 3)
      f.noMoreWorkers = () => false
      yield* f.team.grow(1)
      yield* f.coordinate
      // "A worker that has work keeps getting tasks up to this many": the grown worker should hold 2 tasks.
      assert.deepStrictEqual(yield* f.team.statistics, {
        idleWorkerCount: 0,
        busyWorkerCount: 1,
        backloggedWorkCount: 1
      })
    }))
})

describe("Team with a LockWorker coordinator (Twisted's pool)", () => {
  const makeLockTeam = (createWorker: Effect.Effect<Option.Option<Worker.Worker>>) => {
    const coordinator = LockWorker.makeUnsafe()
    const failures: Array<Cause.Cause<unknown>> = []
    const team = Team.makeUnsafe({
      coordinator,
      createWorker,
      logException: (cause) => Effect.sync(() => void failures.push(cause))
    })
    return { coordinator, failures, team }
  }

  it.effect("do dispatches before it returns, and the last completion quits the coordinator from its own work", () =>
    Effect.gen(function*() {
      const performers: Array<Effect.Effect<boolean>> = []
      const { coordinator, team } = makeLockTeam(Effect.sync(() => {
        const memory = MemoryWorker.makeUnsafe()
        performers.push(memory.perform)
        return Option.some(memory.worker)
      }))
      let ran = 0
      yield* team.do(Effect.sync(() => void ran++))
      assert.deepStrictEqual(yield* team.statistics, { idleWorkerCount: 0, busyWorkerCount: 1, backloggedWorkCount: 0 })
      yield* team.quit
      assert.instanceOf(yield* Effect.flip(team.do(Effect.void)), AlreadyQuit)
      // The coordinator is still alive: a worker is busy.
      yield* coordinator.do(Effect.void)
      // The worker finishes: its completion notice runs on the coordinator, which quits itself from inside.
      assert.isTrue(yield* performers[0]!)
      assert.strictEqual(ran, 1)
      assert.deepStrictEqual(yield* team.statistics, { idleWorkerCount: 0, busyWorkerCount: 0, backloggedWorkCount: 0 })
      assert.instanceOf(yield* Effect.flip(coordinator.do(Effect.void)), AlreadyQuit)
      assert.isFalse(yield* performers[0]!)
    }))

  it.effect("with synchronous workers, the completion notice is re-entrant and runs before the outer do returns", () =>
    Effect.gen(function*() {
      const { team } = makeLockTeam(Effect.sync(() => Option.some(LockWorker.makeUnsafe())))
      const during: Array<Team.Statistics> = []
      yield* team.do(Effect.flatMap(team.statistics, (stats) => Effect.sync(() => void during.push(stats))))
      assert.deepStrictEqual(during, [{ idleWorkerCount: 0, busyWorkerCount: 1, backloggedWorkCount: 0 }])
      assert.deepStrictEqual(yield* team.statistics, { idleWorkerCount: 1, busyWorkerCount: 0, backloggedWorkCount: 0 })
      yield* team.quit
      assert.deepStrictEqual(yield* team.statistics, { idleWorkerCount: 0, busyWorkerCount: 0, backloggedWorkCount: 0 })
    }))

  it.effect("interrupting a caller of do does not lose the completion notice of a synchronous worker", () =>
    Effect.gen(function*() {
      const { coordinator, team } = makeLockTeam(Effect.sync(() => Option.some(LockWorker.makeUnsafe())))
      const started = yield* Deferred.make<void>()
      const gate = yield* Deferred.make<void>()
      let ran = 0
      const caller = yield* Effect.forkChild(
        team.do(
          Deferred.succeed(started, undefined).pipe(
            Effect.andThen(Deferred.await(gate)),
            Effect.andThen(Effect.sync(() => void ran++))
          )
        ),
        { startImmediately: true }
      )
      yield* Deferred.await(started)
      // The task runs inside the coordinator's (uninterruptible) step; the interruption lands when it ends, with
      // the worker's completion notice queued re-entrantly on the coordinator.
      const interrupting = yield* Effect.forkChild(Fiber.interrupt(caller), { startImmediately: true })
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(interrupting)
      assert.strictEqual(ran, 1)
      assert.deepStrictEqual(yield* team.statistics, { idleWorkerCount: 1, busyWorkerCount: 0, backloggedWorkCount: 0 })
      yield* team.quit
      assert.instanceOf(yield* Effect.flip(coordinator.do(Effect.void)), AlreadyQuit)
    }))

  it.effect("a task that calls do on its own team, on a synchronous worker, runs after the current step", () =>
    Effect.gen(function*() {
      const { failures, team } = makeLockTeam(Effect.sync(() => Option.some(LockWorker.makeUnsafe())))
      const order: Array<string> = []
      yield* team.do(Effect.gen(function*() {
        order.push("outer start")
        yield* Effect.orDie(team.do(Effect.sync(() => void order.push("inner"))))
        order.push("outer end")
      }))
      assert.deepStrictEqual(order, ["outer start", "outer end", "inner"])
      assert.deepStrictEqual(failures, [])
      // The inner task's step was queued before the outer worker's completion notice: it needed a second worker.
      assert.deepStrictEqual(yield* team.statistics, { idleWorkerCount: 2, busyWorkerCount: 0, backloggedWorkCount: 0 })
    }))
})

class SpawnError extends Data.TaggedError("SpawnError")<{ readonly attempt: number }> {}

/** A team whose `createWorker` fails with `SpawnError` on the attempts listed in `failOn` (1-based). */
const makeFailingTeam = (coordinator: Worker.ExclusiveWorker, failOn: (attempt: number) => boolean) => {
  const performers: Array<Effect.Effect<boolean>> = []
  const failures: Array<Cause.Cause<unknown>> = []
  let attempts = 0
  const team = Team.makeUnsafe<never, SpawnError>({
    coordinator,
    createWorker: Effect.suspend(() => {
      attempts += 1
      if (failOn(attempts)) return Effect.fail(new SpawnError({ attempt: attempts }))
      const { perform, worker } = MemoryWorker.makeUnsafe()
      performers.push(perform)
      return Effect.succeed(Option.some(worker))
    }),
    logException: (cause) => Effect.sync(() => void failures.push(cause))
  })
  const performAll = Effect.suspend(() => Effect.forEach(performers.slice(), (perform) => perform, { discard: true }))
  return { team, performers, failures, performAll }
}

describe("Team creation failures", () => {
  it.effect("with a LockWorker coordinator, do returns the creation failure and does not keep the task", () =>
    Effect.gen(function*() {
      const { failures, performAll, performers, team } = makeFailingTeam(LockWorker.makeUnsafe(), (n) => n === 1)
      const ran: Array<string> = []
      const error = yield* Effect.flip(team.do(Effect.sync(() => void ran.push("first"))))
      assert.instanceOf(error, SpawnError)
      assert.strictEqual(error._tag === "SpawnError" ? error.attempt : 0, 1)
      assert.deepStrictEqual(yield* team.statistics, { idleWorkerCount: 0, busyWorkerCount: 0, backloggedWorkCount: 0 })
      assert.strictEqual(failures.length, 0)
      // The next attempt succeeds; only the second task ever runs.
      yield* team.do(Effect.sync(() => void ran.push("second")))
      assert.strictEqual(performers.length, 1)
      assert.strictEqual((yield* team.statistics).busyWorkerCount, 1)
      yield* performAll
      assert.deepStrictEqual(ran, ["second"])
      assert.deepStrictEqual(yield* team.statistics, { idleWorkerCount: 1, busyWorkerCount: 0, backloggedWorkCount: 0 })
      yield* performAll
      assert.deepStrictEqual(ran, ["second"])
    }))

  it.effect("with a LockWorker coordinator, grow returns the creation failure and keeps the workers made before it", () =>
    Effect.gen(function*() {
      const { failures, performers, team } = makeFailingTeam(LockWorker.makeUnsafe(), (n) => n === 3)
      const error = yield* Effect.flip(team.grow(5))
      assert.instanceOf(error, SpawnError)
      assert.strictEqual(performers.length, 2)
      assert.deepStrictEqual(yield* team.statistics, { idleWorkerCount: 2, busyWorkerCount: 0, backloggedWorkCount: 0 })
      assert.strictEqual(failures.length, 0)
    }))

  it.effect("with a memory coordinator, the creation failure goes to logException and the task is backlogged", () =>
    Effect.gen(function*() {
      const coordinator = MemoryWorker.makeUnsafe()
      const { failures, performAll, performers, team } = makeFailingTeam(coordinator.worker, (n) => n === 1)
      let ran = 0
      yield* team.do(Effect.sync(() => void ran++))
      assert.strictEqual(failures.length, 0)
      assert.isTrue(yield* coordinator.perform)
      assert.strictEqual(failures.length, 1)
      const error = Cause.squash(failures[0]!)
      assert.instanceOf(error, SpawnError)
      assert.deepStrictEqual(yield* team.statistics, { idleWorkerCount: 0, busyWorkerCount: 0, backloggedWorkCount: 1 })
      // A grown worker takes the backlogged task.
      yield* team.grow(1)
      assert.isTrue(yield* coordinator.perform)
      assert.strictEqual(performers.length, 1)
      assert.deepStrictEqual(yield* team.statistics, { idleWorkerCount: 0, busyWorkerCount: 1, backloggedWorkCount: 0 })
      yield* performAll
      assert.isTrue(yield* coordinator.perform)
      assert.strictEqual(ran, 1)
      assert.deepStrictEqual(yield* team.statistics, { idleWorkerCount: 1, busyWorkerCount: 0, backloggedWorkCount: 0 })
    }))

  it.effect("with a memory coordinator, a creation failure in grow goes to logException and growing stops", () =>
    Effect.gen(function*() {
      const coordinator = MemoryWorker.makeUnsafe()
      const { failures, performers, team } = makeFailingTeam(coordinator.worker, (n) => n === 3)
      yield* team.grow(5)
      assert.isTrue(yield* coordinator.perform)
      assert.isFalse(yield* coordinator.perform)
      assert.strictEqual(performers.length, 2)
      assert.strictEqual(failures.length, 1)
      assert.instanceOf(Cause.squash(failures[0]!), SpawnError)
      assert.deepStrictEqual(yield* team.statistics, { idleWorkerCount: 2, busyWorkerCount: 0, backloggedWorkCount: 0 })
    }))
})
