/**
 * Property tests of `Team` (spec 1.8) on memory workers: random sequences of operations, with the statistics and
 * the fate of every task checked against what the test observes the team doing to its coordinator and workers.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Arbitrary from "effect/Arbitrary"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { AlreadyQuit } from "../src/AlreadyQuit.ts"
import * as MemoryWorker from "../src/MemoryWorker.ts"
import * as Team from "../src/Team.ts"
import * as Worker from "../src/Worker.ts"

type Op =
  | { readonly _tag: "Do" }
  | { readonly _tag: "Grow"; readonly n: number }
  | { readonly _tag: "Shrink"; readonly n: number | undefined }
  | { readonly _tag: "Quit" }
  | { readonly _tag: "PerformCoordinator" }
  | { readonly _tag: "PerformWorker"; readonly i: number }
  | { readonly _tag: "ToggleNoMoreWorkers" }

/**
 * Weighted choice of an operation: `kind` in 0..99 picks the operation, `param` in 0..9 its argument. Quit is rare,
 * so that most sequences do a lot before it (the end of every run quits anyway).
 */
const toOp = ([kind, param]: readonly [number, number]): Op =>
  kind < 30
    ? { _tag: "Do" }
    : kind < 40
    ? { _tag: "Grow", n: param % 5 }
    : kind < 47
    ? { _tag: "Shrink", n: param < 3 ? undefined : param % 5 }
    : kind < 48
    ? { _tag: "Quit" }
    : kind < 52
    ? { _tag: "ToggleNoMoreWorkers" }
    : kind < 76
    ? { _tag: "PerformCoordinator" }
    : { _tag: "PerformWorker", i: param }

const between = (minimum: number, maximum: number) =>
  Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum, maximum })))

const ops: Arbitrary.Arbitrary<Array<Op>> = Arbitrary.array(
  Arbitrary.map(Arbitrary.all([between(0, 99), between(0, 9)]), toOp),
  { maxLength: 150 }
)

/** Who is calling `coordinator.do`: a caller of `do`/`grow`/`shrink`/`quit`, or worker `worker` finishing a task. */
type Origin =
  | { readonly _tag: "Do" }
  | { readonly _tag: "Grow"; readonly n: number }
  | { readonly _tag: "Shrink"; readonly n: number | undefined }
  | { readonly _tag: "Quit" }
  | { readonly _tag: "Completion"; readonly worker: number }

interface WorkerState {
  readonly perform: Effect.Effect<boolean>
  quit: boolean
  /** Tasks dispatched to this worker whose completion the coordinator has not processed. */
  load: number
}

/**
 * A memory-worker team, instrumented: every call the team makes to its coordinator and workers is recorded, so the
 * real state (who is idle, busy, backlogged) is known independently of `statistics`. Each coordinator step is
 * checked against spec 1.8 as it runs, with a model of the shrink debt.
 */
const makeHarness = (capacity: number | undefined) => {
  const workers: Array<WorkerState> = []
  /** How many times each task ran, by task id. */
  const runs: Array<number> = []
  const accepted: Array<number> = []
  const rejected: Array<number> = []
  const violations: Array<string> = []
  const state = {
    noMoreWorkers: false,
    /** Tasks whose coordinating step has run on the coordinator. */
    coordinated: 0,
    /** Tasks handed to a worker. */
    dispatched: 0,
    /** Workers quit so far. */
    quits: 0,
    /** The shrink debt: workers that `shrink` asked for and that were busy then (spec 1.8, shrink). */
    debt: 0,
    origin: undefined as Origin | undefined,
    inCoordinator: false,
    performingWorker: undefined as number | undefined,
    teamQuit: false,
    coordinatorQuit: false,
    /** Whether the finishing step queued by `quit` has started on the coordinator. */
    finishing: false,
    /** The real statistics when the finishing step starts. */
    atFinishing: undefined as Team.Statistics | undefined
  }

  const observed = (): Team.Statistics => ({
    idleWorkerCount: workers.filter((worker) => !worker.quit && worker.load === 0).length,
    busyWorkerCount: workers.filter((worker) => worker.load > 0).length,
    backloggedWorkCount: state.coordinated - state.dispatched
  })

  /** Wraps a coordinator step with the checks of what it must do, given who queued it. */
  const checkedStep = (origin: Origin, work: Effect.Effect<void>): Effect.Effect<void> =>
    Effect.suspend(() => {
      const before = observed()
      const createdBefore = workers.length
      const quitsBefore = state.quits
      const noMoreWorkers = state.noMoreWorkers
      let expectedQuits: number | undefined
      switch (origin._tag) {
        case "Do":
          state.coordinated++
          break
        case "Shrink": {
          const n = origin.n ?? before.idleWorkerCount + before.busyWorkerCount
          expectedQuits = Math.min(n, before.idleWorkerCount)
          state.debt += n - expectedQuits
          break
        }
        case "Quit":
          state.finishing = true
          state.atFinishing = before
          break
        case "Completion":
          workers[origin.worker]!.load--
          break
      }
      return Effect.andThen(
        work,
        Effect.sync(() => {
          const created = workers.length - createdBefore
          const quits = state.quits - quitsBefore
          const fail = (what: string) => violations.push(`${origin._tag} step: ${what}`)
          switch (origin._tag) {
            case "Do": {
              const expected = before.idleWorkerCount > 0 || noMoreWorkers ? 0 : 1
              if (created !== expected) fail(`created ${created} workers, expected ${expected}`)
              if (quits !== 0) fail("quit a worker")
              break
            }
            case "Grow": {
              const expected = noMoreWorkers ? 0 : Math.max(0, origin.n)
              if (created !== expected) fail(`created ${created} workers, expected ${expected}`)
              state.debt -= quits
              break
            }
            case "Shrink":
              if (created !== 0) fail("created a worker")
              if (quits !== expectedQuits) fail(`quit ${quits} workers, expected ${expectedQuits}`)
              break
            case "Quit":
              if (created !== 0) fail("created a worker")
              break
            case "Completion":
              if (created !== 0) fail("created a worker")
              if (!state.finishing) state.debt -= quits
              break
          }
          if (state.debt < 0) fail("quit more workers than the shrink debt")
        })
      )
    })

  const coordinatorMemory = MemoryWorker.makeUnsafe()
  const coordinator = Worker.makeExclusive<never>({
    do: (work) =>
      Effect.suspend(() => {
        const origin = state.origin
        if (origin === undefined) {
          violations.push("coordinator.do called by nobody known (from inside the coordinator?)")
        }
        return coordinatorMemory.worker.do(origin === undefined ? work : checkedStep(origin, work))
      }),
    quit: Effect.andThen(coordinatorMemory.worker.quit, Effect.sync(() => void (state.coordinatorQuit = true)))
  })

  const createWorker: Effect.Effect<Option.Option<Worker.Worker>> = Effect.sync(() => {
    if (!state.inCoordinator) violations.push("createWorker called outside the coordinator")
    if (state.noMoreWorkers) return Option.none()
    const memory = MemoryWorker.makeUnsafe()
    const worker: WorkerState = { perform: memory.perform, quit: false, load: 0 }
    workers.push(worker)
    return Option.some(Worker.make({
      do: (work) =>
        Effect.suspend(() => {
          if (!state.inCoordinator) violations.push("worker.do called outside the coordinator")
          worker.load++
          state.dispatched++
          return memory.worker.do(work)
        }),
      quit: Effect.andThen(
        memory.worker.quit,
        Effect.sync(() => {
          if (!state.inCoordinator) violations.push("worker.quit called outside the coordinator")
          worker.quit = true
          state.quits++
        })
      )
    }))
  })

  const team: Team.Team = Team.makeUnsafe({
    coordinator,
    createWorker,
    logException: (cause) => Effect.sync(() => void violations.push(`logException: ${String(cause)}`)),
    capacity
  })

  const withOrigin = <A, E>(origin: Origin, effect: Effect.Effect<A, E>): Effect.Effect<A, E> =>
    Effect.suspend(() => {
      state.origin = origin
      return effect
    }).pipe(Effect.ensuring(Effect.sync(() => void (state.origin = undefined))))

  const performCoordinator: Effect.Effect<boolean> = Effect.suspend(() => {
    state.inCoordinator = true
    return coordinatorMemory.perform
  }).pipe(Effect.ensuring(Effect.sync(() => void (state.inCoordinator = false))))

  const performWorker = (index: number): Effect.Effect<boolean> =>
    Effect.suspend(() => {
      state.performingWorker = index
      return withOrigin({ _tag: "Completion", worker: index }, workers[index]!.perform)
    }).pipe(Effect.ensuring(Effect.sync(() => void (state.performingWorker = undefined))))

  /** Expects `effect` to succeed before `quit`, and to fail with `AlreadyQuit` after it. */
  const expectQuitRule = <E>(effect: Effect.Effect<void, AlreadyQuit | E>) =>
    Effect.gen(function*() {
      const wasQuit = state.teamQuit
      const result = yield* Effect.result(effect)
      if (wasQuit) {
        assert.isTrue(result._tag === "Failure" && result.failure instanceof AlreadyQuit, "AlreadyQuit after quit")
      } else {
        assert.strictEqual(result._tag, "Success", "succeeds before quit")
      }
      return !wasQuit
    })

  const run = (op: Op): Effect.Effect<void> =>
    Effect.gen(function*() {
      switch (op._tag) {
        case "Do": {
          const id = runs.length
          runs.push(0)
          const task = Effect.sync(() => {
            runs[id]!++
            if (state.performingWorker === undefined) violations.push(`task ${id} ran outside a worker`)
          })
          const ok = yield* expectQuitRule(withOrigin(op, team.do(task)))
          if (ok) accepted.push(id)
          else rejected.push(id)
          return
        }
        case "Grow":
          yield* expectQuitRule(withOrigin(op, team.grow(op.n)))
          return
        case "Shrink":
          yield* expectQuitRule(withOrigin(op, team.shrink(op.n)))
          return
        case "Quit":
          if (yield* expectQuitRule(withOrigin(op, team.quit))) state.teamQuit = true
          return
        case "PerformCoordinator":
          yield* performCoordinator
          return
        case "PerformWorker": {
          const live = workers.flatMap((worker, index) => worker.quit ? [] : [index])
          if (live.length > 0) yield* performWorker(live[op.i % live.length]!)
          return
        }
        case "ToggleNoMoreWorkers":
          state.noMoreWorkers = !state.noMoreWorkers
          return
      }
    })

  /** Runs every memory worker and the coordinator until none has anything left to do. */
  const drain: Effect.Effect<void> = Effect.gen(function*() {
    let ran = true
    while (ran) {
      ran = false
      while (yield* performCoordinator) ran = true
      for (let index = 0; index < workers.length; index++) {
        if (yield* performWorker(index)) ran = true
      }
    }
  })

  /** The invariants that hold between any two operations. */
  const check = Effect.gen(function*() {
    assert.deepStrictEqual(violations, [])
    for (const [id, count] of runs.entries()) assert.isAtMost(count, 1, `task ${id} ran at most once`)
    for (const id of rejected) assert.strictEqual(runs[id], 0, `rejected task ${id} never runs`)
    for (const worker of workers) {
      assert.isAtLeast(worker.load, 0)
      assert.isAtMost(worker.load, capacity ?? 1, "a worker holds at most `capacity` tasks")
      if (worker.quit) assert.strictEqual(worker.load, 0, "only idle workers are quit")
    }
    const stats = yield* team.statistics
    assert.deepStrictEqual(stats, observed())
    if (stats.backloggedWorkCount > 0) {
      // A task waits in the backlog only when no worker could take it (with capacity 1: no idle worker).
      for (const worker of workers) {
        if (!worker.quit) assert.strictEqual(worker.load, capacity ?? 1, "no backlog beside a worker with room")
      }
    }
    if (state.debt > 0 && !state.finishing) assert.strictEqual(stats.idleWorkerCount, 0, "no idle worker while in debt")
    if (state.finishing) {
      assert.strictEqual(stats.idleWorkerCount, 0, "no idle worker once finishing")
      if (stats.busyWorkerCount === 0) assert.isTrue(state.coordinatorQuit, "the coordinator quits when none is busy")
    }
    const ran = runs.reduce((n, count) => n + count, 0)
    assert.isAtMost(ran, state.dispatched)
    assert.isAtMost(state.coordinated, accepted.length)
    if (state.coordinatorQuit) {
      assert.isTrue(state.finishing, "the coordinator quits only after the finishing step")
      assert.strictEqual(stats.busyWorkerCount, 0, "the coordinator quits only when no worker is busy")
      assert.isTrue(workers.every((worker) => worker.quit), "the coordinator quits after every worker")
    }
  })

  /** Quits (if not yet), drains everything, and checks the fate of every task. */
  const finish = Effect.gen(function*() {
    if (!state.teamQuit) yield* run({ _tag: "Quit" })
    yield* drain
    yield* check
    assert.isTrue(state.coordinatorQuit, "the coordinator is quit")
    assert.instanceOf(yield* Effect.flip(coordinatorMemory.worker.quit), AlreadyQuit)
    assert.isTrue(workers.every((worker) => worker.quit), "every worker is quit")
    const stats = yield* team.statistics
    assert.strictEqual(stats.idleWorkerCount, 0)
    assert.strictEqual(stats.busyWorkerCount, 0)
    assert.strictEqual(state.coordinated, accepted.length, "every accepted task was coordinated")
    const atFinishing = state.atFinishing
    assert.isDefined(atFinishing)
    // Spec 1.8 point 4: the backlog left when the team finishes with no busy worker is dropped; nothing else is.
    const dropped = atFinishing !== undefined && atFinishing.busyWorkerCount === 0
      ? atFinishing.backloggedWorkCount
      : 0
    assert.strictEqual(stats.backloggedWorkCount, dropped)
    assert.strictEqual(accepted.filter((id) => runs[id] === 0).length, dropped)
    for (const id of accepted) assert.include([0, 1], runs[id])
  })

  return { run, check, finish }
}

/** Runs the operations, checking the invariants after each, then quits, drains and checks every task's fate. */
const scenario = (capacity: number | undefined, ops: ReadonlyArray<Op>) =>
  Effect.gen(function*() {
    const harness = makeHarness(capacity)
    for (const op of ops) {
      yield* harness.run(op)
      yield* harness.check
    }
    yield* harness.finish
  })

describe("Team (property)", () => {
  it.effect.prop(
    "statistics match the real state after every step; every accepted task runs exactly once unless dropped at quit",
    { ops },
    ({ ops }) => scenario(undefined, ops),
    { timeout: 60_000, arbitrary: { runs: 300, size: 150, seed: 20241018 } }
  )

  it.effect.prop(
    "with a capacity above 1, the same holds, and no worker holds more than its capacity",
    { capacity: between(2, 3), ops },
    ({ capacity, ops }) => scenario(capacity, ops),
    { timeout: 60_000, arbitrary: { runs: 200, size: 150, seed: 20241019 } }
  )
})
