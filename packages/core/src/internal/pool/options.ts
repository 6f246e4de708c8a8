/**
 * A pool's options, checked and resolved once, when the pool is made, into one record ({@link Resolved}) that the
 * pool reads from then on: sizes (Twisted's `0 <= min <= max`), the number of tasks a thread may hold, durations,
 * the backlog's bound, recycling, the dynamic limit, the main thread's handlers by tag. A problem is described in
 * words for `InvalidOptions`.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import type * as Task from "../../Task.ts"
import type * as Team from "../../Team.ts"
import type { InvalidLimit } from "../../ThreadError.ts"
import type * as ThreadPoolOptions from "../../ThreadPoolOptions.ts"
import * as Describe from "../describe.ts"
import * as Limit from "../limit.ts"
import * as Log from "../log.ts"
import type * as Pacer from "../pacer.ts"

/** A pool's options, resolved: every default applied, every bound checked. */
export interface Resolved {
  readonly name: string
  /** The size the pool is made with; `adjustPoolsize` changes the section's own `minThreads` and `maxThreads`. */
  readonly minThreads: number
  readonly maxThreads: number
  /** How many tasks a thread may hold (`concurrentTasksPerThread`). */
  readonly capacity: number
  readonly startTimeout: Duration.Duration
  readonly interruptGracePeriod: Duration.Duration
  /** The dynamic limit (`currentLimit`), checked as it is read; `undefined` when the limit is `maxThreads`. */
  readonly readLimit: Effect.Effect<number, InvalidLimit> | undefined
  /** The adaptive policy, if the pool paces its threads above the minimum. */
  readonly adaptive: Pacer.Policy | undefined
  readonly tracing: boolean
  /** The tasks threads may call on the main thread, by tag. */
  readonly mainHandlers: ReadonlyMap<string, Task.AnyHandler>
  readonly logException: Team.LogException
  /** The most tickets the backlog holds (`Infinity`: no bound). */
  readonly maxBacklog: number
  /** What a task does when the backlog is full, unless its call says. */
  readonly whenBacklogFull: "wait" | "fail"
  /** Recycling: a thread is retired after this many tasks, or once its heap passes this many bytes. */
  readonly recycleAfterTasks: number
  readonly recycleAboveHeap: number
}

/** Checks and resolves a pool's options; gives what is wrong, in words, if anything (the first problem found). */
export const resolve = (options: ThreadPoolOptions.Options): Result.Result<Resolved, string> =>
  Result.gen(function*() {
    const minThreads = options.minThreads ?? 0
    const maxThreads = options.maxThreads ??
      (options.adaptive === undefined ? Math.max(minThreads, defaultMaxThreads()) : Infinity)
    yield* check(checkSize(minThreads, maxThreads))
    const startTimeout = yield* duration("startTimeout", options.startTimeout, Duration.seconds(30))
    const interruptGracePeriod = yield* duration(
      "interruptGracePeriod",
      options.interruptGracePeriod,
      Duration.seconds(1)
    )
    yield* duration("adaptive.keepAlive", options.adaptive?.keepAlive, Duration.zero)
    const capacity = options.concurrentTasksPerThread ?? 1
    yield* check(checkCapacity(capacity))
    const maxBacklog = options.maxBacklog ?? Infinity
    yield* check(checkBacklog(maxBacklog))
    yield* check(checkRecycle(options.recycle))
    const mainHandlers = new Map<string, Task.AnyHandler>()
    for (const handler of options.mainHandlers ?? []) mainHandlers.set(handler.task._tag, handler)
    return {
      name: options.name ?? "ThreadPool",
      minThreads,
      maxThreads,
      capacity,
      startTimeout,
      interruptGracePeriod,
      readLimit: options.currentLimit === undefined ? undefined : Limit.validate(options.currentLimit),
      adaptive: options.adaptive,
      tracing: options.tracing ?? false,
      mainHandlers,
      logException: options.logException ?? Log.logExceptionDefault,
      maxBacklog,
      whenBacklogFull: options.whenBacklogFull ?? "wait",
      recycleAfterTasks: options.recycle?.afterTasks ?? Infinity,
      recycleAboveHeap: options.recycle?.heapAbove ?? Infinity
    }
  })

const check = (problem: string | undefined): Result.Result<void, string> =>
  problem === undefined ? Result.void : Result.fail(problem)

/** The platform's hardware concurrency, or 4. */
export const defaultMaxThreads = (): number => {
  const concurrency = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency
  return typeof concurrency === "number" && concurrency > 0 ? concurrency : 4
}

/** Checks a minimum and a maximum; gives what is wrong, if anything. */
export const checkSize = (min: number, max: number): string | undefined =>
  !(Number.isInteger(min) && min >= 0)
    ? `minThreads must be a non-negative integer, got ${min}`
    : !(max === Infinity || (Number.isInteger(max) && max >= 0))
    ? `maxThreads must be a non-negative integer, got ${max}`
    : min > max
    ? `minThreads (${min}) is greater than maxThreads (${max})`
    : undefined

/** Reads a duration option: `fallback` when absent; a negative or unreadable one is described. */
const duration = (
  name: string,
  input: Duration.Input | undefined,
  fallback: Duration.Duration
): Result.Result<Duration.Duration, string> => {
  if (input === undefined) return Result.succeed(fallback)
  const read = Duration.fromInput(input)
  return read._tag === "Some" && !Duration.isNegative(read.value)
    ? Result.succeed(read.value)
    : Result.fail(`${name} must be a non-negative duration, got ${Describe.describe(input)}`)
}

/** Checks the number of tasks a thread may hold. */
const checkCapacity = (capacity: number): string | undefined =>
  Number.isInteger(capacity) && capacity >= 1
    ? undefined
    : `concurrentTasksPerThread must be a positive integer, got ${capacity}`

/** Checks the bound of the backlog: a non-negative integer, or `Infinity`. */
const checkBacklog = (bound: number): string | undefined =>
  bound === Infinity || (Number.isInteger(bound) && bound >= 0)
    ? undefined
    : `maxBacklog must be a non-negative integer or Infinity, got ${bound}`

/** Checks the recycling bounds: positive integers (tasks) and positive numbers (bytes), or absent. */
const checkRecycle = (recycle: ThreadPoolOptions.Options["recycle"]): string | undefined => {
  const tasks = recycle?.afterTasks
  const heap = recycle?.heapAbove
  if (tasks !== undefined && !(Number.isInteger(tasks) && tasks >= 1)) {
    return `recycle.afterTasks must be a positive integer, got ${tasks}`
  }
  if (heap !== undefined && !(heap > 0)) return `recycle.heapAbove must be a positive number of bytes, got ${heap}`
  return undefined
}

export { InvalidOptions } from "../../ThreadError.ts"
