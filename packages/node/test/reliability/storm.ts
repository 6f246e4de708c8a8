/**
 * The interruption storm: tasks through a two-thread pool, Effect-based sleeps (an interrupt reaches them in their
 * thread) and synchronous spins (it cannot: a spin that outlasts the grace period has its thread terminated), of
 * which a random half have their caller interrupted at a random moment: early (right after submitting, mostly
 * queued in the pool), at a random point of the run's progress (queued, just sent, running or done), or as soon as
 * their thread has started them (running). Each task's thread writes its progress to shared memory (`Api.Mark`),
 * so the moment of each interruption is known.
 */
import { ThreadPool } from "@effect-threads/core"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Scope from "effect/Scope"
import * as Api from "../fixtures/reliability-api.ts"
import {
  countingPlatform,
  describeExit,
  entry,
  isIdle,
  isInterruptedOnly,
  makeRandom,
  waitIdle,
  waitUntil
} from "./support.ts"

/** Options of {@link storm}. */
export interface StormOptions {
  readonly seed: number
  readonly tasks: number
  /** The pool's `concurrentTasksPerThread`. Default 1. */
  readonly concurrentTasksPerThread?: number | undefined
  /** The pool's `interruptGracePeriod`, in milliseconds. */
  readonly graceMillis: number
  /** The share of spins that last 60 ms, past a short grace period, so that their thread is terminated. */
  readonly longSpinShare: number
}

/** When a victim's caller is interrupted. */
type When =
  | { readonly _tag: "Early"; readonly after: number }
  | { readonly _tag: "Progress"; readonly settled: number }
  | { readonly _tag: "Running"; readonly delayMillis: number }

interface Planned {
  readonly id: number
  readonly kind: "Sleep" | "Spin"
  readonly ms: number
  readonly interrupt: When | undefined
}

/** Where a task was when its caller was interrupted. */
export type Moment = "queuedOrSent" | "running" | "completedInThread" | "alreadySettled"

/** What the storm did. */
export interface StormReport {
  readonly tasks: number
  readonly sleeps: number
  readonly spins: number
  /** Interrupts sent, by where the task was then. */
  readonly interrupts: Readonly<Record<Moment, number>>
  /** Tasks interrupted before their thread started them that never started. */
  readonly interruptedNeverStarted: number
  /** Broken invariants, described (must be empty). */
  readonly problems: ReadonlyArray<string>
  readonly millis: number
  readonly statistics: ThreadPool.Statistics
  readonly threadsSpawned: number
  readonly threadsTerminated: number
  readonly aliveAfterClose: number
}

const plan = (options: StormOptions): Array<Planned> => {
  const random = makeRandom(options.seed)
  return Array.from({ length: options.tasks }, (_, id): Planned => {
    const kind = random.next() < 0.5 ? "Sleep" : "Spin"
    // Sleeps of 0-4 ms; spins of 0-2 ms, and a few of 60 ms, past a short grace period: their thread is terminated.
    const ms = kind === "Sleep" ? random.int(5) : random.next() < options.longSpinShare ? 60 : random.int(3)
    const victim = random.next() < 0.5
    const how = random.int(3)
    const interrupt: When | undefined = !victim
      ? undefined
      : how === 0
      ? { _tag: "Early", after: random.int(20) }
      : how === 1
      ? { _tag: "Progress", settled: random.int(options.tasks) }
      : { _tag: "Running", delayMillis: random.int(3) }
    return { id, kind, ms, interrupt }
  })
}

/** Runs the storm in a pool of its own, then checks that the pool serves normally, then closes it. */
export const storm = (options: StormOptions): Effect.Effect<StormReport> =>
  Effect.gen(function*() {
    const planned = plan(options)
    const marks = new SharedArrayBuffer(options.tasks * Int32Array.BYTES_PER_ELEMENT)
    const cells = new Int32Array(marks)
    const platform = countingPlatform(entry)
    const scope = yield* Scope.make()
    const pool = yield* ThreadPool.makeStarted({
      name: "storm",
      minThreads: 2,
      maxThreads: 2,
      interruptGracePeriod: options.graceMillis,
      concurrentTasksPerThread: options.concurrentTasksPerThread
    }).pipe(Effect.provide(platform.layer), Scope.provide(scope), Effect.orDie)

    const problems: Array<string> = []
    const exitCounts = Array.from({ length: options.tasks }, () => 0)
    const exits = Array.from({ length: options.tasks }, (): Exit.Exit<unknown, unknown> | undefined => undefined)
    const moments = Array.from({ length: options.tasks }, (): Moment | undefined => undefined)
    const interrupts: Record<Moment, number> = {
      queuedOrSent: 0,
      running: 0,
      completedInThread: 0,
      alreadySettled: 0
    }
    const fibers: Array<Fiber.Fiber<unknown, unknown>> = []
    let settled = 0

    const interrupt = (id: number): void => {
      const fiber = fibers[id]!
      const mark = Atomics.load(cells, id)
      const moment: Moment = fiber.pollUnsafe() !== undefined
        ? "alreadySettled"
        : mark === Api.Mark.none
        ? "queuedOrSent"
        : mark === Api.Mark.completed
        ? "completedInThread"
        : "running"
      moments[id] = moment
      interrupts[moment]++
      fiber.interruptUnsafe()
    }

    const started = performance.now()
    const early = new Map<number, Array<number>>()
    for (const p of planned) {
      const task = p.kind === "Sleep" ? Api.Sleep : Api.Spin
      const fiber = yield* Effect.forkChild(pool.deferToThread(task, { marks, id: p.id, ms: p.ms }), {
        startImmediately: true
      })
      fiber.addObserver((exit) => {
        exitCounts[p.id]!++
        exits[p.id] = exit
        settled++
      })
      fibers.push(fiber)
      if (p.interrupt?._tag === "Early") {
        const at = p.id + p.interrupt.after
        early.set(at, [...(early.get(at) ?? []), p.id])
      }
      for (const id of early.get(p.id) ?? []) interrupt(id)
      early.delete(p.id)
    }
    for (const ids of early.values()) for (const id of ids) interrupt(id)

    // The other victims: at a point of the run's progress, or once their thread has started them.
    const byProgress = planned.flatMap((p) => p.interrupt?._tag === "Progress" ? [p] : [])
      .sort((a, b) => (a.interrupt as { settled: number }).settled - (b.interrupt as { settled: number }).settled)
    let running = planned.flatMap((p) => p.interrupt?._tag === "Running" ? [p] : [])
    const due = new Map<number, number>()
    let next = 0
    const interrupter = Effect.gen(function*() {
      while (next < byProgress.length || running.length > 0 || due.size > 0) {
        while (next < byProgress.length) {
          const p = byProgress[next]!
          if ((p.interrupt as { settled: number }).settled > settled) break
          interrupt(p.id)
          next++
        }
        const now = performance.now()
        for (const [id, at] of due) {
          if (at <= now) {
            due.delete(id)
            interrupt(id)
          }
        }
        const scanned = running.slice(0, 32)
        const keep = new Set<number>()
        for (const p of scanned) {
          if (fibers[p.id]!.pollUnsafe() !== undefined) continue
          if (Atomics.load(cells, p.id) === Api.Mark.none) keep.add(p.id)
          else due.set(p.id, now + (p.interrupt as { delayMillis: number }).delayMillis)
        }
        running = [...scanned.filter((p) => keep.has(p.id)), ...running.slice(32)]
        yield* Effect.sleep("1 millis")
      }
    })
    yield* interrupter
    yield* Fiber.awaitAll(fibers)
    const millis = performance.now() - started

    let interruptedNeverStarted = 0
    for (const p of planned) {
      const exit = exits[p.id]
      const moment = moments[p.id]
      const what = `${p.kind} ${p.id} (${p.ms} ms, interrupt ${p.interrupt?._tag ?? "none"} ${moment ?? ""})`
      if (exitCounts[p.id] !== 1) problems.push(`${what}: exited ${exitCounts[p.id]} times`)
      if (exit === undefined) continue
      if (moment !== undefined && moment !== "alreadySettled") {
        // An interrupted caller sees its interruption, never a success nor another failure.
        if (!isInterruptedOnly(exit)) problems.push(`${what}: interrupted, got ${describeExit(exit)}`)
        if (moment === "queuedOrSent" && Atomics.load(cells, p.id) === Api.Mark.none) interruptedNeverStarted++
      } else {
        // A caller not interrupted (or interrupted after it settled) got its task's result, run to its end.
        if (!(Exit.isSuccess(exit) && exit.value === p.id)) problems.push(`${what}: got ${describeExit(exit)}`)
        if (Atomics.load(cells, p.id) !== Api.Mark.completed) problems.push(`${what}: did not complete in its thread`)
      }
    }

    // No thread leak: once idle, two threads at most are alive, the terminated ones have exited.
    yield* waitIdle(pool)
    yield* waitUntil("terminated threads exited", Effect.sync(() => platform.alive() <= 2))
    // The pool serves normally afterwards.
    const results = yield* Effect.forEach(
      Array.from({ length: 200 }, (_, i) => i),
      (i) => Effect.exit(pool.deferToThread(Api.Twice, i)),
      { concurrency: "unbounded" }
    )
    results.forEach((exit, i) => {
      if (!(Exit.isSuccess(exit) && exit.value === 2 * i + 1)) {
        problems.push(`after the storm, Twice ${i}: ${describeExit(exit)}`)
      }
    })
    yield* waitIdle(pool)
    const statistics = yield* pool.statistics
    if (!isIdle(statistics) || statistics.workerCount !== 2) {
      problems.push(`statistics after the storm: ${JSON.stringify(statistics)}`)
    }
    if (platform.alive() !== 2) problems.push(`${platform.alive()} threads alive after the storm, expected 2`)
    if (statistics.threadsStarted !== platform.counts.spawned) {
      problems.push(`${statistics.threadsStarted} threads started, ${platform.counts.spawned} spawned`)
    }
    yield* Scope.close(scope, Exit.void)
    const aliveAfterClose = platform.alive()
    if (aliveAfterClose !== 0) problems.push(`${aliveAfterClose} threads alive after the scope closed`)
    return {
      tasks: options.tasks,
      sleeps: planned.filter((p) => p.kind === "Sleep").length,
      spins: planned.filter((p) => p.kind === "Spin").length,
      interrupts,
      interruptedNeverStarted,
      problems,
      millis,
      statistics,
      threadsSpawned: platform.counts.spawned,
      threadsTerminated: platform.counts.terminated,
      aliveAfterClose
    }
  })
