/**
 * The batches of one bulk call (`ThreadPool.forEach`, `ThreadPool.mapStream`): each batch is one ticket of the pool,
 * run like a task (`calls.ts`' `deferToThread` of the batch's synthetic task, `wire/batch.ts`), on one fiber per
 * batch, never one per element. It takes the call's priority, key and backlog policy as any task does, and is
 * interrupted in its thread like any task. Its answer brings each element's outcome; a failure of the batch as a
 * whole (its thread crashed, the pool quit, the backlog was full) is each of its elements' failure, told with the
 * element's task (not the batch's synthetic one). The metrics count elements: a batch of 100 is 100 tasks.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import type * as Task from "../../Task.ts"
import * as ThreadError from "../../ThreadError.ts"
import type * as ThreadPoolOptions from "../../ThreadPoolOptions.ts"
import * as Describe from "../describe.ts"
import * as Batch from "../wire/batch.ts"
import * as Codec from "../wire/codec.ts"
import * as Protocol from "../wire/protocol.ts"
import * as Calls from "./calls.ts"
import * as Section from "./section.ts"
import * as Sizer from "./sizer.ts"
import * as Ticket from "./ticket.ts"

/** The options every bulk call takes (the public `BulkOptions`, its `transfer` called with any payload). */
export type Options = ThreadPoolOptions.BulkOptions<never>

/** A count option: a positive integer, or (where `infinite`) `Infinity`, or absent; what is wrong, if anything. */
const checkCount = (name: string, value: unknown, infinite: boolean): string | undefined =>
  value === undefined || (typeof value === "number" && Number.isInteger(value) && value >= 1) ||
    (infinite && value === Infinity)
    ? undefined
    : `${name} must be a positive integer${infinite ? " or Infinity" : ""}, got ${Describe.describe(value)}`

/**
 * Checks a bulk call's counts before anything runs: `batchSize` and `bufferSize` are positive integers, `concurrency`
 * a positive integer or `Infinity` (no bound). Gives the `InvalidOptions` naming the first one out of range.
 */
export const validate = (
  options: ThreadPoolOptions.MapStreamOptions<never> | undefined
): ThreadError.InvalidOptions | undefined => {
  const problem = checkCount("batchSize", options?.batchSize, false) ??
    checkCount("concurrency", options?.concurrency, true) ??
    checkCount("bufferSize", options?.bufferSize, false)
  return problem === undefined ? undefined : new ThreadError.InvalidOptions({ message: problem })
}

/** How a batch ended: its answer, or the failure of the batch as a whole (told with the element's task). */
export type Done = Exit.Exit<Batch.Answer, unknown>

/** The batches of one call. */
export interface Batches {
  readonly pool: Section.Section
  readonly task: Task.Any
  readonly batchTask: Task.Any
  readonly stop: 0 | 1
  readonly options: Options | undefined
  readonly sizer: Sizer.Sizer
  /** Batches in flight at most. */
  readonly limit: number
  readonly fork: <A, E>(effect: Effect.Effect<A, E>) => Fiber.Fiber<A, E>
  readonly fibers: Set<Fiber.Fiber<unknown, unknown>>
}

/** The threads a pool's batches spread over: its maximum, or, with no maximum, the threads it has (at least one). */
export const threadsOf = (pool: Section.Section): number => {
  if (Number.isFinite(pool.maxThreads)) return Math.max(1, pool.maxThreads)
  return Math.max(1, pool.minThreads, pool.threads.size)
}

/**
 * The batches of a call of `task` on `pool`, forked with `context` (the caller's: its span is the batches' parent).
 * `stop`: whether a thread stops a batch at its first element that does not succeed.
 */
export const make = (
  pool: Section.Section,
  task: Task.Any,
  options: Options | undefined,
  stop: boolean,
  context: Context.Context<never>
): Batches => {
  const threads = threadsOf(pool)
  return {
    pool,
    task,
    batchTask: Batch.batchTask(task),
    stop: stop ? 1 : 0,
    options,
    sizer: Sizer.make(threads, options?.batchSize),
    limit: options?.concurrency ?? 2 * threads,
    fork: Effect.runForkWith(context),
    fibers: new Set()
  }
}

/** Whether another batch may be sent now. */
export const hasRoom = (self: Batches): boolean => self.fibers.size < self.limit

/** Encodes one element's payload (a value that cannot be cloned fails here, naming its field): nothing is sent. */
export const encode = (self: Batches, payload: unknown): Exit.Exit<unknown, ThreadError.InvalidPayload> =>
  Protocol.isPrimitive(payload)
    ? Codec.encodePayload(self.task, payload)
    : Codec.encodePayloadChecked(self.task, payload)

/**
 * Encodes a batch's payloads in one parse (`wire/batch.ts`' `Many`), each one that is not a primitive walked for a
 * value that cannot be cloned as {@link encode} does; `undefined` if some payload fails either way (the caller then
 * encodes one by one, for each payload's own outcome).
 */
export const encodeAll = (self: Batches, payloads: ReadonlyArray<unknown>): ReadonlyArray<unknown> | undefined => {
  const encoded = Batch.many(self.task).encodePayloads(payloads)
  if (Exit.isFailure(encoded)) return undefined
  const values = encoded.value
  for (let i = 0; i < values.length; i++) {
    const value = values[i]
    if (Protocol.isPrimitive(value)) continue
    try {
      if (Protocol.findUncloneable(value) !== undefined) return undefined
    } catch {
      return undefined
    }
  }
  return values
}

/**
 * Decodes the successes of an answer in which every element succeeded, in one parse; `undefined` if one does not
 * match (the caller then decodes one by one, for each element's own outcome).
 */
export const decodeAll = (self: Batches, values: ReadonlyArray<unknown>): ReadonlyArray<unknown> | undefined => {
  const decoded = Batch.many(self.task).decodeSuccesses(values)
  return Exit.isSuccess(decoded) ? decoded.value : undefined
}

/** What element `index`'s payload transfers, if the call transfers anything. */
export const transferOf = (self: Batches, payload: unknown, index: number): ReadonlyArray<unknown> | undefined =>
  self.options?.transfer?.(payload as never, index)

/**
 * Sends a batch of encoded payloads; `onDone` hears how it ended, once (at once, if it ends at once). The metrics
 * count its elements. Gives the batch's fiber: interrupting it interrupts the batch in its thread.
 */
export const send = (
  self: Batches,
  payloads: ReadonlyArray<unknown>,
  transfer: ReadonlyArray<unknown> | undefined,
  onDone: (done: Done) => void
): Fiber.Fiber<unknown, unknown> => {
  const options = self.options
  const request: Batch.Request = [self.stop, payloads]
  // Whether the pool made the batch's ticket (and so counted it as a task): a batch refused before counts nothing.
  let ticketed = false
  const fiber = self.fork(
    Calls.deferToThread(self.pool, self.batchTask, request, {
      transfer,
      priority: options?.priority,
      whenBacklogFull: options?.whenBacklogFull,
      key: options?.key
    }, (ticket) => {
      ticketed = true
      if (Sizer.isShort(self.sizer, payloads.length)) Ticket.goesAhead(ticket)
    })
  ) as Fiber.Fiber<unknown, unknown>
  self.fibers.add(fiber)
  fiber.addObserver((exit) => {
    self.fibers.delete(fiber)
    if (ticketed) count(self, payloads.length, exit as Done)
    if (Exit.isSuccess(exit)) {
      const answer = exit.value as Batch.Answer
      Sizer.observe(self.sizer, answer[2].length, answer[0])
      return onDone(exit as Done)
    }
    onDone(Exit.failCause(Cause.map(exit.cause, (error) => retag(self, error))))
  })
  return fiber
}

/**
 * Counts the elements of a batch that had a ticket in the metrics as tasks. The pool counted the batch's ticket as one
 * task (and, if the batch failed as a whole, one failure): its other elements are counted now, its elements that did
 * not succeed as failures, and those the thread did not run (it stopped at a failure) as failures too, as an
 * interrupted task is. A batch that failed before it had a ticket (the pool had quit, a dynamic limit was not a
 * number of threads) is not counted, as a single task that fails so; one that failed after (abandoned by `stop`,
 * refused by a full backlog) counts every element.
 */
const count = (self: Batches, elements: number, done: Done): void => {
  const pending = self.pool.meters.pending
  if (Exit.isSuccess(done)) {
    const [, kinds, values] = done.value
    pending.tasks += elements - 1
    pending.failures += elements - values.length
    if (kinds !== 0) { for (const kind of kinds) if (kind !== Protocol.SUCCESS) pending.failures++ }
  } else {
    pending.tasks += elements - 1
    pending.failures += elements - 1
  }
  // Before the caller hears of the batch: a caller that reads the metrics at once reads every element counted.
  Section.flushMeters(self.pool)
}

/** Interrupts every batch in flight (in its thread); each still calls its `onDone`. */
export const interruptAll = (self: Batches): void => {
  for (const fiber of Array.from(self.fibers)) fiber.interruptUnsafe()
}

/**
 * A batch's own failure, told with the element's task: an error naming the batch's synthetic task is made again
 * naming the task (its `task` field and its message).
 */
const retag = (self: Batches, error: unknown): unknown => {
  if (typeof error !== "object" || error === null || !("task" in error) || error.task !== self.batchTask._tag) {
    return error
  }
  const Class = error.constructor as new(fields: Record<string, unknown>) => unknown
  const fields: Record<string, unknown> = { ...error, task: self.task._tag }
  delete fields._tag
  if ("cause" in error && error.cause !== undefined) fields.cause = error.cause
  if ("message" in error && typeof error.message === "string") {
    fields.message = error.message.replaceAll(self.batchTask._tag, self.task._tag)
  }
  try {
    return new Class(fields)
  } catch {
    return error
  }
}
