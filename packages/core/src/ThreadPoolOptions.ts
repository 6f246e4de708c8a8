/**
 * The options of a `ThreadPool`: of the pool (`Options`: its size, durations, pipelining, backlog bound, recycling,
 * adaptive policy, tracing, main-thread handlers), of one run (`RunOptions`, `StreamOptions`) and of the bulk calls
 * (`BulkOptions`, `ForEachOptions`, `MapStreamOptions`), with the bulk calls' types (`ForEach`, `MapStream`).
 * `ThreadPool` re-exports them under the same names.
 *
 * @since 0.2.0
 */
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import type * as Stream from "effect/Stream"
import type * as Task from "./Task.ts"
import type * as Team from "./Team.ts"
import type * as TeamPool from "./TeamPool.ts"
import type { InvalidOptions } from "./ThreadError.ts"
import type { Executor, RunError } from "./ThreadPool.ts"

/**
 * Options of one task run.
 *
 * @stability stable
 * @category models
 * @since 0.1.0
 */
export interface RunOptions {
  /** Values to transfer rather than copy (an `ArrayBuffer`, a `MessagePort`): they are unusable here afterwards. */
  readonly transfer?: ReadonlyArray<unknown> | undefined
  /**
   * Among the tasks that wait (in the backlog, or for room in it), higher priorities go first; first in, first out
   * within a priority. Default 0. Strict: a task waits as long as tasks of a higher priority keep coming. A task
   * already sent to a thread (`concurrentTasksPerThread` above 1) is not overtaken.
   */
  readonly priority?: number | undefined
  /**
   * A key: the tasks of one key run on one thread, in the order they were submitted, one at a time, so per-key state
   * can stay in that thread; different keys still spread. A key is bound to the thread its first task is sent to; if
   * that thread dies or is released, the key's next task goes to another thread (the per-key state there is gone).
   */
  readonly key?: string | undefined
  /** When the backlog is full (`maxBacklog`): wait for room (`"wait"`) or fail with `BacklogFull` (`"fail"`). Default: the pool's. */
  readonly whenBacklogFull?: "wait" | "fail" | undefined
}

/**
 * Options of one streaming run.
 *
 * @stability experimental
 * @category models
 * @since 0.2.0
 */
export interface StreamOptions extends RunOptions {
  /**
   * How many elements may wait between the thread and the consumer (the thread's credit). Default 16. The thread's
   * stream runs ahead of the consumer by at most about twice this, plus one chunk of its own making.
   */
  readonly bufferSize?: number | undefined
}

/**
 * Options of {@link make}.
 *
 * @stability stable
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** Threads kept once started. Default 0. */
  readonly minThreads?: number | undefined
  /** The most threads. Default: the platform's hardware concurrency (or 4). */
  readonly maxThreads?: number | undefined
  /**
   * Replaces `maxThreads` by a limit read each time the pool would create a thread (Twisted's `currentLimit`). The
   * pool still creates no thread before it starts.
   */
  readonly currentLimit?: Effect.Effect<number, unknown> | undefined
  /** A name for logs and statistics. */
  readonly name?: string | undefined
  /** How long a running task may take to answer an interrupt before its thread is terminated. Default 1 second. */
  readonly interruptGracePeriod?: Duration.Input | undefined
  /** How long a thread may take to load its entry file and say it is ready. Default 30 seconds. */
  readonly startTimeout?: Duration.Input | undefined
  /**
   * How many tasks a thread may hold at once: the one it runs and the ones sent ahead, which it runs next, in
   * order. Default 1, Twisted's semantics: a task waits in the pool's backlog until a thread is free, so it runs on
   * whichever thread frees first. More (8 to 32) sends tasks ahead (pipelining), which makes small tasks faster:
   * the next task is already in the thread when the last one ends. A task sent ahead is not stranded behind a slow
   * one: when a thread is free and nothing is backlogged, it takes back (steals) tasks that a busy thread holds and
   * has not started. The price: the backlog is shorter (tasks sit in threads instead), and a thread that dies fails
   * every task it holds with `ThreadCrashed`, those sent ahead included. Tasks that go out in the same turn travel
   * in one message either way.
   */
  readonly concurrentTasksPerThread?: number | undefined
  /**
   * Beyond Twisted: size the pool adaptively instead of by a hard cap (see {@link TeamPool.Adaptive}). Threads up to
   * `minThreads` are kept; above it, new threads are created as work waits, paced by the `pacing` schedule, and
   * idle ones are released after `keepAlive`. `maxThreads` (or `currentLimit`) stays as an optional ceiling; it
   * defaults to no ceiling.
   */
  readonly adaptive?: Omit<TeamPool.Adaptive, "minWorkers"> | undefined
  /**
   * Traces every task: a span per task on the caller's side (`effect-threads.task <tag>`), a child span for the
   * time it waits for a thread (`effect-threads.queued`), and, in the thread, a child span for the work
   * (`effect-threads.thread <tag>`): the caller's span travels with the message. Default false, because two spans
   * per task cost about a third of the throughput of small tasks; without it, a task run inside a span of the
   * caller's still gets its thread span as a child of that span.
   */
  readonly tracing?: boolean | undefined
  /** Tasks that threads may call on the main thread with `ThreadRunner.callMain`. */
  readonly mainHandlers?: ReadonlyArray<Task.AnyHandler> | undefined
  /** Receives the cause of every failure that has no caller to go to. */
  readonly logException?: Team.LogException | undefined
  /**
   * The most tasks the backlog holds (tasks waiting for a thread). Default: no bound. Past it a task's caller waits
   * for room, interruptibly (its fiber suspends; `whenBacklogFull: "wait"`, the default), or fails at once with
   * `BacklogFull` (`"fail"`). Nothing is lost either way; callers that wait come in first come, first served (by
   * priority, then order), and priorities hold across the bound: a freed thread takes a waiting caller's task before
   * a backlogged task of a lower priority.
   */
  readonly maxBacklog?: number | undefined
  /** What a task does when the backlog is full, unless its call says: `"wait"` (default) or `"fail"`. */
  readonly whenBacklogFull?: "wait" | "fail" | undefined
  /**
   * Recycling: a thread is retired and replaced after `afterTasks` tasks, or once its heap in use passes `heapAbove`
   * bytes (as the thread reports it after each batch: Node, and Chromium; other browsers do not tell). Always
   * between tasks: the thread finishes what it holds, takes nothing new, then closes; a replacement is made for the
   * backlog and up to `minThreads`. Counted in `statistics.threadsRecycled`. Default: never.
   */
  readonly recycle?: {
    readonly afterTasks?: number | undefined
    readonly heapAbove?: number | undefined
  } | undefined
}

/**
 * Options of `ThreadPool.forEach` and `ThreadPool.mapStream`: a bulk call sends its elements in batches, each batch
 * one task of the pool (it takes the `priority`, `key` and `whenBacklogFull` given here, as a task does). A
 * `batchSize` or `concurrency` out of range fails the call with `InvalidOptions` before anything runs.
 *
 * @stability experimental
 * @category models
 * @since 0.4.0
 */
export interface BulkOptions<P = unknown> {
  /**
   * Elements per batch, fixed: a positive integer. By default the size adapts to the time each element takes in its
   * thread.
   */
  readonly batchSize?: number | undefined
  /**
   * Batches in flight at most: a positive integer, or `Infinity` (no bound). Default: two per thread; on the cluster,
   * elements in flight, default 16.
   */
  readonly concurrency?: number | undefined
  readonly priority?: number | undefined
  readonly whenBacklogFull?: "wait" | "fail" | undefined
  /** Every batch of the call runs on this key's thread, in order. */
  readonly key?: string | undefined
  /** What an element's payload transfers instead of copying (its `ArrayBuffer`s, `MessagePort`s). */
  readonly transfer?: ((payload: P, index: number) => ReadonlyArray<unknown>) | undefined
}

/**
 * Options of `ThreadPool.forEach`: `mode: "exit"` runs every element and gives each one's `Exit`; `discard: true`
 * keeps no result.
 *
 * @stability experimental
 * @category models
 * @since 0.4.0
 */
export interface ForEachOptions<P = unknown> extends BulkOptions<P> {
  readonly mode?: "default" | "exit" | undefined
  readonly discard?: boolean | undefined
}

/**
 * Options of `ThreadPool.mapStream`: results in the input's order (`ordered`, the default) or as they come; at most
 * `bufferSize` elements between the upstream and the consumer.
 *
 * @stability experimental
 * @category models
 * @since 0.4.0
 */
export interface MapStreamOptions<P = unknown> extends BulkOptions<P> {
  readonly ordered?: boolean | undefined
  /** Elements between the upstream and the consumer at most: a positive integer. Default 16,384. */
  readonly bufferSize?: number | undefined
}

/**
 * The type of `ThreadPool.forEach`: the result follows the options' `mode` and `discard`, which must be known to the
 * type check: `mode: "exit"` gives every element's `Exit`, `discard: true` nothing, and otherwise the successes; a
 * `mode` typed `"default" | "exit"` or a `discard` typed `boolean` is a type error.
 *
 * @stability experimental
 * @category models
 * @since 0.4.0
 */
export interface ForEach {
  <T extends Task.Any>(
    task: T & Task.NotStream<T>,
    payloads: Iterable<Task.Payload<T>>,
    options: ForEachOptions<Task.Payload<T>> & { readonly mode: "exit" }
  ): Effect.Effect<Array<Exit.Exit<Task.Success<T>, RunError<T>>>, InvalidOptions, Executor>
  <T extends Task.Any>(
    task: T & Task.NotStream<T>,
    payloads: Iterable<Task.Payload<T>>,
    options: ForEachOptions<Task.Payload<T>> & { readonly mode?: "default" | undefined; readonly discard: true }
  ): Effect.Effect<void, RunError<T> | InvalidOptions, Executor>
  <T extends Task.Any>(
    task: T & Task.NotStream<T>,
    payloads: Iterable<Task.Payload<T>>,
    options?:
      & ForEachOptions<Task.Payload<T>>
      & { readonly mode?: "default" | undefined; readonly discard?: false | undefined }
  ): Effect.Effect<Array<Task.Success<T>>, RunError<T> | InvalidOptions, Executor>
}

/**
 * The type of `ThreadPool.mapStream`, data-last (`stream.pipe(ThreadPool.mapStream(task))`) and data-first
 * (`ThreadPool.mapStream(stream, task)`).
 *
 * @stability experimental
 * @category models
 * @since 0.4.0
 */
export interface MapStream {
  <T extends Task.Any>(
    task: T & Task.NotStream<T>,
    options?: MapStreamOptions<Task.Payload<T>>
  ): <E, R>(
    self: Stream.Stream<Task.Payload<T>, E, R>
  ) => Stream.Stream<Task.Success<T>, E | RunError<T> | InvalidOptions, R | Executor>
  <T extends Task.Any, E, R>(
    self: Stream.Stream<Task.Payload<T>, E, R>,
    task: T & Task.NotStream<T>,
    options?: MapStreamOptions<Task.Payload<T>>
  ): Stream.Stream<Task.Success<T>, E | RunError<T> | InvalidOptions, R | Executor>
}
