/**
 * Ports Twisted's `pool(currentLimit, threadFactory)` (`twisted._threads._pool`): a {@link Team} of
 * {@link ThreadWorker}s coordinated by a {@link LockWorker}, that creates a worker only while the team has fewer
 * workers than `currentLimit` says.
 *
 * `currentLimit` is an `Effect<number>` consulted only when the team would create a worker: on `do` when no worker
 * is idle, and on every step of `grow` (spec 1.9). It is never consulted to remove workers. A limit that is not a
 * number of workers (negative, NaN, fractional) or an effect that fails gives an {@link InvalidLimit} error to the
 * caller whose task needed a worker, instead of a task that waits forever.
 *
 * The pool's workers live in the scope `make` runs in. Closing it quits the team and releases every thread the
 * pool started.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Limit from "./internal/limit.ts"
import * as Pacer from "./internal/pacer.ts"
import * as LockWorker from "./LockWorker.ts"
import * as Team from "./Team.ts"
import type { InvalidLimit } from "./ThreadError.ts"
import * as ThreadWorker from "./ThreadWorker.ts"
import type * as Worker from "./Worker.ts"

export {
  /**
   * The pool's `currentLimit` gave something that is not a number of workers, or failed. The class is
   * `ThreadError.InvalidLimit`, re-exported here under its first name.
   *
   * @stability stable
   * @category errors
   * @since 0.1.0
   */
  InvalidLimit
} from "./ThreadError.ts"

/**
 * Options of {@link make}.
 *
 * @stability stable
 * @category models
 * @since 0.1.0
 */
export interface Options<T, E, R> {
  /** The most workers the team may have when it would create one. Consulted only then. */
  readonly currentLimit: Effect.Effect<number, unknown>
  /** Starts one thread: Twisted's `threadFactory`. */
  readonly startThread: ThreadWorker.StartThread<T, E, R>
  /** Receives the cause of every failed task. */
  readonly logException?: Team.LogException | undefined
  /**
   * How many tasks each thread may hold at once (see {@link Team.Options.capacity}). Defaults to 1, Twisted's
   * pool. More lets the tasks of a thread be on their way to it while it runs the one before.
   */
  readonly capacity?: number | undefined
  /**
   * Beyond Twisted: an adaptive pool. `currentLimit` becomes a ceiling only; above `minWorkers` new workers are
   * paced by a schedule instead of refused by a cap, and idle workers are released after a keep-alive.
   */
  readonly adaptive?: Adaptive | undefined
  /** Called with the team's statistics after every coordinator step. */
  readonly onStatistics?: ((statistics: Team.Statistics) => void) | undefined
}

/**
 * The adaptive sizing policy: the design that the note to future maintainers in Twisted's `pool()` asks for (spec
 * 5.1, ticket 5298). A hard cap turns a memory concern into a deadlock (tasks waiting for a slot held by tasks that
 * wait for them); without a ceiling (`currentLimit` of `Infinity`) and with a `pacing` schedule that does not end,
 * this policy never refuses a worker for good, it only slows the creation of workers down, and gives idle ones back
 * slowly. With a ceiling of N workers, N tasks that wait on other tasks of the pool deadlock it as a hard cap does.
 *
 * **Details**
 *
 * - Up to `minWorkers` workers are created whenever work needs them, at once, and are never released.
 * - Above it, creating a worker takes a token. There is one token; it is taken by a creation and given back when
 *   the `pacing` schedule's next delay has passed. A task that finds no idle worker and no token waits in the
 *   backlog; as soon as the token is back, a worker is created for the backlog. The schedule sets the rate
 *   (`Schedule.spaced("100 millis")`: at most ten new workers a second), and can speed up, slow down or end (no
 *   more growth) as schedules do.
 * - Each time the `release` schedule fires, at most `releaseAtMost` workers that have been idle for `keepAlive` or
 *   longer are quit, the longest idle first, never going below `minWorkers`.
 * - `currentLimit` stays as a ceiling that is never passed.
 *
 * Its fields and their defaults: `minWorkers` (0), `keepAlive` (10 seconds), `release`
 * (`Schedule.spaced("1 second")`), `releaseAtMost` (1), `pacing` (`Schedule.spaced("100 millis")`). The same
 * policy, run by the same code, sizes a `ThreadPool` made with `adaptive` (where `minThreads` plays `minWorkers`).
 *
 * @stability experimental
 * @category models
 * @since 0.1.0
 */
export type Adaptive = Pacer.Policy

/**
 * Checks a limit: a non-negative integer or `Infinity`.
 *
 * @stability stable
 * @category validation
 * @since 0.1.0
 */
export const validateLimit: (limit: Effect.Effect<number, unknown>) => Effect.Effect<number, InvalidLimit> =
  Limit.validate

/**
 * Creates the pool: Twisted's `pool(currentLimit, threadFactory)`.
 *
 * **Example** (A pool of in-process "threads" with a limit of 2)
 *
 * ```ts
 * import { Context, Effect } from "effect"
 * import { TeamPool } from "@effect-threads/core"
 *
 * class ThreadId extends Context.Service<ThreadId, number>()("ThreadId") {}
 * let next = 0
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const team = yield* TeamPool.make({
 *     currentLimit: Effect.succeed(2),
 *     startThread: Effect.sync(() => Context.make(ThreadId, next++))
 *   })
 *   yield* team.do(ThreadId.use((id) => Effect.log(`on thread ${id}`)))
 * }))
 * ```
 *
 * @stability stable
 * @category constructors
 * @since 0.1.0
 */
export const make = <T, E = never, R = never>(
  options: Options<T, E, R>
): Effect.Effect<Team.Team<T, E | InvalidLimit>, never, R | Scope.Scope> =>
  Effect.gen(function*() {
    const context = yield* Effect.context<R | Scope.Scope>()
    const limit = validateLimit(options.currentLimit)
    const adaptive = options.adaptive
    const minWorkers = adaptive?.minWorkers ?? 0
    // The adaptive policy's one creation token, and the signal that it was taken.
    let token = true
    const taken = Pacer.signal(() => !token)
    let team: Team.Team<T, E | InvalidLimit> | undefined
    const newWorker = Effect.map(
      ThreadWorker.make(options.startThread, { concurrency: options.capacity }),
      (worker): Option.Option<Worker.Worker<T>> => Option.some(worker)
    )
    const createWorker = Effect.suspend(() => team === undefined ? Effect.die("unreachable") : team.statistics).pipe(
      Effect.flatMap((statistics) => {
        const workers = statistics.busyWorkerCount + statistics.idleWorkerCount
        return Effect.flatMap(limit, (max) => {
          if (workers >= max) return Effect.succeedNone
          if (adaptive === undefined || workers < minWorkers) return newWorker
          if (!token) return Effect.succeedNone
          token = false
          taken.notify()
          return newWorker
        })
      }),
      Effect.provideContext(context)
    )
    const created = yield* Team.makeScoped({
      coordinator: LockWorker.makeUnsafe(),
      createWorker,
      logException: options.logException,
      capacity: options.capacity,
      onStatistics: options.onStatistics
    })
    team = created
    if (adaptive !== undefined) {
      yield* Pacer.run(adaptive, {
        taken: taken.wait,
        giveBack: Effect.suspend(() => {
          token = true
          return created.statistics
        }).pipe(
          Effect.flatMap((statistics) => statistics.backloggedWorkCount > 0 ? created.grow(1) : Effect.void)
        ),
        releaseIdle: ({ idleFor, max }) => created.releaseIdle({ idleFor, max, keep: minWorkers })
      })
    }
    return created
  })
