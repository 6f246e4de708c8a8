/**
 * The fault injection, shared by `Faults.test.ts` and `pnpm soak --faults`: tiny tasks through a two-thread pool, a
 * random share of which kill their thread (`process.exit`, an asynchronous throw, running out of the
 * `resourceLimits` heap). The plan is drawn from a seed, so that a failing run can be replayed.
 */
import { ThreadError, ThreadPool } from "@effect-threads/core"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Scope from "effect/Scope"
import * as Api from "../fixtures/reliability-api.ts"
import { countingPlatform, entry, isIdle, makeRandom, onlyFailure, waitIdle, waitUntil } from "./support.ts"

/** How a task kills its thread. */
export type FaultKind = "exit" | "asyncThrow" | "outOfMemory"

/** One task of the plan: a tiny task, or a fault. */
export type Planned =
  | { readonly _tag: "Task"; readonly id: number }
  | { readonly _tag: "Fault"; readonly id: number; readonly kind: FaultKind; readonly code: number }

/** Options of {@link injectFaults}. */
export interface FaultOptions {
  readonly seed: number
  readonly tasks: number
  /** The share of tasks that kill their thread: 0.1 for 10%. */
  readonly faultShare: number
  /** How many of the faults run out of memory (slow: V8 collects hard before it gives up). */
  readonly outOfMemory: number
}

/** What the fault injection did. */
export interface FaultReport {
  readonly plan: ReadonlyArray<Planned>
  readonly injected: Readonly<Record<FaultKind, number>>
  /** How many times each task's caller exited. */
  readonly exits: ReadonlyArray<number>
  /** Every task whose outcome is not the one its plan says, described. */
  readonly wrong: ReadonlyArray<string>
  readonly millis: number
  /** The statistics once idle after the run, and after both threads were needed again. */
  readonly statistics: ThreadPool.Statistics
  readonly afterRefill: ThreadPool.Statistics
  /** Threads alive (platform count) once both were needed again, and after the scope closed. */
  readonly aliveAfterRefill: number
  readonly aliveAfterClose: number
  readonly spawned: number
  readonly exited: number
}

/** Draws the plan: exactly `round(tasks * faultShare)` faults at random places, `outOfMemory` of them OOM. */
export const plan = (options: FaultOptions): Array<Planned> => {
  const random = makeRandom(options.seed)
  const faults = Math.round(options.tasks * options.faultShare)
  const places = random.shuffle(Array.from({ length: options.tasks }, (_, i) => i)).slice(0, faults)
  const kinds = new Map<number, FaultKind>()
  places.forEach((id, i) =>
    kinds.set(id, i < options.outOfMemory ? "outOfMemory" : random.next() < 0.5 ? "exit" : "asyncThrow")
  )
  return Array.from({ length: options.tasks }, (_, id): Planned => {
    const kind = kinds.get(id)
    return kind === undefined ? { _tag: "Task", id } : { _tag: "Fault", id, kind, code: 1 + random.int(100) }
  })
}

const run = (pool: ThreadPool.ThreadPoolShape, planned: Planned): Effect.Effect<unknown, unknown> => {
  if (planned._tag === "Task") return pool.deferToThread(Api.Twice, planned.id)
  switch (planned.kind) {
    case "exit":
      return pool.deferToThread(Api.Exit, planned.code)
    case "asyncThrow":
      return pool.deferToThread(Api.AsyncThrow, `fault ${planned.id}`)
    case "outOfMemory":
      return pool.deferToThread(Api.Hog, undefined)
  }
}

/** Checks one outcome against the plan; gives a description when it is wrong. */
const check = (planned: Planned, exit: Exit.Exit<unknown, unknown>): string | undefined => {
  if (planned._tag === "Task") {
    return Exit.isSuccess(exit) && exit.value === 2 * planned.id + 1
      ? undefined
      : `task ${planned.id}: ${Exit.isSuccess(exit) ? String(exit.value) : String(exit.cause)}`
  }
  const error = onlyFailure(exit)
  const wrong = `fault ${planned.id} (${planned.kind}): ${Exit.isSuccess(exit) ? "success" : String(exit.cause)}`
  if (!(error instanceof ThreadError.ThreadCrashed)) return wrong
  switch (planned.kind) {
    case "exit":
      return error.task === "Exit" && error.exitCode === planned.code ? undefined : wrong
    case "asyncThrow":
      return error.task === "AsyncThrow" && error.message.includes(`fault ${planned.id}`) ? undefined : wrong
    case "outOfMemory":
      return error.task === "Hog" && /out of memory|memory limit/i.test(error.message) ? undefined : wrong
  }
}

/**
 * Runs the plan through a two-thread pool (every task submitted at once), then needs both threads again (two
 * `Hold` tasks at once) to see them replaced, and closes the pool's scope.
 */
export const injectFaults = (options: FaultOptions): Effect.Effect<FaultReport> =>
  Effect.gen(function*() {
    const planned = plan(options)
    const injected: Record<FaultKind, number> = { exit: 0, asyncThrow: 0, outOfMemory: 0 }
    for (const p of planned) if (p._tag === "Fault") injected[p.kind]++
    // A small heap for every thread: the OOM faults reach it quickly; the other tasks need little.
    const platform = countingPlatform(entry, { resourceLimits: { maxOldGenerationSizeMb: 48 } })
    const exits = Array.from({ length: planned.length }, () => 0)
    const wrong: Array<string> = []
    const started = performance.now()
    const scope = yield* Scope.make()
    const pool = yield* ThreadPool.makeStarted({ name: "faults", minThreads: 2, maxThreads: 2 }).pipe(
      Effect.provide(platform.layer),
      Scope.provide(scope),
      Effect.orDie
    )
    const fibers = yield* Effect.forEach(planned, (p) =>
      Effect.forkChild(run(pool, p), { startImmediately: true }).pipe(
        Effect.tap((fiber) =>
          Effect.sync(() =>
            fiber.addObserver((exit) => {
              exits[p.id]!++
              const problem = check(p, exit)
              if (problem !== undefined && wrong.length < 20) wrong.push(problem)
            })
          )
        )
      ))
    yield* Fiber.awaitAll(fibers)
    const millis = performance.now() - started
    yield* waitIdle(pool)
    const statistics = yield* pool.statistics
    // Both threads needed at once: a thread that died with the last faults is replaced now.
    const gate = new Int32Array(new SharedArrayBuffer(16))
    const holds = yield* Effect.forEach([1, 2], () => Effect.forkChild(pool.deferToThread(Api.Hold, gate.buffer)))
    yield* waitUntil("both threads hold", Effect.sync(() => Atomics.load(gate, 0) === 2))
    Atomics.store(gate, 1, 1)
    yield* Fiber.joinAll(holds).pipe(Effect.orDie)
    yield* waitUntil("the crashed threads exited", Effect.sync(() => platform.alive() === 2))
    yield* waitIdle(pool)
    const afterRefill = yield* pool.statistics
    const aliveAfterRefill = platform.alive()
    yield* Scope.close(scope, Exit.void)
    const aliveAfterClose = platform.alive()
    return {
      plan: planned,
      injected,
      exits,
      wrong,
      millis,
      statistics,
      afterRefill,
      aliveAfterRefill,
      aliveAfterClose,
      spawned: platform.counts.spawned,
      exited: platform.counts.exited
    }
  })

/**
 * The invariants of a run, as a list of what broke (empty when all hold): every caller exited exactly once with
 * the outcome its plan says, the statistics are idle with every crash counted, both threads were replaced, and no
 * thread is alive after the scope closed.
 */
export const faultProblems = (report: FaultReport, faults: number, outOfMemory: number): Array<string> => {
  const problems: Array<string> = [...report.wrong]
  const expect = (holds: boolean, what: string) => {
    if (!holds) problems.push(what)
  }
  const injected = report.injected.exit + report.injected.asyncThrow + report.injected.outOfMemory
  expect(injected === faults, `${injected} faults injected, expected ${faults}`)
  expect(report.injected.outOfMemory === outOfMemory, `${report.injected.outOfMemory} OOM faults`)
  const notOnce = report.exits.filter((n) => n !== 1).length
  expect(notOnce === 0, `${notOnce} callers did not exit exactly once`)
  const s = report.statistics
  expect(isIdle(s) && s.threadsCrashed === faults && s.workerCount === 2, `statistics ${JSON.stringify(s)}`)
  // Both threads needed again: each was replaced, 2 + one per fault started in all, 2 alive.
  const r = report.afterRefill
  expect(
    isIdle(r) && r.threadsStarted === 2 + faults && r.threadsCrashed === faults,
    `statistics after refill ${JSON.stringify(r)}`
  )
  expect(report.aliveAfterRefill === 2, `${report.aliveAfterRefill} threads alive after refill`)
  expect(report.spawned === 2 + faults, `${report.spawned} threads spawned, expected ${2 + faults}`)
  // The scope closed: every thread ever spawned has exited.
  expect(report.aliveAfterClose === 0, `${report.aliveAfterClose} threads alive after the scope closed`)
  expect(report.exited === report.spawned, `${report.exited} of ${report.spawned} threads exited`)
  return problems
}
