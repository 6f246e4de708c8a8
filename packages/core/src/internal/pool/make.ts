/**
 * Making a pool: its options checked and resolved, its parts wired (`pool.ts`), and the shape of the public
 * `ThreadPool` over the calls and the lifecycle.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Result from "effect/Result"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import type { AlreadyQuit } from "../../AlreadyQuit.ts"
import type * as Task from "../../Task.ts"
import type { InvalidLimit, InvalidPayload } from "../../ThreadError.ts"
import type * as ThreadPlatform from "../../ThreadPlatform.ts"
import type * as ThreadPool from "../../ThreadPool.ts"
import * as Log from "../log.ts"
import * as Calls from "./calls.ts"
import * as Lifecycle from "./lifecycle.ts"
import * as PoolOptions from "./options.ts"
import * as Pool from "./pool.ts"
import * as Section from "./section.ts"
import * as Streams from "./streams.ts"

/** Reads a duration option or fails with InvalidPoolSize. */
const durationOption = (
  name: string,
  input: Duration.Input | undefined,
  fallback: Duration.Duration
): Effect.Effect<Duration.Duration, PoolOptions.InvalidPoolSize> => {
  const read = PoolOptions.duration(name, input, fallback)
  return Result.isSuccess(read)
    ? Effect.succeed(read.success)
    : Effect.fail(new PoolOptions.InvalidPoolSize({ message: read.failure }))
}

const checked = (problem: string | undefined): Effect.Effect<void, PoolOptions.InvalidPoolSize> =>
  problem === undefined ? Effect.void : Effect.fail(new PoolOptions.InvalidPoolSize({ message: problem }))

export const make = (
  options: ThreadPool.Options = {}
): Effect.Effect<
  ThreadPool.ThreadPoolShape,
  PoolOptions.InvalidPoolSize,
  ThreadPlatform.ThreadPlatform | Scope.Scope
> =>
  Effect.gen(function*() {
    const minThreads = options.minThreads ?? 0
    const maxThreads = options.maxThreads ??
      (options.adaptive === undefined ? Math.max(minThreads, PoolOptions.defaultMaxThreads()) : Infinity)
    yield* checked(PoolOptions.checkSize(minThreads, maxThreads))
    const capacity = options.concurrentTasksPerThread ?? 1
    const startTimeout = yield* durationOption("startTimeout", options.startTimeout, Duration.seconds(30))
    const interruptGracePeriod = yield* durationOption(
      "interruptGracePeriod",
      options.interruptGracePeriod,
      Duration.seconds(1)
    )
    yield* durationOption("adaptive.keepAlive", options.adaptive?.keepAlive, Duration.zero)
    yield* checked(PoolOptions.checkCapacity(capacity))
    const maxBacklog = options.maxBacklog ?? Infinity
    yield* checked(PoolOptions.checkBacklog(maxBacklog))
    yield* checked(PoolOptions.checkRecycle(options.recycle))
    const name = options.name ?? "ThreadPool"
    const logException = options.logException ?? Log.logExceptionDefault
    const pool = yield* Pool.make({
      name,
      minThreads,
      maxThreads,
      capacity,
      startTimeout,
      interruptGracePeriod,
      currentLimit: options.currentLimit,
      adaptive: options.adaptive !== undefined,
      tracing: options.tracing ?? false,
      mainHandlers: options.mainHandlers ?? [],
      logException,
      maxBacklog,
      whenBacklogFull: options.whenBacklogFull ?? "wait",
      recycle: options.recycle
    })
    if (options.adaptive !== undefined) yield* Lifecycle.adaptive(pool, options.adaptive)
    const section = pool.section
    const statistics = Effect.sync((): ThreadPool.Statistics => Section.statistics(section))
    return {
      name,
      deferToThread: (task, payload, runOptions) =>
        Calls.deferToThread(pool, task, payload, runOptions) as Effect.Effect<
          Task.Success<typeof task>,
          ThreadPool.RunError<typeof task>
        >,
      callInThread: (task, payload, runOptions) => Calls.callInThread(pool, task, payload, runOptions),
      callInThreadWithCallback: (onResult, task, payload, runOptions) =>
        Calls.callInThreadWithCallback(
          pool,
          onResult as (exit: Exit.Exit<unknown, unknown>) => Effect.Effect<void>,
          task,
          payload,
          runOptions
        ),
      callMultipleInThread: (calls) => Calls.callMultipleInThread(pool, calls),
      stream: (task, payload, streamOptions) =>
        Streams.stream(pool, task, payload, streamOptions) as Stream.Stream<
          Task.Element<typeof task>,
          ThreadPool.RunError<typeof task>
        >,
      broadcast: (task, payload) =>
        Calls.broadcast(pool, task, payload) as Effect.Effect<
          ReadonlyArray<Exit.Exit<Task.Success<typeof task>, ThreadPool.RunError<typeof task>>>,
          AlreadyQuit | InvalidPayload
        >,
      adjustPoolsize: (size) =>
        Effect.suspend((): Effect.Effect<void, PoolOptions.InvalidPoolSize | AlreadyQuit | InvalidLimit> => {
          const min = size.minThreads ?? section.minThreads
          const max = size.maxThreads ?? section.maxThreads
          const problem = PoolOptions.checkSize(min, max)
          if (problem !== undefined) return Effect.fail(new PoolOptions.InvalidPoolSize({ message: problem }))
          section.minThreads = min
          section.maxThreads = max
          return Effect.asVoid(Lifecycle.adjust(pool))
        }),
      start: Lifecycle.start(pool),
      stop: Lifecycle.stop(pool),
      statistics,
      dumpStats: Effect.flatMap(statistics, (s) => Effect.log(`${name}: ${JSON.stringify(s)}`)),
      size: Effect.sync(() => ({ minThreads: section.minThreads, maxThreads: section.maxThreads })),
      started: Effect.sync(() => section.started && !section.quitting)
    }
  })
