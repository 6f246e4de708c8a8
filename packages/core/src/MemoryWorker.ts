/**
 * Ports Twisted's `createMemoryWorker` (`twisted._threads._memory`): an exclusive worker that only queues work, and
 * a `perform` that runs one queued item when a test says so. It makes concurrency deterministic.
 *
 * Beyond Twisted, {@link layer} ties memory workers to the clock: a driver fiber performs outstanding work each time
 * the clock moves by one tick. Under `TestClock` (as `it.effect` provides) a test steps every memory worker at once
 * with `TestClock.adjust`, so pooled code runs deterministically and without threads.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as Quit from "./internal/quit.ts"
import * as Worker from "./Worker.ts"

/**
 * A memory worker and the function that performs its work.
 *
 * **Details**
 *
 * - `worker.do(work)` only appends `work` to a FIFO list; nothing runs.
 * - `worker.quit` appends a "no more work" marker.
 * - `perform` handles at most one item: it succeeds with `false` when the list is empty or its head is the marker
 *   (forever after, since the marker stays), otherwise it removes the head, runs it, and succeeds with `true`. A
 *   defect in the item propagates out of `perform`; the item is already gone, so the next `perform` moves on.
 *   Work added while an item runs goes to the end of the list.
 *
 * @stability stable
 * @category models
 * @since 0.1.0
 */
export interface MemoryWorker<in out R = never> {
  readonly worker: Worker.ExclusiveWorker<R>
  readonly perform: Effect.Effect<boolean, never, R>
  /** The number of work items waiting (the quit marker is not counted). */
  readonly pending: () => number
}

const NoMoreWork = Symbol.for("@effect-threads/core/MemoryWorker/NoMoreWork")

/**
 * Creates a memory worker synchronously. Twisted's `createMemoryWorker()`.
 *
 * @stability stable
 * @category constructors
 * @since 0.1.0
 */
export const makeUnsafe = <R = never>(): MemoryWorker<R> => {
  const quit = Quit.make()
  const items: Array<Effect.Effect<void, never, R> | typeof NoMoreWork> = []
  const worker = Worker.makeExclusive<R>({
    do: (work) =>
      Effect.suspend(() => {
        if (quit.isSet) return Quit.alreadyQuit
        items.push(work)
        return Effect.void
      }),
    quit: Effect.suspend(() => {
      if (quit.isSet) return Quit.alreadyQuit
      return Effect.andThen(quit.set, Effect.sync(() => void items.push(NoMoreWork)))
    })
  })
  const perform: Effect.Effect<boolean, never, R> = Effect.suspend(() => {
    const head = items[0]
    if (head === undefined || head === NoMoreWork) return Effect.succeed(false)
    items.shift()
    return Effect.as(head, true)
  })
  return { worker, perform, pending: () => items.filter((item) => item !== NoMoreWork).length }
}

/**
 * Creates a memory worker. Twisted's `createMemoryWorker()`.
 *
 * **Example** (Stepping work by hand)
 *
 * ```ts
 * import { Effect } from "effect"
 * import { MemoryWorker } from "@effect-threads/core"
 *
 * const program = Effect.gen(function*() {
 *   const { worker, perform } = yield* MemoryWorker.make()
 *   yield* worker.do(Effect.log("ran"))
 *   const ran = yield* perform // true: the item ran
 *   const more = yield* perform // false: nothing left
 *   return [ran, more]
 * })
 * ```
 *
 * @stability stable
 * @category constructors
 * @since 0.1.0
 */
export const make = <R = never>(): Effect.Effect<MemoryWorker<R>> => Effect.sync(() => makeUnsafe<R>())

/**
 * The clock-driven memory workers of a test: every worker made through {@link MemoryWorkers.make} is stepped by
 * the driver that {@link layer} starts.
 *
 * @stability stable
 * @category models
 * @since 0.1.0
 */
export interface MemoryWorkersShape {
  /** Creates a memory worker that the driver steps. */
  readonly make: Effect.Effect<Worker.ExclusiveWorker>
  /**
   * One round: every live memory worker, in creation order, performs at most one item. Succeeds with whether any
   * item ran. The driver runs one round per tick.
   */
  readonly step: Effect.Effect<boolean>
  /** Runs rounds until a round runs nothing: Twisted's `performAllOutstandingWork`. */
  readonly drain: Effect.Effect<void>
  /** The number of items waiting over all memory workers. */
  readonly pending: Effect.Effect<number>
}

/**
 * The service behind {@link layer}.
 *
 * @stability stable
 * @category services
 * @since 0.1.0
 */
export class MemoryWorkers
  extends Context.Service<MemoryWorkers, MemoryWorkersShape>()("@effect-threads/core/MemoryWorker/MemoryWorkers")
{}

/**
 * Options of {@link layer}.
 *
 * @stability stable
 * @category models
 * @since 0.1.0
 */
export interface LayerOptions {
  /** How far the clock moves per round of work. Defaults to 1 millisecond. */
  readonly tick?: Duration.Input | undefined
}

/**
 * Builds the {@link MemoryWorkers} service and starts its driver in the current scope.
 *
 * @stability stable
 * @category constructors
 * @since 0.1.0
 */
export const makeDriven: (
  options?: LayerOptions
) => Effect.Effect<MemoryWorkersShape, never, Scope.Scope> = Effect.fnUntraced(function*(options?: LayerOptions) {
  const tick = Duration.fromInputUnsafe(options?.tick ?? Duration.millis(1))
  const workers: Array<MemoryWorker> = []
  const make = Effect.sync(() => {
    const memory = makeUnsafe()
    workers.push(memory)
    return memory.worker
  })
  const step: Effect.Effect<boolean> = Effect.suspend(() => {
    let ran = false
    return Effect.forEach(workers.slice(), (memory) => Effect.map(memory.perform, (did) => void (ran ||= did)), {
      discard: true
    }).pipe(Effect.map(() => ran))
  })
  const drain: Effect.Effect<void> = Effect.flatMap(step, (ran) => ran ? drain : Effect.void)
  // A defect in an item propagates out of `step`, as out of `perform`; the driver logs it and keeps stepping.
  const round = Effect.catchCause(step, (cause) => Effect.logError("memory worker item failed", cause))
  yield* Effect.forkScoped(Effect.forever(Effect.andThen(Effect.sleep(tick), round)))
  return MemoryWorkers.of({
    make,
    step,
    drain,
    pending: Effect.sync(() => workers.reduce((n, memory) => n + memory.pending(), 0))
  })
})

/**
 * A test layer of clock-driven memory workers: each time the clock moves by one tick, every memory worker performs
 * at most one queued item. Under `TestClock`, `TestClock.adjust` steps all of them deterministically.
 *
 * **Example** (Stepping a worker with the TestClock)
 *
 * ```ts
 * import { Effect } from "effect"
 * import { TestClock } from "effect/testing"
 * import { MemoryWorker } from "@effect-threads/core"
 *
 * const program = Effect.gen(function*() {
 *   const memory = yield* MemoryWorker.MemoryWorkers
 *   const worker = yield* memory.make
 *   yield* worker.do(Effect.log("ran"))
 *   yield* TestClock.adjust("1 millis") // one round: the item runs
 * }).pipe(Effect.provide(MemoryWorker.layer()))
 * ```
 *
 * @stability stable
 * @category layers
 * @since 0.1.0
 */
export const layer = (options?: LayerOptions): Layer.Layer<MemoryWorkers> =>
  Layer.effect(MemoryWorkers)(makeDriven(options))
