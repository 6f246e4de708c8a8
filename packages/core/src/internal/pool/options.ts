/**
 * A pool's options, checked and resolved once, when the pool is made: sizes (Twisted's `0 <= min <= max`), the
 * number of tasks a thread may hold, and durations. A problem is described in words for `InvalidPoolSize`.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as Describe from "../describe.ts"

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
export const duration = (
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
export const checkCapacity = (capacity: number): string | undefined =>
  Number.isInteger(capacity) && capacity >= 1
    ? undefined
    : `concurrentTasksPerThread must be a positive integer, got ${capacity}`

/** Checks the bound of the backlog: a non-negative integer, or `Infinity`. */
export const checkBacklog = (bound: number): string | undefined =>
  bound === Infinity || (Number.isInteger(bound) && bound >= 0)
    ? undefined
    : `maxBacklog must be a non-negative integer or Infinity, got ${bound}`

/** Checks the recycling bounds: positive integers (tasks) and positive numbers (bytes), or absent. */
export const checkRecycle = (
  recycle: { readonly afterTasks?: number | undefined; readonly heapAbove?: number | undefined } | undefined
): string | undefined => {
  const tasks = recycle?.afterTasks
  const heap = recycle?.heapAbove
  if (tasks !== undefined && !(Number.isInteger(tasks) && tasks >= 1)) {
    return `recycle.afterTasks must be a positive integer, got ${tasks}`
  }
  if (heap !== undefined && !(heap > 0)) return `recycle.heapAbove must be a positive number of bytes, got ${heap}`
  return undefined
}

/**
 * The pool's options are out of range: `minThreads` and `maxThreads` do not describe a pool (Twisted's assertions
 * `0 <= min <= max`), `concurrentTasksPerThread` is not a positive integer, or a duration is negative or unreadable.
 *
 * @stability stable
 * @category errors
 * @since 0.1.0
 */
export class InvalidPoolSize extends Schema.TaggedError<InvalidPoolSize>()("InvalidPoolSize", {
  message: Schema.String
}) {}
