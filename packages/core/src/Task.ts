/**
 * Tasks: the unit of work that crosses a thread boundary.
 *
 * Twisted hands a thread a closure. A closure cannot cross to a JavaScript thread, so work for a thread is named
 * and described with `Schema`: a task has a tag, a payload schema, a success schema and a failure schema. The
 * declaration is shared by both sides: the thread implements it with {@link implement}, and the caller runs it
 * with `ThreadPool.deferToThread`, getting the task's typed success and failure back.
 *
 * The schemas are how the values travel: a payload is encoded with its schema before it is posted (so a payload
 * that does not match fails at once, on the caller's side, naming the task and the field) and decoded in the
 * thread; results and typed failures travel back the same way. Encoded values go through the structured clone
 * algorithm, so `Uint8Array`, `ArrayBuffer`, `Date` and `Map` survive as they are.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import { hasProperty } from "effect/Predicate"
import * as Schema from "effect/Schema"
import type * as Stream from "effect/Stream"

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId = "~@effect-threads/core/Task" as const

/**
 * @since 0.1.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * A schema that needs no services to encode or decode.
 *
 * @stability stable
 * @category models
 * @since 0.1.0
 */
export type AnySchema = Schema.Top & {
  readonly DecodingServices: never
  readonly EncodingServices: never
}

/**
 * A task declaration.
 *
 * @stability stable
 * @category models
 * @since 0.1.0
 */
export interface Task<
  out Tag extends string,
  out Payload extends AnySchema,
  out Success extends AnySchema,
  out Failure extends AnySchema
> {
  readonly [TypeId]: TypeId
  readonly _tag: Tag
  readonly payload: Payload
  readonly success: Success
  readonly failure: Failure
}

/**
 * Any task.
 *
 * @stability stable
 * @category models
 * @since 0.1.0
 */
export interface Any extends Task<string, AnySchema, AnySchema, AnySchema> {}

/**
 * The payload a task takes.
 *
 * @category type-level
 * @since 0.1.0
 */
export type Payload<T extends Any> = T["payload"]["Type"]

/**
 * The value a task succeeds with.
 *
 * @category type-level
 * @since 0.1.0
 */
export type Success<T extends Any> = T["success"]["Type"]

/**
 * The typed failure of a task.
 *
 * @category type-level
 * @since 0.1.0
 */
export type Failure<T extends Any> = T["failure"]["Type"]

/**
 * Whether a value is a task declaration.
 *
 * @stability stable
 * @category guards
 * @since 0.1.0
 */
export const isTask = (u: unknown): u is Any => hasProperty(u, TypeId)

/**
 * Declares a task. Omitted schemas default to `Schema.Void` (payload and success) and `Schema.Never` (failure).
 *
 * **Example** (A task that counts primes)
 *
 * ```ts
 * import { Schema } from "effect"
 * import { Task } from "@effect-threads/core"
 *
 * export class RangeTooLarge extends Schema.TaggedError<RangeTooLarge>()("RangeTooLarge", {
 *   size: Schema.Number
 * }) {}
 *
 * export const CountPrimes = Task.make("CountPrimes", {
 *   payload: Schema.Struct({ from: Schema.Number, to: Schema.Number }),
 *   success: Schema.Number,
 *   failure: RangeTooLarge
 * })
 * ```
 *
 * @stability stable
 * @category constructors
 * @since 0.1.0
 */
export const make = <
  const Tag extends string,
  Payload extends AnySchema = Schema.Void,
  Success extends AnySchema = Schema.Void,
  Failure extends AnySchema = Schema.Never
>(tag: Tag, options?: {
  readonly payload?: Payload | undefined
  readonly success?: Success | undefined
  readonly failure?: Failure | undefined
}): Task<Tag, Payload, Success, Failure> => ({
  [TypeId]: TypeId,
  _tag: tag,
  payload: (options?.payload ?? Schema.Void) as Payload,
  success: (options?.success ?? Schema.Void) as Success,
  failure: (options?.failure ?? Schema.Never) as Failure
})

/**
 * A task and the function that runs it, on the side that implements it.
 *
 * @stability stable
 * @category models
 * @since 0.1.0
 */
export interface Handler<T extends Any = Any, R = never> {
  readonly task: T
  readonly handle: (payload: Payload<T>) => Effect.Effect<Success<T>, Failure<T>, R>
}

/**
 * Any handler, as a thread keeps them: the payload type is erased.
 *
 * @stability stable
 * @category models
 * @since 0.1.0
 */
export interface AnyHandler<out R = never> {
  readonly task: Any
  readonly handle: (payload: never) => Effect.Effect<unknown, unknown, R>
  /** For a streaming task ({@link implementStream}): the stream it produces. */
  readonly stream?: ((payload: never) => Stream.Stream<unknown, unknown, R>) | undefined
}

/**
 * Implements a task: pairs the declaration with the function that runs it.
 *
 * **Example** (Implementing a task in a worker entry)
 *
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Task } from "@effect-threads/core"
 *
 * const Square = Task.make("Square", { payload: Schema.Number, success: Schema.Number })
 *
 * export const handlers = [Task.implement(Square, (n) => Effect.succeed(n * n))]
 * ```
 *
 * @stability stable
 * @category constructors
 * @since 0.1.0
 */
export const implement = <T extends Any, R = never>(
  task: T,
  handle: (payload: Payload<T>) => Effect.Effect<Success<T>, Failure<T>, R>
): Handler<T, R> => ({ task, handle })

/**
 * A streaming task: its handler produces a `Stream` of elements in the thread, and the caller gets a `Stream` of
 * them (`ThreadPool.stream`), with backpressure across the thread boundary.
 *
 * @stability experimental
 * @category models
 * @since 0.2.0
 */
export interface StreamTask<
  out Tag extends string,
  out Payload extends AnySchema,
  out Element extends AnySchema,
  out Failure extends AnySchema
> extends Task<Tag, Payload, Schema.Void, Failure> {
  readonly element: Element
}

/**
 * Any streaming task.
 *
 * @stability experimental
 * @category models
 * @since 0.2.0
 */
export interface AnyStream extends StreamTask<string, AnySchema, AnySchema, AnySchema> {}

/**
 * The elements a streaming task produces.
 *
 * @category type-level
 * @since 0.2.0
 */
export type Element<T extends AnyStream> = T["element"]["Type"]

/**
 * Declares a streaming task: a payload, the schema of each element, a failure. Omitted schemas default to
 * `Schema.Void` (payload) and `Schema.Never` (failure).
 *
 * **Example** (Rows produced in a thread)
 *
 * ```ts
 * import { Schema } from "effect"
 * import { Task } from "@effect-threads/core"
 *
 * export const Rows = Task.stream("Rows", {
 *   payload: Schema.Struct({ count: Schema.Number }),
 *   element: Schema.Struct({ id: Schema.Number })
 * })
 * ```
 *
 * @stability experimental
 * @category constructors
 * @since 0.2.0
 */
export const stream = <
  const Tag extends string,
  Element extends AnySchema,
  Payload extends AnySchema = Schema.Void,
  Failure extends AnySchema = Schema.Never
>(tag: Tag, options: {
  readonly payload?: Payload | undefined
  readonly element: Element
  readonly failure?: Failure | undefined
}): StreamTask<Tag, Payload, Element, Failure> => ({
  ...make(tag, { payload: options.payload, failure: options.failure }),
  element: options.element
})

/**
 * Implements a streaming task in a thread: the stream's elements go to the caller as the caller takes them. The
 * thread pulls the stream's next chunk only once the caller has room for more, and a chunk is made whole: a stream
 * that makes large chunks (`Stream.range` and `Stream.fromIterable` make 4,096 at a time, `Stream.fromIterable` of an
 * array the whole array at once, and `Stream.map` maps a chunk at once) computes a whole chunk ahead of the caller. To
 * bound the work done ahead, make small chunks at the source (`Stream.range(1, n, 16)`) or put `Stream.rechunk(1)`
 * before the costly step.
 *
 * @stability experimental
 * @category constructors
 * @since 0.2.0
 */
export const implementStream = <T extends AnyStream, R = never>(
  task: T,
  stream: (payload: Payload<T>) => Stream.Stream<Element<T>, Failure<T>, R>
): AnyHandler<R> => ({
  task,
  handle: () => Effect.die(new Error(`${task._tag} is a streaming task: run it with ThreadPool.stream`)),
  stream: stream as (payload: never) => Stream.Stream<unknown, unknown, R>
})

/**
 * Whether a task is a streaming task.
 *
 * @stability experimental
 * @category guards
 * @since 0.2.0
 */
export const isStream = (task: Any): task is AnyStream => "element" in task

/**
 * A check for the calls that run a plain task (`deferToThread`, `callInThread`, `broadcast`, ...): a parameter typed
 * `T & Task.NotStream<T>` takes any plain task and rejects a streaming task at compile time, with this type's text
 * in the error. A streaming task runs with `ThreadPool.stream`; given to one of those calls from untyped code, it
 * fails at once with `TaskNotImplemented`.
 *
 * @stability experimental
 * @category type-level
 * @since 0.4.0
 */
export type NotStream<T> = T extends { readonly element: AnySchema }
  ? "a streaming task (Task.stream) runs with ThreadPool.stream"
  : unknown
