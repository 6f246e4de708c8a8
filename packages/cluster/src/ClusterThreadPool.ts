/**
 * The caller side: a `ThreadPool.Executor` (what runs tasks) whose tasks run on a cluster of runners
 * (`effect/cluster`), each running them on its own local thread pool. Programs written against the executor
 * (`ThreadPool.deferToThread`, `callInThread`, `callMultipleInThread`, `stream`, `statistics`) run unchanged with the
 * same `Task` declarations. A cluster owns no threads of its own, so it does not provide `ThreadPool.ThreadPool`:
 * a program that needs it (`ThreadPool.broadcast`, `adjustPoolsize`, `start`) does not compile against these layers.
 *
 * Placement: a call with a `key` goes to the entity of that key, so the calls of one key run on one runner, one at a
 * time, in the order they were sent; a call without one goes to one of `spreadIds` entities, round-robin, which the
 * cluster hashes onto its shards, and so spreads over the runners.
 *
 * @since 0.3.0
 */
import { AlreadyQuit } from "@effect-threads/core/AlreadyQuit"
import type * as Task from "@effect-threads/core/Task"
import * as ThreadError from "@effect-threads/core/ThreadError"
import * as ThreadPool from "@effect-threads/core/ThreadPool"
import * as Cause from "effect/Cause"
import type * as Sharding from "effect/cluster/Sharding"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as Calls from "./internal/calls.ts"
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
  /**
   * How long a call waits for a runner to come up before it is sent (then `ThreadStartFailed`), and how long calls
   * sent wait while no runner is up (then `ThreadCrashed`; a durable call stays stored). Default 30 seconds. A
   * `runnerCount` that fails or does not answer within 5 seconds (the database cannot be read) counts as no runner
   * up, and the error then says the database could not be read, and why. Keep it longer than the database outages
   * calls should wait out.
   */
  readonly runnerTimeout?: Duration.Input | undefined
  /** Receives the cause of every failure that has no caller to go to (`callInThread`). Default: logged. */
  readonly logException?: ((cause: Cause.Cause<unknown>) => Effect.Effect<void>) | undefined
}

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
    threadsTerminated: sum("threadsTerminated"),
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
 * The durable calls of a cluster (see {@link deferOnce}), provided with the `ThreadPool.Executor` by this package's
 * layers.
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
 * a runner still runs it. A task still runs again if its run ends before its outcome is stored: the runner running
 * it dies, or stops it because it cannot refresh its shard locks (the database out of its reach), or cannot store
 * the outcome; the shard's next owner runs the stored call (see the README, "At least once").
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
 * embedded one of `NodeCluster.layerEmbedded`): the `ThreadPool.Executor` service and the {@link DurableCalls}. `stop`
 * refuses new calls and waits for the ones in flight; closing the scope interrupts the `callInThread` calls still
 * running.
 *
 * @stability experimental
 * @category constructors
 * @since 0.3.0
 */
export const make = (
  options: Options = {}
): Effect.Effect<ThreadPool.ExecutorShape & DurableCalls["Service"], never, Sharding.Sharding | Scope.Scope> =>
  Effect.gen(function*() {
    const name = options.name ?? "ClusterThreadPool"
    const logException = options.logException ?? ((cause) => Effect.logError(`${name}: unhandled task failure`, cause))
    const scope = yield* Effect.scope
    let calls: Calls.Calls | undefined
    const runners = yield* Runners.make({
      runnerCount: options.runnerCount,
      runnerTimeout: Duration.fromInputUnsafe(options.runnerTimeout ?? Duration.seconds(30)),
      inFlight: () => calls?.inFlight() ?? 0
    })
    calls = yield* Calls.make({ spreadIds: Math.max(1, Math.floor(options.spreadIds ?? 1024)), runners })
    const pool = makePool(name, calls, {
      statistics: options.runnerStatistics ?? Effect.succeed([]),
      fireAndForget: (effect) =>
        effect.pipe(
          Effect.catchCause((cause) => Cause.hasInterruptsOnly(cause) ? Effect.void : logException(cause)),
          Effect.forkIn(scope),
          Effect.asVoid
        )
    })
    const { runOnce } = calls
    return { ...pool, deferOnce: (task, payload, once) => runOnce(task, payload, once.id, once) }
  })

/** The `ThreadPool.Executor` service's operations over the calls. */
const makePool = (
  name: string,
  calls: Calls.Calls,
  options: {
    readonly statistics: Effect.Effect<ReadonlyArray<ThreadPool.Statistics>, unknown>
    readonly fireAndForget: (effect: Effect.Effect<void, unknown>) => Effect.Effect<void>
  }
): ThreadPool.ExecutorShape => {
  const { fireAndForget } = options
  /** What `callInThread` and friends check before they return: not stopped, and a payload that fits. */
  const accept = (task: Task.Any, payload: unknown): Effect.Effect<void, AlreadyQuit | ThreadError.InvalidPayload> =>
    calls.quit() ? Effect.fail(new AlreadyQuit()) : Effect.asVoid(TaskEntity.encodePayload(task, payload))
  const statistics = options.statistics.pipe(
    Effect.orElseSucceed((): ReadonlyArray<ThreadPool.Statistics> => []),
    Effect.map((runners) => sumStatistics(runners, calls.inFlight()))
  )
  return ThreadPool.Executor.of({
    name,
    deferToThread: (task, payload, runOptions) => calls.run(task, payload, runOptions),
    callInThread: (task, payload, runOptions) =>
      Effect.andThen(accept(task, payload), fireAndForget(calls.run(task, payload, runOptions))),
    callInThreadWithCallback: (onResult, task, payload, runOptions) =>
      Effect.andThen(
        accept(task, payload),
        fireAndForget(Effect.flatMap(Effect.exit(calls.run(task, payload, runOptions)), onResult))
      ),
    callMultipleInThread: (batch) =>
      Effect.gen(function*() {
        for (const one of batch) yield* accept(one.task, one.payload)
        // One key for the batch: its calls run on one runner, in order.
        const key = `batch-${crypto.randomUUID()}`
        yield* fireAndForget(
          Effect.forEach(batch, (one) => calls.run(one.task, one.payload as Task.Payload<typeof one.task>, { key }), {
            discard: true
          })
        )
      }),
    stream: (task, payload, streamOptions) => calls.stream(task, payload, streamOptions),
    runBatch: (task, payloads, batchOptions) => calls.runBatch(task, payloads, batchOptions),
    stop: calls.stop,
    statistics,
    dumpStats: Effect.flatMap(statistics, (s) => Effect.log(`${name}: ${JSON.stringify(s)}`))
  })
}

/**
 * A layer that provides the {@link ThreadPool.Executor} service (not `ThreadPool.ThreadPool`: a cluster owns no
 * threads) and the {@link DurableCalls} over the cluster whose `Sharding` it is given.
 *
 * @stability experimental
 * @category layers
 * @since 0.3.0
 */
export const layer = (
  options: Options = {}
): Layer.Layer<ThreadPool.Executor | DurableCalls, never, Sharding.Sharding> =>
  Layer.effectContext(
    Effect.map(make(options), (pool) =>
      Context.make(ThreadPool.Executor, pool).pipe(Context.add(DurableCalls, { deferOnce: pool.deferOnce })))
  )
