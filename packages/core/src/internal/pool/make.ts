/**
 * Making a pool: its options resolved once (`options.ts`), its section made in the current scope (the platform, the
 * clock, a fiber set for its timers and callbacks, its metrics, the finalizer that closes it), the adaptive policy's
 * fibers, and the shape of the public `ThreadPool` over the calls and the lifecycle.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as FiberSet from "effect/FiberSet"
import * as Result from "effect/Result"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import type { AlreadyQuit } from "../../AlreadyQuit.ts"
import type * as Task from "../../Task.ts"
import type { InvalidLimit, InvalidPayload } from "../../ThreadError.ts"
import * as ThreadPlatform from "../../ThreadPlatform.ts"
import type * as ThreadPool from "../../ThreadPool.ts"
import * as Calls from "./calls.ts"
import * as Executor from "./executor.ts"
import * as Lifecycle from "./lifecycle.ts"
import * as Meters from "./meters.ts"
import * as PoolOptions from "./options.ts"
import * as Section from "./section.ts"
import * as Streams from "./streams.ts"

/** Makes a pool in the current scope; closing the scope closes it (`Lifecycle.close`). */
export const make = (
  options: ThreadPool.Options = {}
): Effect.Effect<
  ThreadPool.ThreadPoolShape,
  PoolOptions.InvalidOptions,
  ThreadPlatform.ThreadPlatform | Scope.Scope
> =>
  Effect.gen(function*() {
    const resolved = PoolOptions.resolve(options)
    if (Result.isFailure(resolved)) return yield* new PoolOptions.InvalidOptions({ message: resolved.failure })
    const section = yield* makeSection(resolved.success)
    const adaptive = resolved.success.adaptive
    if (adaptive !== undefined) yield* Lifecycle.adaptive(section, adaptive)
    return shape(section)
  })

/** The section of a pool, in the current scope, which closes it. */
const makeSection = (
  options: PoolOptions.Resolved
): Effect.Effect<Section.Section, never, ThreadPlatform.ThreadPlatform | Scope.Scope> =>
  Effect.gen(function*() {
    const platform = yield* ThreadPlatform.ThreadPlatform
    const clock = yield* Clock.Clock
    const context = yield* Effect.context<never>()
    const run = yield* FiberSet.makeRuntime<never>()
    const section = Section.make(options, {
      platform,
      meters: Meters.make(options.name, context),
      millis: () => clock.currentTimeMillisUnsafe(),
      run: <A, E>(effect: Effect.Effect<A, E>) => run(effect)
    })
    yield* Effect.addFinalizer(() => Lifecycle.close(section))
    return section
  })

/** The public shape over a section. */
const shape = (section: Section.Section): ThreadPool.ThreadPoolShape => {
  const name = section.options.name
  const statistics = Effect.sync((): ThreadPool.Statistics => Section.statistics(section))
  return Executor.register({
    name,
    deferToThread: (task, payload, runOptions) =>
      Calls.deferToThread(section, task, payload, runOptions) as Effect.Effect<
        Task.Success<typeof task>,
        ThreadPool.RunError<typeof task>
      >,
    callInThread: (task, payload, runOptions) => Calls.callInThread(section, task, payload, runOptions),
    callInThreadWithCallback: (onResult, task, payload, runOptions) =>
      Calls.callInThreadWithCallback(
        section,
        onResult as (exit: Exit.Exit<unknown, unknown>) => Effect.Effect<void>,
        task,
        payload,
        runOptions
      ),
    callMultipleInThread: (calls) => Calls.callMultipleInThread(section, calls),
    stream: (task, payload, streamOptions) =>
      Streams.stream(section, task, payload, streamOptions) as Stream.Stream<
        Task.Element<typeof task>,
        ThreadPool.RunError<typeof task>
      >,
    broadcast: (task, payload) =>
      Calls.broadcast(section, task, payload) as Effect.Effect<
        ReadonlyArray<Exit.Exit<Task.Success<typeof task>, ThreadPool.RunError<typeof task>>>,
        AlreadyQuit | InvalidPayload
      >,
    adjustPoolsize: (size) =>
      Effect.suspend((): Effect.Effect<void, PoolOptions.InvalidOptions | AlreadyQuit | InvalidLimit> => {
        const min = size.minThreads ?? section.minThreads
        const max = size.maxThreads ?? section.maxThreads
        const problem = PoolOptions.checkSize(min, max)
        if (problem !== undefined) return Effect.fail(new PoolOptions.InvalidOptions({ message: problem }))
        return Lifecycle.resize(section, min, max)
      }),
    start: Lifecycle.start(section),
    stop: Lifecycle.stop(section),
    statistics,
    dumpStats: Effect.flatMap(statistics, (s) => Effect.log(`${name}: ${JSON.stringify(s)}`)),
    size: Effect.sync(() => ({ minThreads: section.minThreads, maxThreads: section.maxThreads })),
    started: Effect.sync(() => section.started && !section.quitting)
  }, section)
}
