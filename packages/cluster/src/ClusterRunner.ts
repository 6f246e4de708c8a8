/**
 * The runner side: serves the tasks of a worker entry to the cluster. It registers the two entities of
 * {@link TaskEntity} with the runner's `Sharding`, and runs every task it receives on the runner's local
 * `ThreadPool` (a `NodeThreadPool` over the same worker entry a local program would use), never on the runner's own
 * event loop: a handler that blocked the event loop would make callers miss the runner's keep-alives and send the
 * call again, forever.
 *
 * @since 0.3.0
 */
import * as Task from "@effect-threads/core/Task"
import * as TaskCodec from "@effect-threads/core/TaskCodec"
import * as ThreadError from "@effect-threads/core/ThreadError"
import * as ThreadPool from "@effect-threads/core/ThreadPool"
import * as Cause from "effect/Cause"
import type * as Sharding from "effect/cluster/Sharding"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Runtime from "effect/Runtime"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as TaskEntity from "./TaskEntity.ts"

/**
 * Options of {@link layer}.
 *
 * @stability experimental
 * @category models
 * @since 0.3.0
 */
export interface Options {
  /** The task declarations the runner accepts (the worker entry implements them). */
  readonly tasks: ReadonlyArray<Task.Any>
  /**
   * How many calls without a key one entity id runs at once. Default `"unbounded"`: the local pool's backlog (and
   * `maxBacklog`) is what bounds the work on a runner.
   */
  readonly spreadConcurrency?: number | "unbounded" | undefined
  /** How long an idle entity stays in memory. Default: the cluster's (`entityMaxIdleTime`). */
  readonly maxIdleTime?: `${number} ${"millis" | "seconds" | "minutes"}` | undefined
}

const isPoolError = Schema.is(TaskEntity.PoolError)

type RunError = (typeof TaskEntity.RunError)["Type"]

/** A run as a runner receives it: the task, its encoded payload, and the options for the local pool. */
interface Request {
  readonly task: string
  readonly payload: unknown
  readonly priority?: number | undefined
  readonly whenBacklogFull?: "wait" | "fail" | undefined
}

/** The options a run (or a batch's every element) gives the local pool. */
const runOptions = (
  request: Omit<Request, "payload">
): { readonly priority?: number; readonly whenBacklogFull?: "wait" | "fail" } => ({
  ...(request.priority === undefined ? {} : { priority: request.priority }),
  ...(request.whenBacklogFull === undefined ? {} : { whenBacklogFull: request.whenBacklogFull })
})

/**
 * Runs one `Run` request on the local pool: the payload goes to a thread as it came, encoded, and the outcome comes
 * back encoded by the thread (`TaskCodec.relay`): nothing is decoded here only to be encoded again.
 *
 * @stability experimental
 * @category handlers
 * @since 0.3.0
 */
export const runOn = (
  pool: ThreadPool.ThreadPoolShape,
  tasks: ReadonlyMap<string, Task.Any>
) =>
(request: Request): Effect.Effect<unknown, RunError> =>
  Effect.suspend((): Effect.Effect<unknown, RunError> => {
    const task = tasks.get(request.task)
    if (task === undefined) {
      return Effect.fail(
        new ThreadError.TaskNotImplemented({
          task: request.task,
          message: `the runner does not serve the task ${request.task}`
        })
      )
    }
    return Effect.catch(
      pool.deferToThread(TaskCodec.relay(task), request.payload, runOptions(request)),
      (error) => encodeFailure(task, error)
    )
  })

/**
 * A failure as it goes back: the pool's own errors as they are, a task's own (encoded by the thread) wrapped in
 * `TaskFailed`.
 */
const encodeFailure = (task: Task.Any, error: unknown): Effect.Effect<never, RunError> =>
  Effect.fail(isPoolError(error) ? error as RunError : new TaskEntity.TaskFailed({ task: task._tag, error }))

/** A batch as a runner receives it: the task, its encoded payloads, whether to stop at its first failure. */
interface BatchRequest extends Omit<Request, "payload"> {
  readonly payloads: ReadonlyArray<unknown>
  readonly failFast: boolean
}

/**
 * Runs one `RunBatch` request on the local pool with `ThreadPool.forEach` (the payloads go to threads as they came,
 * encoded, in the pool's own batches): every element's outcome, encoded by the thread; with `failFast`, the first
 * failure fails the request and interrupts the batch's other elements in their threads.
 *
 * @stability experimental
 * @category handlers
 * @since 0.4.0
 */
export const batchOn = (
  pool: ThreadPool.ThreadPoolShape,
  tasks: ReadonlyMap<string, Task.Any>
) =>
(request: BatchRequest): Effect.Effect<ReadonlyArray<Exit.Exit<unknown, RunError>>, RunError> =>
  Effect.suspend((): Effect.Effect<ReadonlyArray<Exit.Exit<unknown, RunError>>, RunError> => {
    const task = tasks.get(request.task)
    if (task === undefined || Task.isStream(task)) {
      return Effect.fail(
        new ThreadError.TaskNotImplemented({
          task: request.task,
          message: `the runner does not serve the task ${request.task}`
        })
      )
    }
    const relay = TaskCodec.relay(task)
    if (request.failFast) {
      return ThreadPool.forEach(relay, request.payloads, runOptions(request)).pipe(
        Effect.map((values) => values.map((value) => Exit.succeed(value))),
        Effect.catch((error) => encodeFailure(task, error)),
        Effect.provideService(ThreadPool.Executor, pool)
      )
    }
    return ThreadPool.forEach(relay, request.payloads, { ...runOptions(request), mode: "exit" }).pipe(
      Effect.map((exits) =>
        exits.map((exit) =>
          Exit.mapError(
            exit,
            (error): RunError =>
              isPoolError(error) ? error as RunError : new TaskEntity.TaskFailed({ task: task._tag, error })
          )
        )
      ),
      Effect.provideService(ThreadPool.Executor, pool)
    )
  })

/** How many encoded elements of a stream a runner holds while the cluster acknowledges the last chunk. */
const readAhead = 256

/**
 * Runs one `RunStream` request on the local pool: the payload goes to a thread as it came, encoded, and the task's
 * elements come back encoded by the thread with the task's element schema (`TaskCodec.relay`).
 *
 * @stability experimental
 * @category handlers
 * @since 0.3.0
 */
export const streamOn = (
  pool: ThreadPool.ThreadPoolShape,
  tasks: ReadonlyMap<string, Task.Any>
) =>
(request: Request & { readonly bufferSize?: number | undefined }): Stream.Stream<unknown, RunError> => {
  const task = tasks.get(request.task)
  if (task === undefined || !Task.isStream(task)) {
    return Stream.fail(
      new ThreadError.TaskNotImplemented({
        task: request.task,
        message: `the runner does not serve the streaming task ${request.task}`
      })
    )
  }
  const options = {
    ...runOptions(request),
    ...(request.bufferSize === undefined ? {} : { bufferSize: request.bufferSize })
  }
  return pool.stream(TaskCodec.relay(task), request.payload, options).pipe(
    Stream.catch((error) => Stream.fromEffect(encodeFailure(task, error))),
    // The cluster acknowledges each chunk it sends (a round trip): read ahead meanwhile, so that a chunk carries
    // every element made while the last one was on its way (one element a chunk took 90 ms an element over Postgres).
    Stream.buffer({ capacity: readAhead })
  )
}

/**
 * Registers the task entities (plain and durable, with and without a key) with the runner's `Sharding`, running
 * their tasks on the `ThreadPool` it is given (provide `NodeThreadPool.layer({ entry })`). Defects of a task come back to the caller as defects (they are not
 * treated as fatal to the entity, so a task that dies is not retried).
 *
 * @stability experimental
 * @category layers
 * @since 0.3.0
 */
export const layer = (options: Options): Layer.Layer<never, never, ThreadPool.ThreadPool | Sharding.Sharding> =>
  Layer.unwrap(Effect.gen(function*() {
    const pool = yield* ThreadPool.ThreadPool
    const tasks = new Map(options.tasks.map((task) => [task._tag, task] as const))
    const run = runOn(pool, tasks)
    const stream = streamOn(pool, tasks)
    const batch = batchOn(pool, tasks)
    const common = {
      disableFatalDefects: true,
      ...(options.maxIdleTime === undefined ? {} : { maxIdleTime: options.maxIdleTime })
    }
    const spreadConcurrency = options.spreadConcurrency ?? "unbounded"
    return Layer.mergeAll(
      TaskEntity.Keyed.toLayer({
        Run: (envelope) => run(envelope.payload),
        RunStream: (envelope) => stream(envelope.payload)
      }, { ...common, concurrency: 1 }),
      TaskEntity.Spread.toLayer({
        Run: (envelope) => run(envelope.payload),
        RunStream: (envelope) => stream(envelope.payload),
        RunBatch: (envelope) => batch(envelope.payload)
      }, {
        ...common,
        concurrency: spreadConcurrency
      }),
      TaskEntity.DurableKeyed.toLayer({ RunOnce: (envelope) => run(envelope.payload) }, { ...common, concurrency: 1 }),
      TaskEntity.DurableSpread.toLayer({ RunOnce: (envelope) => run(envelope.payload) }, {
        ...common,
        concurrency: spreadConcurrency
      })
    )
  }))

/**
 * The teardown of a runner process, for `NodeRuntime.runMain`'s `teardown` option (`PgCluster.runRunner` uses it):
 * exit code 0 once a stop asked by SIGTERM or SIGINT has completed (the runner handed its shards over and its tasks
 * finished), where Effect's default gives 130, which systemd and Kubernetes count as a failure. A runner that fails
 * (its layer could not be built, a finalizer died) still exits 1.
 *
 * **Example** (A runner program that prints when it is up)
 *
 * ```ts
 * import { ClusterRunner, PgCluster } from "@effect-threads/cluster"
 * import { NodeRuntime } from "@effect/platform-node"
 * import { Effect, Layer } from "effect"
 *
 * declare const options: PgCluster.RunnerOptions
 *
 * Effect.gen(function*() {
 *   yield* Layer.build(PgCluster.layerRunner(options))
 *   yield* Effect.log("runner up")
 *   return yield* Effect.never
 * }).pipe(Effect.scoped, NodeRuntime.runMain({ teardown: ClusterRunner.teardown }))
 * ```
 *
 * @stability experimental
 * @category running
 * @since 0.4.0
 */
export const teardown: Runtime.Teardown = (exit, onExit) =>
  Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause) ? onExit(0) : Runtime.defaultTeardown(exit, onExit)
