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
import { identity } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import type { AlreadyQuit } from "./AlreadyQuit.ts"
import * as Log from "./internal/log.ts"
import * as Quit from "./internal/quit.ts"
import * as TeamState from "./internal/team.ts"
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
export const logExceptionDefault: LogException = Log.logExceptionDefault

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
  const onStatistics = options.onStatistics
  const clock = options.clock
  const quit = Quit.make()

  // The Effects the transition now running has decided, in order; the step runs them once it returns.
  let decided: Array<Effect.Effect<void>> = []
  const state = TeamState.make<Worker.Worker<R>, Effect.Effect<void, never, R>>({
    dispatch: (worker, task) => void decided.push(given(worker, task)),
    quitWorker: (worker) => void decided.push(Effect.orDie(worker.quit)),
    quitCoordinator: () => void decided.push(Effect.orDie(coordinator.quit)),
    now: clock === undefined ? Date.now : () => clock.currentTimeMillisUnsafe()
  }, options.capacity ?? 1)

  /** Runs `transition` on the state, then what it decided, in order. */
  const transit = (transition: () => void): Effect.Effect<void> => {
    const effects: Array<Effect.Effect<void>> = []
    decided = effects
    transition()
    return runAll(effects)
  }

  const report = (cause: Cause.Cause<unknown>): Effect.Effect<void> =>
    Effect.catchCause(logException(cause), () => Effect.void)

  // Bookkeeping is never cut short: neither the step, nor the work it queues re-entrantly on a LockWorker (a
  // synchronous worker's completion notice), nor waiting for the coordinator's lock.
  const observed = onStatistics === undefined
    ? (step: Effect.Effect<void>) => step
    : (step: Effect.Effect<void>) => Effect.andThen(step, Effect.sync(() => onStatistics(TeamState.statistics(state))))
  const onCoordinator = (step: Effect.Effect<void>): Effect.Effect<void, AlreadyQuit> =>
    Effect.uninterruptible(coordinator.do(observed(step)))

  // The task, then its completion notice: Twisted's `worker.do(doWork)`.
  const given = (worker: Worker.Worker<R>, task: Effect.Effect<void, never, R>): Effect.Effect<void> =>
    Effect.orDie(worker.do(Effect.andThen(Effect.catchCause(task, report), finished(worker))))
  // Each worker's completion notice, made once.
  const notices = new WeakMap<Worker.Worker<R>, Effect.Effect<void>>()
  const finished = (worker: Worker.Worker<R>): Effect.Effect<void> => {
    let notice = notices.get(worker)
    if (notice === undefined) {
      notice = Effect.orDie(onCoordinator(Effect.suspend(() => transit(() => TeamState.finish(state, worker)))))
      notices.set(worker, notice)
    }
    return notice
  }

  // A creation failure goes back to a caller still waiting for this step (whose task is then not kept), or to
  // logException (and the task goes on as if no worker could be created).
  const creationFailed = (cause: Cause.Cause<E>, submission: Submission<E>): Effect.Effect<boolean> => {
    if (!submission.returned) {
      submission.failure = cause
      return Effect.succeed(true)
    }
    return Effect.as(report(cause), false)
  }

  // A new task: an idle worker, or else a new one, a worker with room, or the backlog.
  const place = (task: Effect.Effect<void, never, R>, submission: Submission<E>): Effect.Effect<void> =>
    Effect.suspend(() => {
      const effects: Array<Effect.Effect<void>> = []
      decided = effects
      if (TeamState.placeIdle(state, task)) return runAll(effects)
      return Effect.matchCauseEffect(createWorker, {
        onFailure: (cause) =>
          Effect.flatMap(
            creationFailed(cause, submission),
            (rejected) => rejected ? Effect.void : transit(() => void TeamState.placeCreated(state, task, undefined))
          ),
        onSuccess: (created) => transit(() => void TeamState.placeCreated(state, task, Option.getOrUndefined(created)))
      })
    })

  // Up to `n` new workers, each idle at once (so it takes the backlog's oldest task), until the factory refuses.
  const grow = (n: number, submission: Submission<E>): Effect.Effect<void> =>
    !(n > 0) ? Effect.void : Effect.matchCauseEffect(createWorker, {
      onFailure: (cause) => Effect.asVoid(creationFailed(cause, submission)),
      onSuccess: (created) =>
        Option.isSome(created)
          ? Effect.andThen(
            transit(() => TeamState.add(state, created.value)),
            Effect.suspend(() => grow(n - 1, submission))
          )
          : Effect.void
    })

  // Runs `step` on the coordinator; a creation failure it hands back is the caller's.
  const submit = (step: (submission: Submission<E>) => Effect.Effect<void>): Effect.Effect<void, AlreadyQuit | E> =>
    Effect.suspend(() => {
      if (quit.isSet) return Quit.alreadyQuit
      const submission: Submission<E> = { returned: false, failure: undefined }
      return Effect.flatMap(onCoordinator(step(submission)), () => {
        submission.returned = true
        return submission.failure === undefined ? Effect.void : Effect.failCause(submission.failure)
      })
    })

  const releaseIdle: Team<R, E>["releaseIdle"] = (releasing) =>
    Effect.suspend(() => {
      if (quit.isSet) return Quit.alreadyQuit
      let released = 0
      const step = Effect.suspend(() => transit(() => void (released = TeamState.releaseIdle(state, releasing))))
      return Effect.map(onCoordinator(step), () => released)
    })

  return {
    [Worker.TypeId]: Worker.TypeId,
    releaseIdle,
    do: (work) => submit((submission) => place(work, submission)),
    grow: (n) => submit((submission) => grow(n, submission)),
    shrink: (n) =>
      Effect.andThen(quit.check, onCoordinator(Effect.suspend(() => transit(() => TeamState.quitIdlers(state, n))))),
    quit: quit.set.pipe(
      Effect.andThen(options.afterQuitSet ?? Effect.void),
      Effect.andThen(onCoordinator(Effect.suspend(() => transit(() => TeamState.quit(state)))))
    ),
    statistics: Effect.sync(() => TeamState.statistics(state)),
    isQuit: Effect.sync(() => quit.isSet)
  }
}

/** A task's submission, to tell whether the caller is still waiting for the coordinator's step. */
interface Submission<E> {
  returned: boolean
  failure: Cause.Cause<E> | undefined
}

/** Runs the Effects a transition decided, in order. */
const runAll = (effects: ReadonlyArray<Effect.Effect<void>>): Effect.Effect<void> => {
  switch (effects.length) {
    case 0:
      return Effect.void
    case 1:
      return effects[0]!
    default:
      return Effect.forEach(effects, identity, { discard: true })
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
