/**
 * Ports Twisted's `IWorker` and `IExclusiveWorker` (`twisted._threads._ithreads`): a worker is anything that runs
 * units of work somewhere and can be quit.
 *
 * Twisted's work is a zero-argument callable. Here it is an `Effect<void, never, R>`: work that returns nothing and
 * whose failures are defects, which the worker reports or propagates as Twisted does. `R` is what the work needs
 * from the place it runs on: an in-process worker takes `Effect<void>`, a thread worker provides its thread's
 * services to the work, so work for a thread is `Effect<void, never, SomeThread>`.
 *
 * The promise is as weak as Twisted's: `do` arranges for the work to run later, now, elsewhere, or, legitimately,
 * never. `do` and `quit` fail with `AlreadyQuit` once the worker has been quit, at once and in the error channel.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import { hasProperty } from "effect/Predicate"
import type { AlreadyQuit } from "./AlreadyQuit.ts"

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId = "~@effect-threads/core/Worker" as const

/**
 * @since 0.1.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * Twisted's `IWorker`: something that runs work and can be quit.
 *
 * **Details**
 *
 * - `do(work)` arranges for `work` to run. When and where is the worker's business. It fails with
 *   {@link AlreadyQuit} once `quit` has run.
 * - `quit` releases the worker's resources and makes every later `do` fail. A second `quit` fails with
 *   {@link AlreadyQuit}.
 *
 * @stability stable
 * @category models
 * @since 0.1.0
 */
export interface Worker<in R = never> {
  readonly [TypeId]: TypeId
  readonly do: (work: Effect.Effect<void, never, R>) => Effect.Effect<void, AlreadyQuit>
  readonly quit: Effect.Effect<void, AlreadyQuit>
}

/**
 * Twisted's `IExclusiveWorker`: a {@link Worker} whose units of work never run at the same time as each other.
 *
 * **Details**
 *
 * They may still run concurrently with the caller of `do`. A {@link Team}'s coordinator must be exclusive; the type
 * says so through the `exclusive` marker.
 *
 * @stability stable
 * @category models
 * @since 0.1.0
 */
export interface ExclusiveWorker<in R = never> extends Worker<R> {
  readonly exclusive: true
}

/**
 * Whether a value is a {@link Worker}.
 *
 * @stability stable
 * @category guards
 * @since 0.1.0
 */
export const isWorker = (u: unknown): u is Worker<never> => hasProperty(u, TypeId)

/**
 * Whether a worker promises mutual exclusion of its work.
 *
 * @stability stable
 * @category guards
 * @since 0.1.0
 */
export const isExclusive = <R>(worker: Worker<R>): worker is ExclusiveWorker<R> =>
  hasProperty(worker, "exclusive") && worker.exclusive === true

/**
 * Builds a {@link Worker} from its two operations.
 *
 * @stability stable
 * @category constructors
 * @since 0.1.0
 */
export const make = <R>(impl: {
  readonly do: (work: Effect.Effect<void, never, R>) => Effect.Effect<void, AlreadyQuit>
  readonly quit: Effect.Effect<void, AlreadyQuit>
}): Worker<R> => ({ [TypeId]: TypeId, do: impl.do, quit: impl.quit })

/**
 * Builds an {@link ExclusiveWorker} from its two operations. The caller promises that the work never overlaps.
 *
 * @stability stable
 * @category constructors
 * @since 0.1.0
 */
export const makeExclusive = <R>(impl: {
  readonly do: (work: Effect.Effect<void, never, R>) => Effect.Effect<void, AlreadyQuit>
  readonly quit: Effect.Effect<void, AlreadyQuit>
}): ExclusiveWorker<R> => ({ [TypeId]: TypeId, exclusive: true, do: impl.do, quit: impl.quit })

/**
 * The worker service: Twisted's `IWorker` as an Effect service, for programs that are handed "a worker" by a layer.
 * Its shape is the module's data type, a {@link Worker}.
 *
 * @stability stable
 * @category services
 * @since 0.4.0
 */
export class WorkerService extends Context.Service<WorkerService, Worker>()("@effect-threads/core/Worker/IWorker") {}

/**
 * The exclusive worker service: Twisted's `IExclusiveWorker` as an Effect service. Its shape is an
 * {@link ExclusiveWorker}.
 *
 * @stability stable
 * @category services
 * @since 0.4.0
 */
export class ExclusiveWorkerService extends Context.Service<ExclusiveWorkerService, ExclusiveWorker>()(
  "@effect-threads/core/Worker/IExclusiveWorker"
) {}

/**
 * Twisted's name for the {@link WorkerService}, kept as the port's name (the spec's `IWorker`): the same class and
 * key, so either name provides and reads the one service.
 *
 * @stability stable
 * @category services
 * @since 0.1.0
 */
export const IWorker: typeof WorkerService = WorkerService

/**
 * Twisted's name for the {@link WorkerService}'s type.
 *
 * @stability stable
 * @category services
 * @since 0.1.0
 */
export type IWorker = WorkerService

/**
 * Twisted's name for the {@link ExclusiveWorkerService}, kept as the port's name (the spec's `IExclusiveWorker`):
 * the same class and key.
 *
 * @stability stable
 * @category services
 * @since 0.1.0
 */
export const IExclusiveWorker: typeof ExclusiveWorkerService = ExclusiveWorkerService

/**
 * Twisted's name for the {@link ExclusiveWorkerService}'s type.
 *
 * @stability stable
 * @category services
 * @since 0.1.0
 */
export type IExclusiveWorker = ExclusiveWorkerService
