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
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as LockWorker from "./LockWorker.ts"
import * as Team from "./Team.ts"
import * as ThreadWorker from "./ThreadWorker.ts"

/**
 * The pool's `currentLimit` gave something that is not a number of workers, or failed.
 *
 * @stability stable
 * @category errors
 * @since 0.1.0
 */
export class InvalidLimit extends Schema.TaggedError<InvalidLimit>()("InvalidLimit", {
  message: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {}

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
}

/**
 * Checks a limit: a non-negative integer or `Infinity`.
 *
 * @stability stable
 * @category validation
 * @since 0.1.0
 */
export const validateLimit = (limit: Effect.Effect<number, unknown>): Effect.Effect<number, InvalidLimit> =>
  Effect.matchCauseEffect(limit, {
    onFailure: (cause) =>
      Cause.hasInterruptsOnly(cause)
        ? Effect.failCause(cause as Cause.Cause<never>)
        : Effect.fail(new InvalidLimit({ message: "currentLimit failed", cause: Cause.squash(cause) })),
    onSuccess: (n) =>
      typeof n === "number" && (n === Infinity || (Number.isInteger(n) && n >= 0))
        ? Effect.succeed(n)
        : Effect.fail(
          new InvalidLimit({
            message: `currentLimit must be a non-negative integer or Infinity, got ${String(n)}`
          })
        )
  })

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
    let team: Team.Team<T, E | InvalidLimit> | undefined
    const createWorker = Effect.gen(function*() {
      const statistics = yield* team!.statistics
      const max = yield* limit
      if (statistics.busyWorkerCount + statistics.idleWorkerCount >= max) return Option.none()
      return Option.some(yield* ThreadWorker.make(options.startThread, { concurrency: options.capacity }))
    }).pipe(Effect.provideContext(context))
    team = yield* Team.makeScoped({
      coordinator: LockWorker.makeUnsafe(),
      createWorker,
      logException: options.logException,
      capacity: options.capacity
    })
    return team
  })
