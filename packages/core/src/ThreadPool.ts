/**
 * Ports Twisted's `ThreadPool` (`twisted.python.threadpool`) and the helpers of `twisted.internet.threads`
 * (`deferToThread`, `deferToThreadPool`, `callMultipleInThread`, `blockingCallFromThread`): a pool of real platform
 * threads with a minimum and a maximum, run by Twisted's Team algorithm.
 *
 * It is platform-neutral: it spawns threads through the {@link ThreadPlatform.ThreadPlatform} service, which the
 * platform packages provide (`@effect-threads/node` over `worker_threads`, `@effect-threads/browser` over Web
 * Workers; `InProcessThreads` in the same isolate, for tests). Work is a {@link Task}: declared with schemas,
 * implemented in the thread's entry file, run here with {@link deferToThread}, which gives the task's typed success
 * and failure back.
 *
 * Every task settles exactly once: with its success, its typed failure, a defect, a {@link ThreadError}, an
 * interruption or {@link AlreadyQuit}. Interrupting the caller takes a task that has not been sent out of the
 * backlog at once (it never starts), and interrupts one that is running in its thread; a thread that does not answer
 * the interrupt within the grace period (a synchronous loop) is terminated, and takes no work from the moment that
 * is decided. A thread that dies takes the task it was running with it ({@link ThreadError.ThreadCrashed}), and only
 * that one unless tasks were sent ahead to it (`concurrentTasksPerThread` above 1); the next task gets a new thread.
 *
 * A pool is two services, one object: the {@link Executor}, what runs tasks (the functions of this module that run
 * tasks need only it, and a cluster of runners provides it too), and the {@link ThreadPool}, a pool that owns its
 * threads ({@link broadcast}, `adjustPoolsize`, `start`).
 *
 * How one task travels, and which module does what, is in the README ("How one task travels").
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { AlreadyQuit } from "./AlreadyQuit.ts"
import * as Bulk from "./internal/pool/executor.ts"
import * as Make from "./internal/pool/make.ts"
import type * as Task from "./Task.ts"
import type * as Team from "./Team.ts"
import * as ThreadError from "./ThreadError.ts"
import type { InvalidLimit, InvalidPayload } from "./ThreadError.ts"
import type * as ThreadPlatform from "./ThreadPlatform.ts"
import type * as ThreadPoolOptions from "./ThreadPoolOptions.ts"

/**
 * The pool's options are out of range: sizes, `concurrentTasksPerThread`, `maxBacklog`, `recycle`, durations (see
 * `ThreadError.InvalidOptions`, the same class).
 *
 * @stability stable
 * @category errors
 * @since 0.4.0
 */
export const InvalidOptions: typeof ThreadError.InvalidOptions = ThreadError.InvalidOptions

/**
 * The pool's options are out of range.
 *
 * @stability stable
 * @category errors
 * @since 0.4.0
 */
export type InvalidOptions = ThreadError.InvalidOptions

/**
 * {@link InvalidOptions} under its name before 0.4.0 (it was raised for the backlog's and recycling's options too):
 * the same class, whose tag is now `"InvalidOptions"`.
 *
 * @deprecated Use {@link InvalidOptions}.
 * @stability stable
 * @category errors
 * @since 0.1.0
 */
export const InvalidPoolSize: typeof ThreadError.InvalidOptions = ThreadError.InvalidOptions

/**
 * {@link InvalidOptions} under its name before 0.4.0.
 *
 * @deprecated Use {@link InvalidOptions}.
 * @stability stable
 * @category errors
 * @since 0.1.0
 */
export type InvalidPoolSize = ThreadError.InvalidOptions

/**
 * The statistics of a pool: the team's, plus its threads.
 *
 * @stability stable
 * @category models
 * @since 0.1.0
 */
export interface Statistics extends Team.Statistics {
  /** Workers that exist (idle + busy): Twisted's `workers`. */
  readonly workerCount: number
  /** Platform threads started so far, replacements included. */
  readonly threadsStarted: number
  /**
   * Threads that died on their own (an exit, an uncaught exception, out of memory) while they held a task; not the
   * threads the pool terminated ({@link threadsTerminated}), nor those that failed to start or died as the pool
   * closed.
   */
  readonly threadsCrashed: number
  /** Threads the pool terminated while they held a task, because a task ignored its interrupt past the grace period. */
  readonly threadsTerminated: number
  /** Tasks submitted and not yet settled. */
  readonly tasksInFlight: number
  /** Tasks whose callers wait for room in a full backlog (`maxBacklog`); not counted in `backloggedWorkCount`. */
  readonly waitingForRoom: number
  /** Threads retired by recycling (`recycle`). */
  readonly threadsRecycled: number
}

/**
 * How a task ran, for {@link ThreadPoolShape.callInThreadWithCallback}.
 *
 * @stability stable
 * @category models
 * @since 0.1.0
 */
export type RunError<T extends Task.Any> =
  | Task.Failure<T>
  | ThreadError.ThreadError
  | AlreadyQuit
  | InvalidLimit

/**
 * Options of one task run: a transfer list, a priority, a key, what to do when the backlog is full.
 *
 * @stability stable
 * @category models
 * @since 0.1.0
 */
export type RunOptions = ThreadPoolOptions.RunOptions

/**
 * Options of one streaming run.
 *
 * @stability experimental
 * @category models
 * @since 0.2.0
 */
export type StreamOptions = ThreadPoolOptions.StreamOptions

/**
 * One call of {@link ThreadPoolShape.callMultipleInThread}.
 *
 * @stability stable
 * @category models
 * @since 0.1.0
 */
export interface Call {
  readonly task: Task.Any
  readonly payload: unknown
}

/**
 * One call for {@link callMultipleInThread}, with its payload checked against the task's type.
 *
 * @stability stable
 * @category constructors
 * @since 0.1.0
 */
export const call = <T extends Task.Any>(task: T & Task.NotStream<T>, payload: Task.Payload<T>): Call => ({
  task,
  payload
})

/**
 * What runs tasks: Twisted's `twisted.internet.threads` over a pool (`deferToThread`, `callInThread`,
 * `callMultipleInThread`), plus streams, statistics and `stop`. Every thread pool is one ({@link ThreadPoolShape});
 * so is the cluster's caller side (`@effect-threads/cluster`), which owns no threads.
 *
 * @stability stable
 * @category models
 * @since 0.4.0
 */
export interface ExecutorShape {
  /** The name, used in thread names and logs. */
  readonly name: string
  /** Runs a task on a thread and gives its result: `deferToThread` / `deferToThreadPool`. */
  readonly deferToThread: <T extends Task.Any>(
    task: T & Task.NotStream<T>,
    payload: Task.Payload<T>,
    options?: RunOptions
  ) => Effect.Effect<Task.Success<T>, RunError<T>>
  /** Runs a task on a thread without waiting; its failures go to the pool's `logException`. */
  readonly callInThread: <T extends Task.Any>(
    task: T & Task.NotStream<T>,
    payload: Task.Payload<T>,
    options?: RunOptions
  ) => Effect.Effect<void, AlreadyQuit | InvalidPayload | InvalidLimit>
  /**
   * Runs a task on a thread and hands its outcome to `onResult`, which runs on the worker that ran the task before
   * the worker takes other work. A failure of `onResult` goes to `logException`.
   */
  readonly callInThreadWithCallback: <T extends Task.Any>(
    onResult: (exit: Exit.Exit<Task.Success<T>, RunError<T>>) => Effect.Effect<void>,
    task: T & Task.NotStream<T>,
    payload: Task.Payload<T>,
    options?: RunOptions
  ) => Effect.Effect<void, AlreadyQuit | InvalidPayload | InvalidLimit>
  /** Runs the calls in order on one thread; the first failure stops the rest and goes to `logException`. */
  readonly callMultipleInThread: (
    calls: ReadonlyArray<Call>
  ) => Effect.Effect<void, AlreadyQuit | InvalidPayload | InvalidLimit>
  /**
   * Runs a streaming task (`Task.stream`, implemented with `Task.implementStream`): its elements arrive as the thread
   * produces them and the consumer takes them, at most `bufferSize` (default 16) waiting between the two: a slow
   * consumer slows the producer. The thread's stream runs ahead of the consumer by at most about twice `bufferSize`
   * plus one chunk of its own making (its next chunk is pulled only when the consumer has room, and a chunk is made
   * whole: see `Task.implementStream`). Its typed failure fails the stream; stopping the stream (fewer elements
   * taken, interrupting) stops the thread's stream. The task holds its thread until its stream ends.
   */
  readonly stream: <T extends Task.AnyStream>(
    task: T,
    payload: Task.Payload<T>,
    options?: StreamOptions
  ) => Stream.Stream<Task.Element<T>, RunError<T>>
  /**
   * Refuses new tasks (`AlreadyQuit`) and waits until every queued and running task has run; a pool then releases
   * every thread.
   */
  readonly stop: Effect.Effect<void, AlreadyQuit>
  /** The current statistics. */
  readonly statistics: Effect.Effect<Statistics>
  /** Logs the statistics: Twisted's `dumpStats`. */
  readonly dumpStats: Effect.Effect<void>
  /**
   * Runs a task on every payload of one batch and gives each element's `Exit`, in order: how an executor that sends
   * work to another process (the cluster's) runs {@link forEach} in batches, one request a batch. With `failFast`
   * it may stop at the batch's first failure and fail with it. A pool leaves it out: its bulk calls batch on its
   * own threads; an executor without it runs bulk calls element by element over `deferToThread`.
   *
   * @since 0.4.0
   */
  readonly runBatch?: <T extends Task.Any>(
    task: T & Task.NotStream<T>,
    payloads: ReadonlyArray<Task.Payload<T>>,
    options: BatchRunOptions
  ) => Effect.Effect<ReadonlyArray<Exit.Exit<Task.Success<T>, RunError<T>>>, RunError<T>>
}

/**
 * Options of one {@link ExecutorShape.runBatch}: whether the batch may stop at its first failure (`forEach`'s default
 * mode) or runs every element (`mode: "exit"`), and the run options every element gets.
 *
 * @stability experimental
 * @category models
 * @since 0.4.0
 */
export interface BatchRunOptions {
  readonly failFast: boolean
  readonly priority?: number | undefined
  readonly whenBacklogFull?: "wait" | "fail" | undefined
}

/**
 * A pool of threads: Twisted's `ThreadPool`, with `twisted.internet.threads` folded in. It runs tasks (an
 * {@link ExecutorShape}) and owns its threads: it starts, resizes, and runs a task on each of them.
 *
 * @stability stable
 * @category models
 * @since 0.1.0
 */
export interface ThreadPoolShape extends ExecutorShape {
  /**
   * Runs a task once on every thread that can take work now (a thread still starting included): warm a cache,
   * reload configuration. One `Exit` per thread; a thread that leaves before it ran the task gives `ThreadCrashed`.
   * A thread started later does not run it (its `serve` layer is the place for set-up every thread needs).
   */
  readonly broadcast: <T extends Task.Any>(
    task: T & Task.NotStream<T>,
    payload: Task.Payload<T>
  ) => Effect.Effect<ReadonlyArray<Exit.Exit<Task.Success<T>, RunError<T>>>, AlreadyQuit | InvalidPayload>
  /** Changes the minimum and the maximum; grows or shrinks a started pool to fit. */
  readonly adjustPoolsize: (
    options: { readonly minThreads?: number | undefined; readonly maxThreads?: number | undefined }
  ) => Effect.Effect<void, InvalidOptions | AlreadyQuit | InvalidLimit>
  /** Starts the pool: grows to the minimum, then by the backlog. Threads start only now. */
  readonly start: Effect.Effect<void, AlreadyQuit | InvalidLimit | ThreadError.ThreadStartFailed>
  /** The current minimum and maximum. */
  readonly size: Effect.Effect<{ readonly minThreads: number; readonly maxThreads: number }>
  /** Whether the pool has started and not stopped. */
  readonly started: Effect.Effect<boolean>
}

/**
 * Options of {@link make}: sizes, durations, pipelining, the backlog's bound, recycling, the adaptive policy, tracing,
 * main-thread handlers (see `ThreadPoolOptions.Options` for each one).
 *
 * @stability stable
 * @category models
 * @since 0.1.0
 */
export type Options = ThreadPoolOptions.Options

/**
 * Creates a pool that has not started: it accepts tasks and backlogs them, and starts no thread until
 * `start`. Closing the scope interrupts every task still in flight and leaves no thread alive.
 *
 * @stability stable
 * @category constructors
 * @since 0.1.0
 */
export const make: (
  options?: Options
) => Effect.Effect<ThreadPoolShape, InvalidOptions, ThreadPlatform.ThreadPlatform | Scope.Scope> = Make.make

/**
 * The service that runs tasks: what {@link deferToThread}, {@link callInThread}, {@link callMultipleInThread},
 * {@link stream} and {@link statistics} need. Every layer of a thread pool provides it (the same pool as
 * {@link ThreadPool}); the cluster's layers (`@effect-threads/cluster`) provide it alone, as a cluster owns no
 * threads of its own: a program that needs only this service runs on either.
 *
 * @stability stable
 * @category services
 * @since 0.4.0
 */
export class Executor extends Context.Service<Executor, ExecutorShape>()("@effect-threads/core/ThreadPool/Executor") {}

/**
 * The thread pool service: a pool that owns its threads, for what only such a pool does ({@link broadcast},
 * `adjustPoolsize`, `start`, `size`). Its layers provide it together with {@link Executor}, the same pool under both.
 *
 * @stability stable
 * @category services
 * @since 0.1.0
 */
export class ThreadPool extends Context.Service<ThreadPool, ThreadPoolShape>()("@effect-threads/core/ThreadPool") {}

/**
 * Creates and starts a pool in the current scope: {@link make}, then `start`. Closing the scope interrupts the
 * tasks in flight and releases every thread.
 *
 * @stability stable
 * @category constructors
 * @since 0.1.0
 */
export const makeStarted = (
  options: Options = {}
): Effect.Effect<
  ThreadPoolShape,
  InvalidOptions | AlreadyQuit | InvalidLimit | ThreadError.ThreadStartFailed,
  ThreadPlatform.ThreadPlatform | Scope.Scope
> => Effect.tap(make(options), (pool) => pool.start)

/**
 * A layer that provides a started {@link ThreadPool}, and the same pool as the {@link Executor}. Its scope is the
 * pool's: closing it interrupts the tasks in flight and releases every thread. Needs a platform
 * (`NodeThreadPool.layer` or `BrowserThreadPool.layer` provide one).
 *
 * @stability stable
 * @category layers
 * @since 0.1.0
 */
export const layer = (
  options: Options = {}
): Layer.Layer<
  ThreadPool | Executor,
  InvalidOptions | AlreadyQuit | InvalidLimit | ThreadError.ThreadStartFailed,
  ThreadPlatform.ThreadPlatform
> =>
  Layer.effectContext(
    Effect.map(makeStarted(options), (pool) => Context.make(ThreadPool, pool).pipe(Context.add(Executor, pool)))
  )

/**
 * Runs a task on a thread of the {@link Executor} (a pool, or a cluster) and gives its typed result: Twisted's
 * `deferToThread`.
 *
 * **Example** (Counting primes on a thread)
 *
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Task, ThreadPool } from "@effect-threads/core"
 *
 * const CountPrimes = Task.make("CountPrimes", {
 *   payload: Schema.Struct({ from: Schema.Number, to: Schema.Number }),
 *   success: Schema.Number
 * })
 *
 * const program = ThreadPool.deferToThread(CountPrimes, { from: 0, to: 1_000_000 })
 * // Effect<number, ThreadError | AlreadyQuit | InvalidLimit, Executor>
 * ```
 *
 * @stability stable
 * @category combinators
 * @since 0.1.0
 */
export const deferToThread = <T extends Task.Any>(
  task: T & Task.NotStream<T>,
  payload: Task.Payload<T>,
  options?: RunOptions
): Effect.Effect<Task.Success<T>, RunError<T>, Executor> =>
  Executor.use((pool) => pool.deferToThread(task, payload, options))

/**
 * Runs a task on a thread of a given pool: Twisted's `deferToThreadPool`.
 *
 * @stability stable
 * @category combinators
 * @since 0.1.0
 */
export const deferToThreadPool = <T extends Task.Any>(
  pool: ExecutorShape,
  task: T & Task.NotStream<T>,
  payload: Task.Payload<T>,
  options?: RunOptions
): Effect.Effect<Task.Success<T>, RunError<T>> => pool.deferToThread(task, payload, options)

/**
 * Runs a task on a thread of the {@link Executor} without waiting for it: Twisted's `callInThread`.
 *
 * @stability stable
 * @category combinators
 * @since 0.1.0
 */
export const callInThread = <T extends Task.Any>(
  task: T & Task.NotStream<T>,
  payload: Task.Payload<T>,
  options?: RunOptions
): Effect.Effect<void, AlreadyQuit | InvalidPayload | InvalidLimit, Executor> =>
  Executor.use((pool) => pool.callInThread(task, payload, options))

/**
 * Runs calls in order on one thread of the {@link Executor}: Twisted's `callMultipleInThread`.
 *
 * @stability stable
 * @category combinators
 * @since 0.1.0
 */
export const callMultipleInThread = (
  calls: ReadonlyArray<Call>
): Effect.Effect<void, AlreadyQuit | InvalidPayload | InvalidLimit, Executor> =>
  Executor.use((pool) => pool.callMultipleInThread(calls))

/**
 * The statistics of the {@link Executor}: a pool's, or a cluster's runners' added up.
 *
 * @stability stable
 * @category getters
 * @since 0.1.0
 */
export const statistics: Effect.Effect<Statistics, never, Executor> = Executor.use((pool) => pool.statistics)

/**
 * Runs a task once on every thread of the {@link ThreadPool} that can take work now, and gives one `Exit` per thread.
 * It needs a pool that owns its threads: a cluster (which provides only the {@link Executor}) has no "every thread".
 *
 * @stability stable
 * @category combinators
 * @since 0.2.0
 */
export const broadcast = <T extends Task.Any>(
  task: T & Task.NotStream<T>,
  payload: Task.Payload<T>
): Effect.Effect<ReadonlyArray<Exit.Exit<Task.Success<T>, RunError<T>>>, AlreadyQuit | InvalidPayload, ThreadPool> =>
  ThreadPool.use((pool) => pool.broadcast(task, payload))

/**
 * Runs a streaming task on a thread of the {@link Executor}: a `Stream` of its elements, with backpressure across
 * the thread.
 *
 * **Example** (Rows produced in a thread, taken as they come)
 *
 * ```ts
 * import { Effect, Schema, Stream } from "effect"
 * import { Task, ThreadPool } from "@effect-threads/core"
 *
 * const Rows = Task.stream("Rows", { payload: Schema.Number, element: Schema.Number })
 *
 * const firstTen = ThreadPool.stream(Rows, 1_000_000).pipe(Stream.take(10), Stream.runCollect)
 * ```
 *
 * @stability experimental
 * @category combinators
 * @since 0.2.0
 */
export const stream = <T extends Task.AnyStream>(
  task: T,
  payload: Task.Payload<T>,
  options?: StreamOptions
): Stream.Stream<Task.Element<T>, RunError<T>, Executor> =>
  Stream.unwrap(Executor.use((pool) => Effect.succeed(pool.stream(task, payload, options))))

/**
 * Options of {@link forEach} and {@link mapStream} (`ThreadPoolOptions.BulkOptions`).
 *
 * @stability experimental
 * @category models
 * @since 0.4.0
 */
export type BulkOptions<P = unknown> = ThreadPoolOptions.BulkOptions<P>

/**
 * Options of {@link forEach}: `mode`, `discard` (`ThreadPoolOptions.ForEachOptions`).
 *
 * @stability experimental
 * @category models
 * @since 0.4.0
 */
export type ForEachOptions<P = unknown> = ThreadPoolOptions.ForEachOptions<P>

/**
 * Options of {@link mapStream}: `ordered`, `bufferSize` (`ThreadPoolOptions.MapStreamOptions`).
 *
 * @stability experimental
 * @category models
 * @since 0.4.0
 */
export type MapStreamOptions<P = unknown> = ThreadPoolOptions.MapStreamOptions<P>

/**
 * The type of {@link forEach}: its result follows `mode` and `discard` (`ThreadPoolOptions.ForEach`).
 *
 * @stability experimental
 * @category models
 * @since 0.4.0
 */
export type ForEach = ThreadPoolOptions.ForEach

/**
 * The type of {@link mapStream}, data-last and data-first (`ThreadPoolOptions.MapStream`).
 *
 * @stability experimental
 * @category models
 * @since 0.4.0
 */
export type MapStream = ThreadPoolOptions.MapStream

/**
 * Runs a task on every element of a collection on the {@link Executor}'s threads, shaped like `Effect.forEach`: the
 * results in the input's order; the first failure fails the call and interrupts the rest in their threads. One fiber
 * for the call: the elements go in batches (one task of the pool each), sized by the time an element takes (tiny
 * tasks: thousands a batch; long ones: one at a time), a few in flight per thread. `mode: "exit"` gives every
 * element's `Exit` instead; a thread that dies fails the elements of its batch with `ThreadCrashed` (none is run
 * again), and the rest go on. On the cluster, it crosses to runners in batches too (`ExecutorShape.runBatch`). A
 * `batchSize` or `concurrency` out of range fails the call with {@link InvalidOptions} before anything runs.
 *
 * **Example** (Squaring 100,000 numbers on threads)
 *
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Task, ThreadPool } from "@effect-threads/core"
 *
 * const Square = Task.make("Square", { payload: Schema.Number, success: Schema.Number })
 *
 * const squares = ThreadPool.forEach(Square, Array.from({ length: 100_000 }, (_, i) => i))
 * // Effect<Array<number>, ThreadError | AlreadyQuit | InvalidLimit | InvalidOptions, Executor>
 * ```
 *
 * @stability experimental
 * @category combinators
 * @since 0.4.0
 */
export const forEach: ForEach =
  ((task: Task.Any, payloads: Iterable<unknown>, options?: ForEachOptions<never>) =>
    Executor.use((executor) => Bulk.forEach(executor, task, payloads, options))) as ForEach

/**
 * A `Stream` stage that runs a task on each element on the {@link Executor}'s threads, in batches formed from what
 * the stream gives while the threads are busy: `stream.pipe(ThreadPool.mapStream(task))`. Backpressure: at most
 * `bufferSize` elements between the stream and the consumer. Ordered by default (`ordered: false`: as batches end).
 * The first failure (an element's, the stream's, a crash) fails the stream after the elements already given and
 * interrupts the batches in flight; a consumer that stops interrupts them too. A `batchSize`, `concurrency` or
 * `bufferSize` out of range fails the stream with {@link InvalidOptions} before any element is pulled.
 *
 * @stability experimental
 * @category combinators
 * @since 0.4.0
 */
export const mapStream: MapStream = dual(
  (args) => Stream.isStream(args[0]),
  (self: Stream.Stream<unknown, unknown, unknown>, task: Task.Any, options?: MapStreamOptions<never>) =>
    Stream.unwrap(Executor.use((executor) => Effect.succeed(Bulk.mapStream(executor, task, options)(self))))
)
