/**
 * Property tests of the pool's promises on the memory-worker layer: random interleavings of submit (plain tasks and
 * tasks that crash), interrupt, grow, shrink, quit and steps of the coordinator and the workers, on a `Team` of
 * memory workers. Each task is submitted the way `ThreadPool` submits one: a caller fiber hands the team a unit of
 * work and waits on a `Deferred` that the work completes; interrupting the caller settles a task not yet run as
 * interrupted (its work, when a worker reaches it, runs nothing), and after quit the tasks left in the backlog are
 * settled with `AlreadyQuit`, as `stop` does.
 *
 * Invariants: every work item given to the team is executed at most once, and exactly once unless the team dropped
 * it from its backlog when it finished; a task runs at most once, never after its caller was interrupted; every task
 * settles exactly once, and every caller exits exactly once, with what its task settled with (or its interruption);
 * a crash reaches `logException` once and the worker keeps working; the statistics match the workers that exist
 * after every step, and end idle.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Arbitrary from "effect/Arbitrary"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { AlreadyQuit, isAlreadyQuit } from "../src/AlreadyQuit.ts"
import * as MemoryWorker from "../src/MemoryWorker.ts"
import * as Team from "../src/Team.ts"
import * as Worker from "../src/Worker.ts"

type Op =
  | { readonly _tag: "Submit" }
  | { readonly _tag: "SubmitCrashing" }
  | { readonly _tag: "Interrupt"; readonly i: number }
  | { readonly _tag: "Grow"; readonly n: number }
  | { readonly _tag: "Shrink"; readonly n: number | undefined }
  | { readonly _tag: "Quit" }
  | { readonly _tag: "ToggleNoMoreWorkers" }
  | { readonly _tag: "PerformCoordinator" }
  | { readonly _tag: "PerformWorker"; readonly i: number }

/** Weighted choice: `kind` in 0..99 picks the operation, `param` in 0..99 its argument. Quit is rare. */
const toOp = ([kind, param]: readonly [number, number]): Op =>
  kind < 28
    ? { _tag: "Submit" }
    : kind < 33
    ? { _tag: "SubmitCrashing" }
    : kind < 48
    ? { _tag: "Interrupt", i: param }
    : kind < 55
    ? { _tag: "Grow", n: param % 4 }
    : kind < 60
    ? { _tag: "Shrink", n: param < 30 ? undefined : param % 4 }
    : kind < 61
    ? { _tag: "Quit" }
    : kind < 64
    ? { _tag: "ToggleNoMoreWorkers" }
    : kind < 84
    ? { _tag: "PerformCoordinator" }
    : { _tag: "PerformWorker", i: param }

const between = (minimum: number, maximum: number) =>
  Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum, maximum })))

const ops: Arbitrary.Arbitrary<Array<Op>> = Arbitrary.array(
  Arbitrary.map(Arbitrary.all([between(0, 99), between(0, 99)]), toOp),
  { maxLength: 200 }
)

/** How a task settled. */
type Settled =
  | { readonly _tag: "Ran"; readonly value: number }
  | { readonly _tag: "Crashed" }
  | { readonly _tag: "Interrupted" }
  | { readonly _tag: "AlreadyQuit" }

/** A task as the pool sees it: 0 queued, 2 settled (memory workers run a task in one step: never seen running). */
interface Ticket {
  readonly id: number
  readonly crashes: boolean
  state: 0 | 2
  readonly result: Deferred.Deferred<number, string | AlreadyQuit>
  /** Whether the team accepted its work (`do` succeeded). */
  accepted: boolean
  /** Times its work was executed by a worker (run or skipped). */
  executed: number
  /** Times it ran. */
  runs: number
  /** Times it settled, and how (the first time). */
  settles: number
  settled: Settled | undefined
  /** Whether its caller was interrupted before it exited, and its exits. */
  interruptedWhileWaiting: boolean
  exits: number
  fiber: Fiber.Fiber<number, string | AlreadyQuit> | undefined
}

const CrashMarker = "crashed"

const makeHarness = (capacity: number) => {
  const tickets: Array<Ticket> = []
  const violations: Array<string> = []
  const workers: Array<{ readonly perform: Effect.Effect<boolean>; quit: boolean }> = []
  const state = { noMoreWorkers: false, quit: false, logged: 0 }

  const settle = (ticket: Ticket, settled: Settled): void => {
    ticket.settles++
    if (ticket.state === 2) return
    ticket.state = 2
    ticket.settled = settled
    const exit: Exit.Exit<number, string | AlreadyQuit> = settled._tag === "Ran"
      ? Exit.succeed(settled.value)
      : settled._tag === "Crashed"
      ? Exit.fail(CrashMarker)
      : settled._tag === "Interrupted"
      ? Exit.interrupt()
      : Exit.fail(new AlreadyQuit())
    Deferred.doneUnsafe(ticket.result, exit)
  }

  const coordinator = MemoryWorker.makeUnsafe()
  const createWorker: Effect.Effect<Option.Option<Worker.Worker>> = Effect.sync(() => {
    if (state.noMoreWorkers) return Option.none()
    const memory = MemoryWorker.makeUnsafe()
    const entry = { perform: memory.perform, quit: false }
    workers.push(entry)
    return Option.some(Worker.make({
      do: memory.worker.do,
      quit: Effect.andThen(memory.worker.quit, Effect.sync(() => void (entry.quit = true)))
    }))
  })
  const team = Team.makeUnsafe({
    coordinator: coordinator.worker,
    createWorker,
    capacity,
    logException: (cause) =>
      Effect.sync(() => {
        state.logged++
        if (!String(Cause.squash(cause)).includes("the task crashed")) violations.push(`logged ${String(cause)}`)
      })
  })

  /** The unit of work of a ticket: what `ThreadPool` hands its team (a settled ticket runs nothing). */
  const workFor = (ticket: Ticket): Effect.Effect<void> =>
    Effect.suspend(() => {
      ticket.executed++
      if (ticket.state === 2) return Effect.void
      ticket.runs++
      if (ticket.crashes) {
        settle(ticket, { _tag: "Crashed" })
        return Effect.die(new Error("the task crashed"))
      }
      settle(ticket, { _tag: "Ran", value: 2 * ticket.id + 1 })
      return Effect.void
    })

  /** The caller: submits, then waits; its interruption settles a task not yet run as interrupted. */
  const submit = (crashes: boolean) =>
    Effect.gen(function*() {
      const ticket: Ticket = {
        id: tickets.length,
        crashes,
        state: 0,
        result: Deferred.makeUnsafe<number, string | AlreadyQuit>(),
        accepted: false,
        executed: 0,
        runs: 0,
        settles: 0,
        settled: undefined,
        interruptedWhileWaiting: false,
        exits: 0,
        fiber: undefined
      }
      tickets.push(ticket)
      const caller = Effect.uninterruptibleMask((restore) =>
        team.do(workFor(ticket)).pipe(
          Effect.tap(() => Effect.sync(() => void (ticket.accepted = true))),
          Effect.andThen(
            restore(Deferred.await(ticket.result)).pipe(
              Effect.onInterrupt(() =>
                Effect.sync(() => {
                  if (ticket.state === 0) settle(ticket, { _tag: "Interrupted" })
                })
              )
            )
          )
        )
      )
      const fiber = yield* Effect.forkChild(caller, { startImmediately: true })
      fiber.addObserver(() => void ticket.exits++)
      ticket.fiber = fiber
    })

  const interrupt = (i: number) =>
    Effect.gen(function*() {
      const waiting = tickets.filter((ticket) => ticket.fiber?.pollUnsafe() === undefined)
      const ticket = waiting[i % Math.max(1, waiting.length)]
      if (ticket === undefined) return
      ticket.interruptedWhileWaiting = true
      yield* Fiber.interrupt(ticket.fiber!)
    })

  const expectQuitRule = (effect: Effect.Effect<void, AlreadyQuit>) =>
    Effect.gen(function*() {
      const result = yield* Effect.result(effect)
      if (state.quit) {
        assert.isTrue(result._tag === "Failure" && isAlreadyQuit(result.failure), "AlreadyQuit after quit")
      } else assert.strictEqual(result._tag, "Success", "succeeds before quit")
    })

  const run = (op: Op): Effect.Effect<void> =>
    Effect.gen(function*() {
      switch (op._tag) {
        case "Submit":
          return yield* submit(false)
        case "SubmitCrashing":
          return yield* submit(true)
        case "Interrupt":
          return yield* interrupt(op.i)
        case "Grow":
          return yield* expectQuitRule(team.grow(op.n))
        case "Shrink":
          return yield* expectQuitRule(team.shrink(op.n))
        case "Quit":
          yield* expectQuitRule(team.quit)
          state.quit = true
          return
        case "ToggleNoMoreWorkers":
          state.noMoreWorkers = !state.noMoreWorkers
          return
        case "PerformCoordinator":
          yield* coordinator.perform
          return
        case "PerformWorker": {
          const live = workers.filter((worker) => !worker.quit)
          if (live.length > 0) yield* live[op.i % live.length]!.perform
          return
        }
      }
    })

  const drain: Effect.Effect<void> = Effect.gen(function*() {
    let ran = true
    while (ran) {
      ran = false
      while (yield* coordinator.perform) ran = true
      for (const worker of workers) {
        if (yield* worker.perform) ran = true
      }
    }
  })

  /** Between any two operations. */
  const check = Effect.gen(function*() {
    assert.deepStrictEqual(violations, [])
    for (const ticket of tickets) {
      assert.isAtMost(ticket.executed, 1, `task ${ticket.id}: its work executed at most once`)
      assert.isAtMost(ticket.runs, 1, `task ${ticket.id}: ran at most once`)
      assert.isAtMost(ticket.exits, 1, `task ${ticket.id}: its caller exited at most once`)
      if (!ticket.accepted && ticket.fiber?.pollUnsafe() !== undefined) {
        assert.strictEqual(ticket.executed, 0, `rejected task ${ticket.id} never runs`)
      }
      if (ticket.settled?._tag === "Interrupted") assert.strictEqual(ticket.runs, 0, "interrupted, never ran")
    }
    const crashed = tickets.filter((ticket) => ticket.settled?._tag === "Crashed").length
    assert.strictEqual(state.logged, crashed, "each crash reaches logException once")
    const stats = yield* team.statistics
    const live = workers.filter((worker) => !worker.quit).length
    assert.strictEqual(stats.idleWorkerCount + stats.busyWorkerCount, live, "idle + busy = the workers that exist")
    const accepted = tickets.filter((ticket) => ticket.accepted).length
    const executed = tickets.filter((ticket) => ticket.executed > 0).length
    assert.isAtMost(stats.backloggedWorkCount, accepted - executed, "no more backlog than work not yet executed")
    if (capacity === 1 && stats.idleWorkerCount > 0) {
      assert.strictEqual(stats.backloggedWorkCount, 0, "nothing waits beside an idle worker")
    }
  })

  /** Quits (if not yet), drains everything, settles what is left as `stop` does, and checks every fate. */
  const finish = Effect.gen(function*() {
    if (!state.quit) yield* run({ _tag: "Quit" })
    yield* drain
    yield* check
    const stats = yield* team.statistics
    assert.strictEqual(stats.idleWorkerCount, 0)
    assert.strictEqual(stats.busyWorkerCount, 0)
    const dropped = tickets.filter((ticket) => ticket.accepted && ticket.executed === 0)
    assert.strictEqual(stats.backloggedWorkCount, dropped.length, "only the backlog dropped at quit is not executed")
    for (const ticket of tickets) if (ticket.accepted && ticket.state === 0) settle(ticket, { _tag: "AlreadyQuit" })
    yield* Fiber.awaitAll(tickets.map((ticket) => ticket.fiber!))
    for (const ticket of tickets) {
      const what = `task ${ticket.id}`
      assert.strictEqual(ticket.exits, 1, `${what}: its caller exited exactly once`)
      const exit = ticket.fiber!.pollUnsafe()!
      if (!ticket.accepted) {
        // Refused at submit (after quit): the caller got AlreadyQuit, the task never settled nor ran.
        assert.isTrue(Exit.isFailure(exit) && isAlreadyQuit(Option.getOrUndefined(Exit.findErrorOption(exit))))
        assert.strictEqual(ticket.settles, 0)
        continue
      }
      assert.isAtLeast(ticket.settles, 1, `${what}: settled`)
      assert.strictEqual(ticket.executed, dropped.includes(ticket) ? 0 : 1, `${what}: executed once unless dropped`)
      const settled = ticket.settled!
      if (ticket.interruptedWhileWaiting) {
        // The caller sees its interruption, whatever the task did.
        assert.isTrue(Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause), `${what}: interrupted`)
        continue
      }
      switch (settled._tag) {
        case "Ran":
          assert.deepStrictEqual(exit, Exit.succeed(2 * ticket.id + 1), `${what}: its result`)
          assert.strictEqual(ticket.runs, 1)
          break
        case "Crashed":
          assert.deepStrictEqual(exit, Exit.fail(CrashMarker), `${what}: its crash`)
          assert.strictEqual(ticket.runs, 1)
          break
        case "Interrupted":
          assert.fail(`${what}: settled as interrupted, its caller was not`)
          break
        case "AlreadyQuit":
          assert.isTrue(isAlreadyQuit(Option.getOrUndefined(Exit.findErrorOption(exit))), `${what}: AlreadyQuit`)
          assert.isTrue(dropped.includes(ticket), `${what}: AlreadyQuit only for the dropped backlog`)
          break
      }
    }
  })

  return { run, check, finish }
}

const scenario = (capacity: number, ops: ReadonlyArray<Op>) =>
  Effect.gen(function*() {
    const harness = makeHarness(capacity)
    for (const op of ops) {
      yield* harness.run(op)
      yield* harness.check
    }
    yield* harness.finish
  })

describe("Reliability (property, memory workers)", () => {
  it.effect.prop(
    "every task settles once and every caller exits once, through submits, interrupts, crashes, resizes and quit",
    { ops },
    ({ ops }) => scenario(1, ops),
    { timeout: 60_000, arbitrary: { runs: 200, size: 200, seed: 7_2026 } }
  )

  it.effect.prop(
    "the same with a capacity above 1 (tasks sent ahead)",
    { capacity: between(2, 3), ops },
    ({ capacity, ops }) => scenario(capacity, ops),
    { timeout: 60_000, arbitrary: { runs: 100, size: 200, seed: 7_2027 } }
  )
})
