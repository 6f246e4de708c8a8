/**
 * The caller side: a `ThreadPool` whose tasks run on a cluster of runners (`effect/cluster`), each running them on
 * its own local thread pool. Programs written against `ThreadPool.ThreadPool` (`deferToThread`, `callInThread`,
 * `callMultipleInThread`, `stream`, `statistics`) run unchanged with the same `Task` declarations.
 *
 * Placement: a call with a `key` goes to the entity of that key, so the calls of one key run on one runner, one at a
 * time, in the order they were sent; a call without one goes to one of `spreadIds` entities, round-robin, which the
 * cluster hashes onto its shards, and so spreads over the runners.
 *
 * @since 0.3.0
 */
import { AlreadyQuit } from "@effect-threads/core/AlreadyQuit"
import type * as Task from "@effect-threads/core/Task"
import type { InvalidLimit } from "@effect-threads/core/TeamPool"
import * as ThreadError from "@effect-threads/core/ThreadError"
import * as ThreadPool from "@effect-threads/core/ThreadPool"
import * as Cause from "effect/Cause"
import * as ClusterError from "effect/cluster/ClusterError"
import type * as Sharding from "effect/cluster/Sharding"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Runners from "./internal/runners.ts"
import * as TaskEntity from "./TaskEntity.ts"

/**
 * Options of {@link make}.
 *
 * @stability experimental
 * @category models
 * @since 0.3.0
 */
export interface Options {
  /** A name for logs. Default `"ClusterThreadPool"`. */
  readonly name?: string | undefined
  /** How many entity ids calls without a key are spread over. Default 1024. */
  readonly spreadIds?: number | undefined
  /**
   * How many runners are up and healthy, read before a call when the last reading said none (and at most once a
   * second otherwise). When none comes up within `runnerTimeout`, the call fails with `ThreadStartFailed`. Without
   * it (the embedded cluster: this process is the runner) calls are sent at once.
   */
  readonly runnerCount?: Effect.Effect<number, unknown> | undefined
  /**
   * The statistics of the runners' own pools, one entry per runner that is up (see `PgCluster`, which reads what
   * its runners publish). `statistics` adds them up; without it, the thread counts read 0.
   */
  readonly runnerStatistics?: Effect.Effect<ReadonlyArray<ThreadPool.Statistics>, unknown> | undefined
  /** How long a call waits for a runner to come up. Default 30 seconds. */
  readonly runnerTimeout?: Duration.Input | undefined
  /** Receives the cause of every failure that has no caller to go to (`callInThread`). Default: logged. */
  readonly logException?: ((cause: Cause.Cause<unknown>) => Effect.Effect<void>) | undefined
}

type SendError = ClusterClientError | (typeof TaskEntity.RunError)["Type"]

type ClusterClientError =
  | ClusterError.MailboxFull
  | ClusterError.AlreadyProcessingMessage
  | ClusterError.PersistenceError
  | ClusterError.EntityNotAssignedToRunner

const isClusterError = (error: unknown): error is ClusterClientError =>
  error instanceof ClusterError.MailboxFull || error instanceof ClusterError.AlreadyProcessingMessage ||
  error instanceof ClusterError.PersistenceError || error instanceof ClusterError.EntityNotAssignedToRunner

/** An error of the cluster itself (no room in a mailbox, storage down, ...) as the pool's `ThreadStartFailed`. */
const clusterError = (task: string, error: ClusterClientError): ThreadError.ThreadStartFailed =>
  new ThreadError.ThreadStartFailed({
    message: `the cluster could not run ${task}: ${error._tag}: ${error.message}`,
    cause: error
  })

/**
 * The statistics of a cluster: the runners' pools added up (threads, idle, busy, backlog, starts, crashes,
 * recycles), with `tasksInFlight` the caller's own calls not yet settled.
 *
 * @stability experimental
 * @category statistics
 * @since 0.3.0
 */
export const sumStatistics = (
  runners: ReadonlyArray<ThreadPool.Statistics>,
  tasksInFlight: number
): ThreadPool.Statistics => {
  const sum = (key: Exclude<keyof ThreadPool.Statistics, "tasksInFlight">) =>
    runners.reduce((total, runner) => total + runner[key], 0)
  return {
    idleWorkerCount: sum("idleWorkerCount"),
    busyWorkerCount: sum("busyWorkerCount"),
    backloggedWorkCount: sum("backloggedWorkCount"),
    workerCount: sum("workerCount"),
    threadsStarted: sum("threadsStarted"),
    threadsCrashed: sum("threadsCrashed"),
    tasksInFlight,
    waitingForRoom: sum("waitingForRoom"),
    threadsRecycled: sum("threadsRecycled")
  }
}

/**
 * Options of a durable call ({@link deferOnce}).
 *
 * @stability experimental
 * @category models
 * @since 0.3.0
 */
export interface OnceOptions {
  /**
   * The run's id, unique to the work it does (an order number, a job id): the cluster runs one call per id and
   * gives every later call with the same id (and `key`) the first one's outcome.
   */
  readonly id: string
  /** As for `deferToThread`: the calls of one key run on one runner, one at a time, in order. */
  readonly key?: string | undefined
}

/**
 * The durable calls of a cluster (see {@link deferOnce}), provided with the `ThreadPool` by this package's layers.
 *
 * @stability experimental
 * @category services
 * @since 0.3.0
 */
export class DurableCalls extends Context.Service<DurableCalls, {
  readonly deferOnce: <T extends Task.Any>(
    task: T,
    payload: Task.Payload<T>,
    options: OnceOptions
  ) => Effect.Effect<Task.Success<T>, ThreadPool.RunError<T>>
}>()("@effect-threads/cluster/ClusterThreadPool/DurableCalls") {}

/**
 * Runs a task once per `id`, for tasks that must not run twice for one piece of work: the call is stored in the
 * cluster's message storage (Postgres, or memory when embedded) before it is sent, and deduplicated by its id. A
 * second call with the same id (from this caller or another, now or after a restart) gets the stored outcome of the
 * first, or waits for it, instead of running the task again. A stored call outlives its caller: if the caller dies,
 * a runner still runs it. A task still runs again if the runner running it dies before its outcome is stored (see
 * the README, "At least once").
 *
 * @stability experimental
 * @category combinators
 * @since 0.3.0
 */
export const deferOnce = <T extends Task.Any>(
  task: T,
  payload: Task.Payload<T>,
  options: OnceOptions
): Effect.Effect<Task.Success<T>, ThreadPool.RunError<T>, DurableCalls> =>
  DurableCalls.use((calls) => calls.deferOnce(task, payload, options))

/**
 * Creates the caller side over the `Sharding` of the current cluster (a runner's, a client-only node's, or the
 * embedded one of `NodeCluster.layerEmbedded`): the `ThreadPool` service and the {@link DurableCalls}. Closing the
 * scope interrupts the calls in flight.
 *
 * @stability experimental
 * @category constructors
 * @since 0.3.0
 */
export const make = (
  options: Options = {}
): Effect.Effect<ThreadPool.ThreadPoolShape & DurableCalls["Service"], never, Sharding.Sharding | Scope.Scope> =>
  Effect.gen(function*() {
    const name = options.name ?? "ClusterThreadPool"
    const spreadIds = Math.max(1, Math.floor(options.spreadIds ?? 1024))
    const runnerTimeout = Duration.fromInputUnsafe(options.runnerTimeout ?? Duration.seconds(30))
    const logException = options.logException ?? ((cause) => Effect.logError(`${name}: unhandled task failure`, cause))
    const keyed = yield* TaskEntity.Keyed.client
    const spread = yield* TaskEntity.Spread.client
    const durableKeyed = yield* TaskEntity.DurableKeyed.client
    const durableSpread = yield* TaskEntity.DurableSpread.client
    const scope = yield* Effect.scope
    const state = { next: 0, inFlight: 0, quit: false, batches: 0 }
    const runners = yield* Runners.make({
      runnerCount: options.runnerCount,
      runnerTimeout,
      inFlight: () => state.inFlight
    })

    /** A failure from a runner as the caller's: a task's own decoded, a cluster's error as `ThreadStartFailed`. */
    const decodeFailure = (task: Task.Any, error: SendError): Effect.Effect<never, unknown> => {
      if (isClusterError(error)) return Effect.fail(clusterError(task._tag, error))
      if (error._tag !== "TaskFailed") return Effect.fail(error)
      return Effect.flatMap(
        TaskEntity.convertResult("decode", task, task.failure, error.error),
        (decoded) => Effect.fail(decoded)
      )
    }

    // ---- one call: encode, wait for a runner, send, decode the outcome ----
    const call = <T extends Task.Any>(
      task: T,
      payload: Task.Payload<T>,
      send: (encoded: unknown) => Effect.Effect<unknown, SendError>
    ): Effect.Effect<Task.Success<T>, ThreadPool.RunError<T>> =>
      Effect.suspend(() => {
        if (state.quit) return Effect.fail(new AlreadyQuit())
        const encoded = TaskEntity.encodePayload(task, payload)
        if (Exit.isFailure(encoded)) return encoded
        state.inFlight++
        return runners.ready.pipe(
          Effect.andThen(Effect.suspend(() => runners.guard(task._tag, send(encoded.value)))),
          Effect.catch((error) => decodeFailure(task, error)),
          Effect.flatMap((value) => TaskEntity.convertResult("decode", task, task.success, value)),
          Effect.ensuring(Effect.sync(() => void state.inFlight--))
        ) as Effect.Effect<Task.Success<T>, ThreadPool.RunError<T>>
      })

    // ---- one stream: the same steps, its elements decoded as they come ----
    const streamOne = <T extends Task.AnyStream>(
      task: T,
      payload: Task.Payload<T>,
      key: string | undefined
    ): Stream.Stream<Task.Element<T>, ThreadPool.RunError<T>> =>
      Stream.unwrap(Effect.suspend((): Effect.Effect<Stream.Stream<unknown, unknown>, unknown> => {
        if (state.quit) return Effect.fail(new AlreadyQuit())
        const encoded = TaskEntity.encodePayload(task, payload)
        if (Exit.isFailure(encoded)) return Effect.failCause(encoded.cause)
        state.inFlight++
        const client = key === undefined ? spread(`spread-${state.next++ % spreadIds}`) : keyed(key)
        return runners.ready.pipe(
          Effect.map(() =>
            runners.guardStream(task._tag, client.RunStream({ task: task._tag, payload: encoded.value })).pipe(
              Stream.catch((error) => Stream.fromEffect(decodeFailure(task, error))),
              Stream.mapEffect((element) => TaskEntity.convertResult("decode", task, task.element, element))
            )
          ),
          Effect.onExit((exit) => Exit.isFailure(exit) ? Effect.sync(() => void state.inFlight--) : Effect.void),
          Effect.map(Stream.ensuring(Effect.sync(() => void state.inFlight--)))
        )
      })) as Stream.Stream<Task.Element<T>, ThreadPool.RunError<T>>

    const runOne = <T extends Task.Any>(task: T, payload: Task.Payload<T>, key: string | undefined) =>
      call(task, payload, (encoded) => {
        const client = key === undefined ? spread(`spread-${state.next++ % spreadIds}`) : keyed(key)
        return client.Run({ task: task._tag, payload: encoded })
      })

    const deferOnce = <T extends Task.Any>(task: T, payload: Task.Payload<T>, once: OnceOptions) =>
      call(task, payload, (encoded) => {
        const client = once.key === undefined
          ? durableSpread(TaskEntity.durableSpreadId(once.id))
          : durableKeyed(once.key)
        return client.RunOnce({ id: once.id, task: task._tag, payload: encoded })
      })

    const fireAndForget = (effect: Effect.Effect<void, unknown>) =>
      effect.pipe(
        Effect.catchCause((cause) => Cause.hasInterruptsOnly(cause) ? Effect.void : logException(cause)),
        Effect.forkIn(scope),
        Effect.asVoid
      )

    const quitCheck: Effect.Effect<void, AlreadyQuit> = Effect.suspend(() =>
      state.quit ? Effect.fail(new AlreadyQuit()) : Effect.void
    )

    const checkPayload = (task: Task.Any, payload: unknown): Effect.Effect<void, ThreadError.InvalidPayload> =>
      Effect.asVoid(TaskEntity.encodePayload(task, payload))

    const runnerStatistics = options.runnerStatistics ?? Effect.succeed([])
    const statistics = runnerStatistics.pipe(
      Effect.orElseSucceed((): ReadonlyArray<ThreadPool.Statistics> => []),
      Effect.map((runners) => sumStatistics(runners, state.inFlight))
    )

    const unsupported = (what: string) =>
      new Error(`${what} is not available on a ClusterThreadPool: it runs on the runners' own pools`)

    const pool = ThreadPool.ThreadPool.of({
      name,
      deferToThread: (task, payload, runOptions) => runOne(task, payload, runOptions?.key),
      callInThread: (task, payload, runOptions) =>
        quitCheck.pipe(
          Effect.andThen(checkPayload(task, payload)),
          Effect.andThen(fireAndForget(runOne(task, payload, runOptions?.key)))
        ),
      callInThreadWithCallback: (onResult, task, payload, runOptions) =>
        quitCheck.pipe(
          Effect.andThen(checkPayload(task, payload)),
          Effect.andThen(fireAndForget(Effect.flatMap(Effect.exit(runOne(task, payload, runOptions?.key)), onResult)))
        ),
      callMultipleInThread: (calls) =>
        Effect.gen(function*() {
          yield* quitCheck
          for (const call of calls) yield* checkPayload(call.task, call.payload)
          // One key for the batch: its calls run on one runner, in order.
          const key = `batch-${process.pid}-${Date.now()}-${state.batches++}`
          yield* fireAndForget(Effect.forEach(calls, (call) => runOne(call.task, call.payload as never, key), {
            discard: true
          }))
        }),
      broadcast: () => Effect.die(unsupported("broadcast")),
      stream: (task, payload, streamOptions) => streamOne(task, payload, streamOptions?.key),
      adjustPoolsize: () => Effect.void,
      start: Effect.void,
      stop: Effect.suspend(() => {
        if (state.quit) return Effect.fail(new AlreadyQuit())
        state.quit = true
        return Effect.void
      }),
      statistics,
      dumpStats: Effect.flatMap(statistics, (s) => Effect.log(`${name}: ${JSON.stringify(s)}`)),
      size: Effect.succeed({ minThreads: 0, maxThreads: 0 }),
      started: Effect.sync(() => !state.quit)
    })
    return { ...pool, deferOnce }
  })

/**
 * A layer that provides the {@link ThreadPool.ThreadPool} service and the {@link DurableCalls} over the cluster
 * whose `Sharding` it is given.
 *
 * @stability experimental
 * @category layers
 * @since 0.3.0
 */
export const layer = (
  options: Options = {}
): Layer.Layer<ThreadPool.ThreadPool | DurableCalls, never, Sharding.Sharding> =>
  Layer.effectContext(
    Effect.map(make(options), (pool) =>
      Context.make(ThreadPool.ThreadPool, pool).pipe(Context.add(DurableCalls, { deferOnce: pool.deferOnce })))
  )

/** @internal */
export type RunErrorOf<T extends Task.Any> = ThreadPool.RunError<T> | InvalidLimit
