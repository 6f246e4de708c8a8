/**
 * How a task's values travel: encoded and decoded with the task's own schemas, the one codec every side of the
 * library uses (a pool and its threads, a cluster's callers and runners). A transport of your own (a queue, a
 * socket) sends a task's payload and reads its outcome with it, with the pool's errors and paths.
 *
 * A task's codec is made once (a second {@link make} of the same task gives the same codec), and each schema's
 * parsers once, whatever the tasks that share it. A value that does not match its schema gives `InvalidPayload` (a
 * payload) or `InvalidResult` (a success, a typed failure, an element), naming the task and where: `$` for the value
 * itself, `$.a.b[1]` below it, `$["a key"]` for a key that is not an identifier.
 *
 * @since 0.4.0
 */
import type * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import * as Codec from "./internal/wire/codec.ts"
import * as Task from "./Task.ts"
import type { InvalidPayload, InvalidResult } from "./ThreadError.ts"

/**
 * The elements of a streaming task; a plain task has none.
 *
 * @stability experimental
 * @category type-level
 * @since 0.4.0
 */
export type Element<T extends Task.Any> = T extends Task.AnyStream ? Task.Element<T> : never

/**
 * A task's codec: each of its values encoded (to cross) or decoded (after crossing) with the task's schema.
 *
 * @stability experimental
 * @category models
 * @since 0.4.0
 */
export interface TaskCodec<T extends Task.Any> {
  readonly encodePayload: (payload: Task.Payload<T>) => Exit.Exit<unknown, InvalidPayload>
  readonly decodePayload: (encoded: unknown) => Exit.Exit<Task.Payload<T>, InvalidPayload>
  readonly encodeSuccess: (value: Task.Success<T>) => Exit.Exit<unknown, InvalidResult>
  readonly decodeSuccess: (encoded: unknown) => Exit.Exit<Task.Success<T>, InvalidResult>
  readonly encodeFailure: (error: Task.Failure<T>) => Exit.Exit<unknown, InvalidResult>
  readonly decodeFailure: (encoded: unknown) => Exit.Exit<Task.Failure<T>, InvalidResult>
  readonly encodeElement: (element: Element<T>) => Exit.Exit<unknown, InvalidResult>
  readonly decodeElement: (encoded: unknown) => Exit.Exit<Element<T>, InvalidResult>
}

/**
 * The codec of `task`, made once per task.
 *
 * **Example** (A payload encoded to be sent, and the answer decoded)
 *
 * ```ts
 * import { Schema } from "effect"
 * import { Task, TaskCodec } from "@effect-threads/core"
 *
 * const Parse = Task.make("Parse", { payload: Schema.NumberFromString, success: Schema.Number })
 *
 * const encoded = TaskCodec.make(Parse).encodePayload(42) // Exit.succeed("42")
 * const answer = TaskCodec.make(Parse).decodeSuccess(43) // Exit.succeed(43)
 * ```
 *
 * @stability experimental
 * @category constructors
 * @since 0.4.0
 */
export const make = <T extends Task.Any>(task: T): TaskCodec<T> => Codec.of(task) as TaskCodec<T>

/**
 * The relay of a task: see {@link relay}.
 *
 * @stability experimental
 * @category type-level
 * @since 0.4.0
 */
export type Relay<T extends Task.Any> = T extends Task.AnyStream
  ? Task.StreamTask<T["_tag"], typeof Schema.Unknown, typeof Schema.Unknown, typeof Schema.Unknown>
  : Task.Task<T["_tag"], typeof Schema.Unknown, typeof Schema.Unknown, typeof Schema.Unknown>

const relays = new WeakMap<Task.Any, Task.Any>()

/**
 * The task as a relay runs it: the same tag, its payload, success, typed failure and elements passed on as they are
 * (`Schema.Unknown`), encoded. For a process that hands a task over to a pool without using its values (the
 * cluster's runner does): it gives the pool the payload as it received it, encoded, and gets the outcome back
 * encoded, to send on, with nothing decoded only to be encoded again. The thread that implements the task decodes
 * the payload with the task's own schema (a payload that does not match fails with `InvalidPayload`, naming where)
 * and encodes the outcome with it. Made once per task.
 *
 * @stability experimental
 * @category constructors
 * @since 0.4.0
 */
export const relay = <T extends Task.Any>(task: T): Relay<T> => {
  let relayed = relays.get(task)
  if (relayed === undefined) {
    const schemas = { payload: Schema.Unknown, failure: Schema.Unknown }
    relayed = Task.isStream(task)
      ? Task.stream(task._tag, { ...schemas, element: Schema.Unknown })
      : Task.make(task._tag, { ...schemas, success: Schema.Unknown })
    relays.set(task, relayed)
  }
  return relayed as Relay<T>
}
