/**
 * Ports Twisted's `Team` (`twisted._threads._team`): a worker made of many workers. It spreads work over workers
 * that a factory creates, and keeps its bookkeeping (idle workers, busy count, backlog) consistent by running every
 * change to it as work on an exclusive coordinator.
 *
 * The semantics are Twisted's (spec 1.8), subtleties included: a new task takes an idle worker or creates one
 * before the backlog is looked at; a worker that finishes takes the oldest backlogged task; `shrink` quits idle
 * workers now and leaves a shrink debt that busy workers pay as they finish, even workers grown later; after
 * `quit` the backlog still drains through the workers that exist, and the coordinator quits exactly once, when the
 * last busy worker has finished. The coordinator's own `shouldQuitCoordinator` flag is kept apart from the public
 * quit flag, for the race that Twisted fixed in #2673.
 *
 * @since 0.1.0
 */
import type * as Cause from "effect/Cause"
import type * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as MutableList from "effect/MutableList"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import type { AlreadyQuit } from "./AlreadyQuit.ts"
import * as Quit from "./internal/quit.ts"
import * as Worker from "./Worker.ts"

/**
 * A snapshot of a team's bookkeeping. Twisted's `Statistics`.
 *
 * **Details**
 *
 * - `idleWorkerCount`: workers waiting for work.
 * - `busyWorkerCount`: workers given a task whose completion the coordinator has not yet processed. A worker counts
 *   as busy from dispatch, before it starts, until the coordinator has handled its completion notice.
 * - `backloggedWorkCount`: tasks that found no idle worker and no capacity to create one.
 *
 * The numbers are read directly, not through the coordinator: with an asynchronous coordinator they change only
 * when the coordinator runs.
 *
 * @stability stable
 * @category models
 * @since 0.1.0
 */
export interface Statistics {
  readonly idleWorkerCount: number
  readonly busyWorkerCount: number
  readonly backloggedWorkCount: number
}

/**
 * A team of workers. It is a {@link Worker.Worker} (not an exclusive one: its tasks run in parallel) with the
 * operations to resize it and to read its statistics.
 *
 * **Details**
 *
 * `E` is how creating a worker can fail (a spawn error, a bad limit). When the coordinator runs a step before `do`
 * or `grow` returns (a `LockWorker` does), that failure is returned to the caller and the task is not kept. When
 * the coordinator runs it later (a memory worker), the failure goes to `logException` and the task is backlogged,
 * as if no worker could be created.
 *
 * @stability stable
 * @category models
 * @since 0.1.0
 */
export interface Team<in R = never, out E = never> {
  readonly [Worker.TypeId]: Worker.TypeId
  /** Runs `work` on some worker. Fails with `AlreadyQuit` after `quit`. */
  readonly do: (work: Effect.Effect<void, never, R>) => Effect.Effect<void, AlreadyQuit | E>
  /** Quits idle workers now and busy ones as they finish, after the backlog has drained. */
  readonly quit: Effect.Effect<void, AlreadyQuit>
  /** Creates up to `n` workers; stops at the first that the factory refuses. */
  readonly grow: (n: number) => Effect.Effect<void, AlreadyQuit | E>
  /** Quits `n` workers (all of them by default): idle ones now, busy ones as they finish. */
  readonly shrink: (n?: number | undefined) => Effect.Effect<void, AlreadyQuit>
  /**
   * Beyond Twisted: quits up to `max` workers that have been idle for at least `idleFor` milliseconds, the longest
   * idle first, keeping at least `keep` workers. Succeeds with how many it quit. The adaptive pool releases idle
   * threads with it.
   */
  readonly releaseIdle: (
    options: { readonly idleFor: number; readonly max: number; readonly keep: number }
  ) => Effect.Effect<number, AlreadyQuit>
  /** The current {@link Statistics}. */
  readonly statistics: Effect.Effect<Statistics>
  /** Whether `quit` has been called. */
  readonly isQuit: Effect.Effect<boolean>
}

/**
 * How a {@link Team} reports a task's failure: Twisted's `logException`, given the failure explicitly.
 *
 * @stability stable
 * @category models
 * @since 0.1.0
 */
export type LogException = (cause: Cause.Cause<unknown>) => Effect.Effect<void>

/**
 * The default {@link LogException}: logs the cause at error level.
 *
 * @stability stable
 * @category constructors
 * @since 0.1.0
 */
export const logExceptionDefault: LogException = (cause) => Effect.logError("Unhandled error in team work", cause)

/**
 * Options of {@link make}. Twisted's `Team(coordinator, createWorker, logException)`.
 *
 * @stability stable
 * @category models
 * @since 0.1.0
 */
export interface Options<R, E> {
  /** The exclusive worker that runs all bookkeeping. */
  readonly coordinator: Worker.ExclusiveWorker
  /** Creates a worker, or gives `None` when there is no capacity now (which is not an error). */
  readonly createWorker: Effect.Effect<Option.Option<Worker.Worker<R>>, E>
  /** Receives the cause of every failed task. Defaults to {@link logExceptionDefault}. */
  readonly logException?: LogException | undefined
  /**
   * How many tasks one worker may hold at once. Defaults to 1, Twisted's Team: a worker gets a task only when it
   * is idle. With more, a worker that has work keeps getting tasks up to this many (after idle workers and new
   * workers are tried), so a worker that runs its tasks in order elsewhere (a thread) always has the next ones at
   * hand. A worker then counts as busy while it holds at least one task, and as idle when it holds none.
   */
  readonly capacity?: number | undefined
  /** Called with the statistics after every coordinator step (to feed gauges). */
  readonly onStatistics?: ((statistics: Statistics) => void) | undefined
  /** Reads the time at which a worker becomes idle. Defaults to the `Clock` of the fiber that runs `make`. */
  readonly clock?: Clock.Clock | undefined
  /**
   * Runs right after `quit` has set the public quit flag and before the coordinator's finishing step is queued:
   * the window of Twisted's `test_quitConcurrentWithWorkHappening`.
   *
   * @internal
   */
  readonly afterQuitSet?: Effect.Effect<void> | undefined
}

/** A task's submission, to tell whether the caller is still waiting for the coordinator's step. */
interface Submission<E> {
  returned: boolean
  failure: Cause.Cause<E> | undefined
}

/**
 * Creates a team.
 *
 * **Example** (A team of memory workers, stepped by hand)
 *
 * ```ts
 * import { Effect, Option } from "effect"
 * import { MemoryWorker, Team } from "@effect-threads/core"
 *
 * const program = Effect.gen(function*() {
 *   const coordinator = MemoryWorker.makeUnsafe()
 *   const workers: Array<MemoryWorker.MemoryWorker> = []
 *   const team = yield* Team.make({
 *     coordinator: coordinator.worker,
 *     createWorker: Effect.sync(() => {
 *       const memory = MemoryWorker.makeUnsafe()
 *       workers.push(memory)
 *       return Option.some(memory.worker)
 *     })
 *   })
 *   yield* team.do(Effect.log("hello"))
 *   yield* coordinator.perform // dispatches the task to a new worker
 *   return yield* team.statistics // { idle: 0, busy: 1, backlogged: 0 }
 * })
 * ```
 *
 * @stability stable
 * @category constructors
 * @since 0.1.0
 */
export const make = <R = never, E = never>(options: Options<R, E>): Effect.Effect<Team<R, E>> =>
  Effect.clockWith((clock) => Effect.sync(() => makeUnsafe({ clock, ...options })))

/**
 * Creates a team synchronously.
 *
 * @stability stable
 * @category constructors
 * @since 0.1.0
 */
export const makeUnsafe = <R = never, E = never>(options: Options<R, E>): Team<R, E> => {
  const { coordinator, createWorker } = options
  const logException = options.logException ?? logExceptionDefault
  const quit = Quit.make()
  // Don't touch these except from the coordinator.
  const capacity = Math.max(1, options.capacity ?? 1)
  const idle: Array<Worker.Worker<R>> = []
  // Workers holding some tasks but fewer than `capacity` (never used when `capacity` is 1), and every busy
  // worker's number of tasks.
  const partial: Array<Worker.Worker<R>> = []
  const load = new Map<Worker.Worker<R>, number>()
  const pending = MutableList.make<Effect.Effect<void, never, R>>()
  // When each idle worker became idle, for releaseIdle. Bottom of the `idle` stack: idle the longest.
  const idleSince = new Map<Worker.Worker<R>, number>()
  const clock = options.clock
  const now = clock === undefined ? () => Date.now() : () => clock.currentTimeMillisUnsafe()
  let busyCount = 0
  let shouldQuitCoordinator = false
  let toShrink = 0

  // Bookkeeping is never cut short: neither the step, nor the work it queues re-entrantly on a LockWorker (a
  // synchronous worker's completion notice), nor waiting for the coordinator's lock.
  const onStatistics = options.onStatistics
  const statisticsUnsafe = (): Statistics => ({
    idleWorkerCount: idle.length,
    busyWorkerCount: busyCount,
    backloggedWorkCount: pending.length
  })
  const observed = (step: Effect.Effect<void>): Effect.Effect<void> =>
    onStatistics === undefined ? step : Effect.tap(step, () => Effect.sync(() => onStatistics(statisticsUnsafe())))
  const onCoordinator = (step: Effect.Effect<void>): Effect.Effect<void, AlreadyQuit> =>
    Effect.uninterruptible(coordinator.do(observed(step)))

  const report = (cause: Cause.Cause<unknown>): Effect.Effect<void> =>
    Effect.catchCause(logException(cause), () => Effect.void)

  // A creation failure goes back to a caller still waiting for this step, or to logException.
  const creationFailed = (cause: Cause.Cause<E>, submission: Submission<E> | undefined): Effect.Effect<boolean> =>
    Effect.suspend(() => {
      if (submission !== undefined && !submission.returned) {
        submission.failure = cause
        return Effect.succeed(true)
      }
      return Effect.as(report(cause), false)
    })

  const dispatch = (worker: Worker.Worker<R>, task: Effect.Effect<void, never, R>): Effect.Effect<void> =>
    Effect.suspend(() => {
      const held = (load.get(worker) ?? 0) + 1
      load.set(worker, held)
      if (held === 1) busyCount += 1
      const finished = onCoordinator(Effect.suspend(() => finish(worker)))
      const given = Effect.orDie(worker.do(Effect.andThen(Effect.catchCause(task, report), Effect.orDie(finished))))
      if (held >= capacity) return given
      // Room left (never, in Twisted's Team): the backlog comes first, then the worker waits with the others.
      const next = MutableList.take(pending)
      if (next !== MutableList.Empty) return Effect.andThen(given, dispatch(worker, next))
      partial.push(worker)
      return given
    })

  // No idle worker and none created: a worker with room takes the task (in turn, so they fill evenly), or the
  // task waits in the backlog.
  const noWorker = (task: Effect.Effect<void, never, R>): Effect.Effect<void> =>
    Effect.suspend(() => {
      const worker = partial.shift()
      if (worker !== undefined) return dispatch(worker, task)
      MutableList.append(pending, task)
      return Effect.void
    })

  const coordinate = (
    task: Effect.Effect<void, never, R>,
    submission: Submission<E> | undefined
  ): Effect.Effect<void> =>
    Effect.suspend(() => {
      const worker = idle.pop()
      if (worker !== undefined) {
        idleSince.delete(worker)
        return dispatch(worker, task)
      }
      return Effect.matchCauseEffect(createWorker, {
        onFailure: (cause) =>
          Effect.flatMap(creationFailed(cause, submission), (rejected) => rejected ? Effect.void : noWorker(task)),
        onSuccess: (created) => Option.isSome(created) ? dispatch(created.value, task) : noWorker(task)
      })
    })

  // A worker's task is done: Twisted's completion notice.
  const finish = (worker: Worker.Worker<R>): Effect.Effect<void> =>
    Effect.suspend(() => {
      const held = (load.get(worker) ?? 1) - 1
      if (capacity > 1) {
        const at = partial.indexOf(worker)
        if (at >= 0) partial.splice(at, 1)
      }
      if (held === 0) {
        load.delete(worker)
        busyCount -= 1
        return recycle(worker)
      }
      // Still busy, with room again: the oldest backlogged task, if any, goes to it.
      load.set(worker, held)
      const next = MutableList.take(pending)
      if (next !== MutableList.Empty) return dispatch(worker, next)
      partial.push(worker)
      return Effect.void
    })

  const recycle = (worker: Worker.Worker<R>): Effect.Effect<void> =>
    Effect.suspend(() => {
      idle.push(worker)
      idleSince.set(worker, now())
      const next = MutableList.take(pending)
      if (next !== MutableList.Empty) return coordinate(next, undefined)
      if (shouldQuitCoordinator) return quitIdlers(undefined)
      if (toShrink > 0) {
        toShrink -= 1
        idle.pop()
        idleSince.delete(worker)
        return Effect.orDie(worker.quit)
      }
      return Effect.void
    })

  const quitIdlers = (n: number | undefined): Effect.Effect<void> =>
    Effect.suspend(() => {
      const requested = n ?? idle.length + busyCount
      const count = requested > 0 ? Math.ceil(requested) : 0
      const fromIdle = Math.min(count, idle.length)
      const quitting = idle.splice(idle.length - fromIdle, fromIdle).reverse()
      for (const worker of quitting) idleSince.delete(worker)
      toShrink += count - fromIdle
      const quitAll = Effect.forEach(quitting, (worker) => Effect.orDie(worker.quit), { discard: true })
      return shouldQuitCoordinator && busyCount === 0
        ? Effect.andThen(quitAll, Effect.orDie(coordinator.quit))
        : quitAll
    })

  const submit = (step: (submission: Submission<E>) => Effect.Effect<void>): Effect.Effect<void, AlreadyQuit | E> =>
    Effect.suspend(() => {
      const submission: Submission<E> = { returned: false, failure: undefined }
      return onCoordinator(step(submission)).pipe(
        Effect.andThen(Effect.suspend(() => {
          submission.returned = true
          return submission.failure === undefined ? Effect.void : Effect.failCause(submission.failure)
        }))
      )
    })

  const grow = (n: number, submission: Submission<E>): Effect.Effect<void> =>
    !(n > 0) ? Effect.void : Effect.matchCauseEffect(createWorker, {
      onFailure: (cause) => Effect.asVoid(creationFailed(cause, submission)),
      onSuccess: (created) =>
        Option.isSome(created)
          ? Effect.andThen(recycle(created.value), Effect.suspend(() => grow(n - 1, submission)))
          : Effect.void
    })

  const releaseIdle: Team<R, E>["releaseIdle"] = ({ idleFor, keep, max }) =>
    Effect.andThen(
      quit.check,
      Effect.suspend(() => {
        let released = 0
        const step = Effect.suspend(() => {
          const cutoff = now() - idleFor
          const allowed = Math.min(max, idle.length + busyCount - keep)
          const quitting: Array<Worker.Worker<R>> = []
          while (quitting.length < allowed) {
            const oldest = idle[0]
            if (oldest === undefined || (idleSince.get(oldest) ?? Infinity) > cutoff) break
            idle.shift()
            idleSince.delete(oldest)
            quitting.push(oldest)
          }
          released = quitting.length
          return Effect.forEach(quitting, (worker) => Effect.orDie(worker.quit), { discard: true })
        })
        return Effect.map(onCoordinator(step), () => released)
      })
    )

  return {
    [Worker.TypeId]: Worker.TypeId,
    releaseIdle,
    do: (work) => Effect.andThen(quit.check, submit((submission) => coordinate(work, submission))),
    grow: (n) => Effect.andThen(quit.check, submit((submission) => grow(n, submission))),
    shrink: (n) => Effect.andThen(quit.check, onCoordinator(quitIdlers(n))),
    quit: quit.set.pipe(
      Effect.andThen(options.afterQuitSet ?? Effect.void),
      Effect.andThen(onCoordinator(Effect.suspend(() => {
        shouldQuitCoordinator = true
        return quitIdlers(undefined)
      })))
    ),
    statistics: Effect.sync(statisticsUnsafe),
    isQuit: Effect.sync(() => quit.isSet)
  }
}

/**
 * Creates a team whose scope quits it: when the scope closes, the team is quit (if it was not already), so its
 * idle workers are quit at once and busy ones as they finish.
 *
 * @stability stable
 * @category constructors
 * @since 0.1.0
 */
export const makeScoped = <R = never, E = never>(
  options: Options<R, E>
): Effect.Effect<Team<R, E>, never, Scope.Scope> =>
  Effect.acquireRelease(make(options), (team) => Effect.ignore(team.quit))

/**
 * The team service, for programs that are handed a team of in-process workers by a layer.
 *
 * @stability stable
 * @category services
 * @since 0.1.0
 */
export class TeamService extends Context.Service<TeamService, Team>()("@effect-threads/core/Team") {}

/**
 * A layer that provides a {@link TeamService} and quits the team when the layer's scope closes.
 *
 * @stability stable
 * @category layers
 * @since 0.1.0
 */
export const layer = (options: Options<never, never>): Layer.Layer<TeamService> =>
  Layer.effect(TeamService)(makeScoped(options))
