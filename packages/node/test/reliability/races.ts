/**
 * Quit and scope-close races: a pool with tasks running (an Effect-based `Hold` and, when the scope closes, a
 * synchronous `Spin` that only terminating its thread ends), tasks queued behind them, and fibers submitting more
 * while the pool's scope closes, or `stop` runs, or both. Every caller settles: with its result, an interruption
 * or `AlreadyQuit` (and nothing else); the close ends within a bound; no thread is alive after it.
 */
import { AlreadyQuit, ThreadPool } from "@effect-threads/core"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Scope from "effect/Scope"
import * as Api from "../fixtures/reliability-api.ts"
import {
  countingPlatform,
  describeExit,
  entry,
  isInterruptedOnly,
  makeRandom,
  onlyFailure,
  waitUntil
} from "./support.ts"

/** How the pool ends: its scope closes, `stop` runs, or `stop` runs and the scope closes before it is done. */
export type Ending = "close" | "stop" | "stopThenClose"

/** What one race did. */
export interface RaceReport {
  readonly seed: number
  readonly ending: Ending
  readonly callers: number
  readonly succeeded: number
  readonly interrupted: number
  readonly alreadyQuit: number
  /** Callers submitted once the ending had begun. */
  readonly submittedDuringEnding: number
  /** Broken invariants, described (must be empty). */
  readonly problems: ReadonlyArray<string>
  readonly threadsSpawned: number
  /** Threads alive as soon as the scope's close returned. */
  readonly aliveAfterClose: number
}

/** The bound on the close (and on `stop`): generous, for a loaded machine; it is not a measure of speed. */
export const closeBound = "20 seconds"

interface Caller {
  readonly fiber: Fiber.Fiber<unknown, unknown>
  readonly expected: number
  readonly duringEnding: boolean
  readonly afterEnd: boolean
}

/**
 * Runs one race from `seed`. With `submitDuringEnding` false, the submitting fibers pause while the ending runs and
 * resume once it is over (see the README: a task submitted while the scope closes can be lost).
 */
export const race = (seed: number, ending: Ending, submitDuringEnding = true): Effect.Effect<RaceReport> =>
  Effect.gen(function*() {
    const random = makeRandom(seed)
    const platform = countingPlatform(entry)
    const scope = yield* Scope.make()
    const pool = yield* ThreadPool.makeStarted({
      name: `race-${ending}`,
      minThreads: 2,
      maxThreads: 2,
      interruptGracePeriod: 100
    }).pipe(Effect.provide(platform.layer), Scope.provide(scope), Effect.orDie)
    const problems: Array<string> = []
    const callers: Array<Caller> = []
    let ending_ = false
    let ended = false
    let next = 0
    // Callers are detached fibers: they outlive the fiber that submitted them, as callers elsewhere in a program do.
    const submit = (effect: Effect.Effect<unknown, unknown>, expected: number) =>
      Effect.map(Effect.forkDetach(effect, { startImmediately: true }), (fiber) => {
        callers.push({ fiber, expected, duringEnding: ending_ && !ended, afterEnd: ended })
      })
    const twice = () => {
      const n = next++
      return submit(pool.deferToThread(Api.Twice, n), 2 * n + 1)
    }

    // Running: a Hold on one thread; on the other a Spin when the scope closes (only terminating the thread ends
    // it), a second Hold when `stop` must be able to finish.
    const gate = new Int32Array(new SharedArrayBuffer(16))
    const marks = new SharedArrayBuffer(16)
    yield* submit(pool.deferToThread(Api.Hold, gate.buffer), -1)
    if (ending === "stop") yield* submit(pool.deferToThread(Api.Hold, gate.buffer), -1)
    else yield* submit(pool.deferToThread(Api.Spin, { marks, id: 0, ms: 30_000 }), 0)
    yield* waitUntil(
      "both threads are busy",
      Effect.sync(() => Atomics.load(gate, 0) + Atomics.load(new Int32Array(marks), 0) === 2)
    )
    // Queued behind them.
    const queued = 10 + random.int(20)
    for (let i = 0; i < queued; i++) yield* twice()
    // Submitting from other fibers, until a few submissions after the ending began.
    const submitter = (pause: number) =>
      Effect.gen(function*() {
        let during = 0
        let after = 0
        while (after < 3) {
          if (ending_ && !ended) {
            during++
            if (!submitDuringEnding) {
              yield* waitUntil("the ending is over", Effect.sync(() => ended))
              continue
            }
          }
          // A bounded number during the ending, then a few once it is over.
          if (during <= 50 || ended) yield* twice()
          if (ended) after++
          yield* pause === 0 ? Effect.yieldNow : Effect.sleep(pause)
        }
      })
    const submitters = yield* Effect.forEach([0, 1, 2], (i) => Effect.forkChild(submitter(i)))
    yield* Effect.sleep(random.int(20))

    const bounded = <A, E>(what: string, effect: Effect.Effect<A, E>) =>
      Effect.timeoutOrElse(effect, {
        duration: closeBound,
        orElse: () => Effect.die(new Error(`${what} did not end within ${closeBound} (seed ${seed})`))
      })
    const close = bounded("closing the pool's scope", Scope.close(scope, Exit.void))
    ending_ = true
    let aliveAfterClose: number
    if (ending === "close") {
      yield* close
      ended = true
      aliveAfterClose = platform.alive()
    } else {
      const stopping = yield* Effect.forkChild(pool.stop, { startImmediately: true })
      yield* Effect.sleep(random.int(10))
      if (ending === "stop") {
        // The holds let go: stop runs the backlog, then releases the threads.
        Atomics.store(gate, 1, 1)
        const stopped = yield* bounded("stop", Fiber.await(stopping))
        if (Exit.isFailure(stopped)) problems.push(`stop: ${describeExit(stopped)}`)
        yield* close
        ended = true
        aliveAfterClose = platform.alive()
      } else {
        // The holds never let go: the scope closes while stop waits for them.
        yield* close
        ended = true
        aliveAfterClose = platform.alive()
        const stopped = yield* bounded("stop, once the scope closed", Fiber.await(stopping))
        if (Exit.isFailure(stopped) && !isInterruptedOnly(stopped)) problems.push(`stop: ${describeExit(stopped)}`)
      }
    }
    yield* bounded("the submitters", Fiber.joinAll(submitters))
    const settled = yield* Effect.timeoutOption(
      Fiber.awaitAll(callers.map((caller) => caller.fiber)),
      closeBound
    )
    if (settled._tag === "None") {
      const unsettled = callers.flatMap((caller, i) =>
        caller.fiber.pollUnsafe() === undefined ? [`${i}${caller.duringEnding ? " (during the ending)" : ""}`] : []
      )
      problems.push(`${unsettled.length} callers never settled: ${unsettled.slice(0, 5).join(", ")}, ...`)
    }

    let succeeded = 0
    let interrupted = 0
    let alreadyQuit = 0
    callers.forEach((caller, i) => {
      const exit = caller.fiber.pollUnsafe()
      if (exit === undefined) return
      const what = `caller ${i}${
        caller.duringEnding ? " (submitted during the ending)" : caller.afterEnd ? " (submitted after the ending)" : ""
      }`
      if (Exit.isSuccess(exit)) {
        succeeded++
        if (caller.expected >= 0 && exit.value !== caller.expected) problems.push(`${what}: ${describeExit(exit)}`)
      } else if (isInterruptedOnly(exit)) {
        interrupted++
        // Nobody interrupts the callers of a pool that only stops.
        if (ending === "stop") problems.push(`${what}: interrupted by stop`)
      } else if (AlreadyQuit.isAlreadyQuit(onlyFailure(exit))) {
        alreadyQuit++
      } else {
        problems.push(`${what}: ${describeExit(exit)}`)
      }
      // Once the scope has closed, a submission fails at once with AlreadyQuit.
      if (caller.afterEnd && !AlreadyQuit.isAlreadyQuit(onlyFailure(exit))) {
        problems.push(`${what}: ${describeExit(exit)}, not AlreadyQuit`)
      }
    })
    if (aliveAfterClose !== 0) problems.push(`${aliveAfterClose} threads alive right after the close`)
    yield* waitUntil("every thread exited", Effect.sync(() => platform.alive() === 0))
    return {
      seed,
      ending,
      callers: callers.length,
      succeeded,
      interrupted,
      alreadyQuit,
      submittedDuringEnding: callers.filter((caller) => caller.duringEnding).length,
      problems,
      threadsSpawned: platform.counts.spawned,
      aliveAfterClose
    }
  })
