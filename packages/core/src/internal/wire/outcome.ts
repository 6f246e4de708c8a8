/**
 * A task's outcome on the wire: encoded with the task's schemas on the side that ran it, turned back into an `Exit`
 * on the side that asked for it.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import type * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"
import type * as Task from "../../Task.ts"
import * as ThreadError from "../../ThreadError.ts"
import * as Describe from "../describe.ts"
import * as Protocol from "./protocol.ts"

type Codec = (input: unknown) => Exit.Exit<unknown, Schema.SchemaError>

const encoders = new WeakMap<Schema.Top, Codec>()
const decoders = new WeakMap<Schema.Top, Codec>()

/** The encoder of `schema`, made once: making one per value costs more than encoding a small value. */
export const encoder = (schema: Task.AnySchema): Codec => {
  let codec = encoders.get(schema)
  if (codec === undefined) encoders.set(schema, codec = Schema.encodeUnknownExit(schema))
  return codec
}

/** The decoder of `schema`, made once. */
export const decoder = (schema: Task.AnySchema): Codec => {
  let codec = decoders.get(schema)
  if (codec === undefined) decoders.set(schema, codec = Schema.decodeUnknownExit(schema))
  return codec
}

/** Encodes how a task ended, with its schemas, for the other side. */
export const encode = (task: Task.Any, exit: Exit.Exit<unknown, unknown>): Protocol.Outcome => {
  if (Exit.isSuccess(exit)) {
    const encoded = encoder(task.success)(exit.value)
    return Exit.isSuccess(encoded) ? [Protocol.SUCCESS, encoded.value] : mismatch(task, "success", encoded.cause)
  }
  const error = Cause.findError(exit.cause)
  if (Result.isSuccess(error)) {
    const encoded = encoder(task.failure)(error.success)
    return Exit.isSuccess(encoded) ? [Protocol.FAILURE, encoded.value] : mismatch(task, "failure", encoded.cause)
  }
  const defect = Cause.findDefect(exit.cause)
  if (Result.isSuccess(defect)) return [Protocol.DEFECT, Protocol.encodeDefect(defect.success)]
  return [Protocol.INTERRUPTED]
}

/**
 * What a task's outcome becomes on the side that asked for it: the decoded success, the decoded typed failure, the
 * defect, the interruption, or one of the two errors of the transport. Synchronous: an `Exit` is an `Effect`, so a
 * caller can be resumed with it as it is.
 */
export const toExit = <T extends Task.Any>(
  task: T,
  outcome: Protocol.Outcome
): Exit.Exit<Task.Success<T>, Task.Failure<T> | ThreadError.InvalidResult | ThreadError.TaskNotImplemented> => {
  switch (outcome[0]) {
    case Protocol.SUCCESS: {
      const decoded = decoder(task.success)(outcome[1])
      return Exit.isSuccess(decoded)
        ? decoded
        : Exit.fail(invalidResult(task, mismatch(task, "success", decoded.cause)))
    }
    case Protocol.FAILURE: {
      const decoded = decoder(task.failure)(outcome[1])
      return Exit.isSuccess(decoded)
        ? Exit.fail(decoded.value)
        : Exit.fail(invalidResult(task, mismatch(task, "failure", decoded.cause)))
    }
    case Protocol.DEFECT:
      return Exit.die(Protocol.decodeDefect(outcome[1]))
    case Protocol.INTERRUPTED:
      return Exit.interrupt()
    case Protocol.NOT_IMPLEMENTED:
      return Exit.fail(
        new ThreadError.TaskNotImplemented({
          task: task._tag,
          message: `the thread does not implement the task ${task._tag}`
        })
      )
    case Protocol.INVALID_RESULT:
      return Exit.fail(invalidResult(task, outcome))
  }
}

/**
 * {@link toExit} of the outcome inside a RESULT message (`[RESULT, id, ...outcome]`): a success, the common case, is
 * decoded in place, without copying the outcome out.
 */
export const resultToExit = (
  task: Task.Any,
  result: ReadonlyArray<unknown>
): Exit.Exit<unknown, unknown> => {
  if (result[2] !== Protocol.SUCCESS) return toExit(task, result.slice(2) as unknown as Protocol.Outcome)
  const decoded = decoder(task.success)(result[3])
  return Exit.isSuccess(decoded) ? decoded : Exit.fail(invalidResult(task, mismatch(task, "success", decoded.cause)))
}

/** {@link toExit}, typed as the `Effect` it is. */
export const decode: <T extends Task.Any>(
  task: T,
  outcome: Protocol.Outcome
) => Effect.Effect<Task.Success<T>, Task.Failure<T> | ThreadError.InvalidResult | ThreadError.TaskNotImplemented> =
  toExit

/** The outcome of a result that cannot be cloned: where, found by a walk made only now that a clone failed. */
export const uncloneable = (value: unknown, cause: unknown): Protocol.Outcome => {
  let path = "$"
  try {
    path = Protocol.findUncloneable(value) ?? "$"
  } catch {
    // Reading the value threw (a getter, a proxy): where is not known.
  }
  const why = Describe.messageOf(cause)
  return [Protocol.INVALID_RESULT, path, `the result holds a value at ${path} that cannot be cloned: ${why}`]
}

/** Formats a schema path the way payload paths are written: `$`, `$.a.b[1]`, `$["a key"]`. */
export const formatPath = (path: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }>): string => {
  let out = "$"
  for (const segment of path) {
    const key = typeof segment === "object" ? segment.key : segment
    if (typeof key === "number") out += `[${key}]`
    else if (typeof key === "string" && /^[A-Za-z_$][\w$]*$/.test(key)) out += `.${key}`
    else out += `[${typeof key === "string" ? JSON.stringify(key) : String(key)}]`
  }
  return out
}

const formatter = SchemaIssue.makeFormatterStandardSchemaV1()

/** A value that does not match its schema, as an outcome naming the first place it goes wrong. */
export const mismatch = (
  task: Task.Any,
  which: "success" | "failure" | "payload",
  cause: Cause.Cause<Schema.SchemaError>
): readonly [typeof Protocol.INVALID_RESULT, string, string] => {
  const error = Cause.findError(cause)
  const first = Result.isSuccess(error) ? formatter(error.success.issue).issues[0] : undefined
  const path = first === undefined ? "$" : formatPath(first.path ?? [])
  const what = Result.isSuccess(error) ? error.success.message : Describe.describe(Cause.squash(cause))
  return [Protocol.INVALID_RESULT, path, `the ${which} of ${task._tag} does not match its schema at ${path}: ${what}`]
}

const invalidResult = (
  task: Task.Any,
  outcome: readonly [typeof Protocol.INVALID_RESULT, string, string]
): ThreadError.InvalidResult =>
  new ThreadError.InvalidResult({ task: task._tag, path: outcome[1], message: outcome[2] })
