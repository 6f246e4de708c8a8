/**
 * The task codec: how a task's payload, success, typed failure and stream elements cross a boundary (to a thread
 * and back, to a cluster's runner and back), encoded and decoded with the task's own schemas. Every side uses this
 * module: the pool (`pool/calls.ts`, `pool/streams.ts`, `pool/inbox.ts`), the thread
 * (`runner/session.ts`) and, through the public `TaskCodec`, the cluster.
 *
 * A schema's parser is made once per schema, and a task's codec once per task. A value that does not match its
 * schema gives the typed error of its side (`InvalidPayload` for a payload, `InvalidResult` for the rest) with one
 * path format, `$`, `$.a.b[1]`, `$["a key"]`, and one message: `the <part> of <task> does not match its schema at
 * <path>: <what>`.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Exit from "effect/Exit"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"
import type * as Task from "../../Task.ts"
import { InvalidPayload, InvalidResult, TaskNotImplemented } from "../../ThreadError.ts"
import * as Describe from "../describe.ts"
import * as Protocol from "./protocol.ts"

/** A schema's parser in one direction. */
type Parse = (input: unknown) => Exit.Exit<unknown, Schema.SchemaError>

const encoders = new WeakMap<Schema.Top, Parse>()
const decoders = new WeakMap<Schema.Top, Parse>()

/** The encoder of `schema`, made once: making one per value costs more than encoding a small value. */
export const encoder = (schema: Task.AnySchema): Parse => {
  let parse = encoders.get(schema)
  if (parse === undefined) encoders.set(schema, parse = Schema.encodeUnknownExit(schema))
  return parse
}

/** The decoder of `schema`, made once. */
export const decoder = (schema: Task.AnySchema): Parse => {
  let parse = decoders.get(schema)
  if (parse === undefined) decoders.set(schema, parse = Schema.decodeUnknownExit(schema))
  return parse
}

/** Which of a task's values is being encoded or decoded. */
export type Part = "payload" | "success" | "failure" | "element"

/** Formats a path: `$` for the root, `$.a.b[1]` below it, `$["a key"]` for a key that is not an identifier. */
export const formatPath = (path: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }>): string => {
  let out = "$"
  for (const segment of path) out += Protocol.pathSegment(typeof segment === "object" ? segment.key : segment)
  return out
}

const formatter = SchemaIssue.makeFormatterStandardSchemaV1()

/** Where a value first goes wrong against its schema, and the message that says so. */
export interface Mismatch {
  readonly path: string
  readonly message: string
}

/** The mismatch of a failed parse: the first issue's path, and a message naming the task, the part and the path. */
export const mismatch = (tag: string, part: Part, cause: Cause.Cause<Schema.SchemaError>): Mismatch => {
  const error = Cause.findError(cause)
  let path = "$"
  let what: string
  if (Result.isSuccess(error)) {
    const first = formatter(error.success.issue).issues[0]
    if (first !== undefined) path = formatPath(first.path ?? [])
    what = first?.message ?? error.success.message
  } else {
    what = Describe.describe(Cause.squash(cause))
  }
  return { path, message: `the ${part} of ${tag} does not match its schema at ${path}: ${what}` }
}

/** One task's codec: each of its values encoded or decoded with its schema, a mismatch as the side's typed error. */
export interface Codec {
  readonly encodePayload: (payload: unknown) => Exit.Exit<unknown, InvalidPayload>
  readonly decodePayload: (encoded: unknown) => Exit.Exit<unknown, InvalidPayload>
  readonly encodeSuccess: (value: unknown) => Exit.Exit<unknown, InvalidResult>
  readonly decodeSuccess: (encoded: unknown) => Exit.Exit<unknown, InvalidResult>
  readonly encodeFailure: (error: unknown) => Exit.Exit<unknown, InvalidResult>
  readonly decodeFailure: (encoded: unknown) => Exit.Exit<unknown, InvalidResult>
  /** A streaming task's elements; a plain task has none (its element schema is `Schema.Never`). */
  readonly encodeElement: (element: unknown) => Exit.Exit<unknown, InvalidResult>
  readonly decodeElement: (encoded: unknown) => Exit.Exit<unknown, InvalidResult>
}

/** A payload that did not match: `InvalidPayload`. */
const payloadMismatch = (
  tag: string,
  exit: Exit.Failure<unknown, Schema.SchemaError>
): Exit.Exit<never, InvalidPayload> =>
  Exit.fail(new InvalidPayload({ task: tag, ...mismatch(tag, "payload", exit.cause) }))

/** A success, failure or element that did not match: `InvalidResult`. */
const resultMismatch = (
  tag: string,
  part: Part,
  exit: Exit.Failure<unknown, Schema.SchemaError>
): Exit.Exit<never, InvalidResult> => Exit.fail(new InvalidResult({ task: tag, ...mismatch(tag, part, exit.cause) }))

/** A payload's parser, its mismatch an `InvalidPayload`. */
const payloadPart = (tag: string, parse: Parse) => (input: unknown): Exit.Exit<unknown, InvalidPayload> => {
  const exit = parse(input)
  return Exit.isSuccess(exit) ? exit as Exit.Exit<unknown> : payloadMismatch(tag, exit)
}

/** A result's parser (success, failure, element), its mismatch an `InvalidResult`. */
const resultPart = (tag: string, part: Part, parse: Parse) => (input: unknown): Exit.Exit<unknown, InvalidResult> => {
  const exit = parse(input)
  return Exit.isSuccess(exit) ? exit as Exit.Exit<unknown> : resultMismatch(tag, part, exit)
}

const codecs = new WeakMap<Task.Any, Codec>()

/** The codec of `task`, made once per task (its schemas' parsers once per schema). */
export const of = (task: Task.Any): Codec => {
  let codec = codecs.get(task)
  if (codec !== undefined) return codec
  const tag = task._tag
  const element: Task.AnySchema = "element" in task ? (task as Task.AnyStream).element : Schema.Never
  codec = {
    encodePayload: payloadPart(tag, encoder(task.payload)),
    decodePayload: payloadPart(tag, decoder(task.payload)),
    encodeSuccess: resultPart(tag, "success", encoder(task.success)),
    decodeSuccess: resultPart(tag, "success", decoder(task.success)),
    encodeFailure: resultPart(tag, "failure", encoder(task.failure)),
    decodeFailure: resultPart(tag, "failure", decoder(task.failure)),
    encodeElement: resultPart(tag, "element", encoder(element)),
    decodeElement: resultPart(tag, "element", decoder(element))
  }
  codecs.set(task, codec)
  return codec
}

// ---- the per-task path: what every task goes through, with the schema's parser at hand (no codec record) ----

/** Encodes `payload` with the task's schema, on the caller's fiber, before anything is placed. */
export const encodePayload = (task: Task.Any, payload: unknown): Exit.Exit<unknown, InvalidPayload> => {
  const exit = encoder(task.payload)(payload)
  return Exit.isSuccess(exit) ? exit as Exit.Exit<unknown> : payloadMismatch(task._tag, exit)
}

/** Decodes `payload` with the task's schema, in the thread that runs it. */
export const decodePayload = (task: Task.Any, payload: unknown): Exit.Exit<unknown, InvalidPayload> => {
  const exit = decoder(task.payload)(payload)
  return Exit.isSuccess(exit) ? exit as Exit.Exit<unknown> : payloadMismatch(task._tag, exit)
}

/** Decodes a success with the task's schema, where the task was asked for. */
export const decodeSuccess = (task: Task.Any, value: unknown): Exit.Exit<unknown, InvalidResult> => {
  const exit = decoder(task.success)(value)
  return Exit.isSuccess(exit) ? exit as Exit.Exit<unknown> : resultMismatch(task._tag, "success", exit)
}

// ---- payloads, on the way to a thread ----

/** The `InvalidPayload` of a payload that holds a value that cannot be cloned, at `path`. */
const uncloneablePayload = (tag: string, path: string, to: string): InvalidPayload =>
  new InvalidPayload({
    task: tag,
    path,
    message: `the payload of ${tag} holds a value at ${path} that cannot be sent to ${to}`
  })

/** The `InvalidPayload` of a payload whose reading threw (a getter, a proxy's trap). */
const unreadablePayload = (tag: string, cause: unknown): InvalidPayload =>
  new InvalidPayload({
    task: tag,
    path: "$",
    message: `reading the payload of ${tag} threw: ${Describe.messageOf(cause)}`
  })

/**
 * Encodes `payload` and walks it for values that cannot be cloned, for the calls that return before the task is
 * posted (`callInThread`, `callInThreadWithCallback`, `callMultipleInThread`): their caller must hear of it at once.
 * Whether a payload can be cloned is otherwise not walked for: the platform's clone says so when the batch is posted
 * (see {@link unsendable}).
 */
export const encodePayloadChecked = (task: Task.Any, payload: unknown): Exit.Exit<unknown, InvalidPayload> => {
  const encoded = encodePayload(task, payload)
  if (Exit.isFailure(encoded) || Protocol.isPrimitive(encoded.value)) return encoded
  let path: string | undefined
  try {
    path = Protocol.findUncloneable(encoded.value)
  } catch (cause) {
    return Exit.fail(unreadablePayload(task._tag, cause))
  }
  return path === undefined ? encoded : Exit.fail(uncloneablePayload(task._tag, path, "a thread"))
}

/**
 * The error of a payload whose post failed: nothing of it left. Only now is it walked, to say where the value that
 * cannot be cloned is; `to` names where it was going (`a thread`, `the main thread`).
 */
export const unsendable = (tag: string, payload: unknown, error: unknown, to = "a thread"): InvalidPayload => {
  let path: string | undefined
  try {
    path = Protocol.findUncloneable(payload)
  } catch (cause) {
    return unreadablePayload(tag, cause)
  }
  return path === undefined
    ? new InvalidPayload({
      task: tag,
      path: "$",
      message: `the payload of ${tag} cannot be sent to ${to}: ${Describe.messageOf(error)}`
    })
    : uncloneablePayload(tag, path, to)
}

// ---- outcomes, on the way back ----

/** An outcome naming where a value went wrong: a result as `INVALID_RESULT`, a payload as `INVALID_PAYLOAD`. */
const invalid = (error: InvalidResult | InvalidPayload): Protocol.Outcome =>
  error._tag === "InvalidPayload"
    ? [Protocol.INVALID_PAYLOAD, error.path, error.message]
    : [Protocol.INVALID_RESULT, error.path ?? "$", error.message]

/** The error of a failed exit of this module's parts (their only failure). */
export const errorOf = <E>(exit: Exit.Failure<unknown, E>): E => Cause.squash(exit.cause) as E

/** A success or a typed failure that does not match its schema, as the outcome that says where and what. */
const invalidResult = (tag: string, part: Part, cause: Cause.Cause<Schema.SchemaError>): Protocol.Outcome => {
  const { message, path } = mismatch(tag, part, cause)
  return [Protocol.INVALID_RESULT, path, message]
}

/** Encodes how a task ended, with its schemas, for the other side. */
export const encodeOutcome = (task: Task.Any, exit: Exit.Exit<unknown, unknown>): Protocol.Outcome => {
  if (Exit.isSuccess(exit)) {
    const encoded = encoder(task.success)(exit.value)
    return Exit.isSuccess(encoded)
      ? [Protocol.SUCCESS, encoded.value]
      : invalidResult(task._tag, "success", encoded.cause)
  }
  const error = Cause.findError(exit.cause)
  if (Result.isSuccess(error)) {
    const encoded = encoder(task.failure)(error.success)
    return Exit.isSuccess(encoded)
      ? [Protocol.FAILURE, encoded.value]
      : invalidResult(task._tag, "failure", encoded.cause)
  }
  const defect = Cause.findDefect(exit.cause)
  if (Result.isSuccess(defect)) return [Protocol.DEFECT, Protocol.encodeDefect(defect.success)]
  return [Protocol.INTERRUPTED]
}

/**
 * The outcome of a value that did not match its schema: a payload the thread could not decode as `INVALID_PAYLOAD`,
 * a result as `INVALID_RESULT`, with where and what.
 */
export const invalidOutcome = (exit: Exit.Failure<unknown, InvalidPayload | InvalidResult>): Protocol.Outcome =>
  invalid(errorOf(exit))

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

/** The errors of the wire itself, besides a task's own failure. */
export type WireError = InvalidPayload | InvalidResult | TaskNotImplemented

/**
 * What a task's outcome becomes on the side that asked for it: the decoded success, the decoded typed failure, the
 * defect, the interruption, or one of the errors of the wire. Synchronous: an `Exit` is an `Effect`, so a caller
 * can be resumed with it as it is.
 */
export const toExit = <T extends Task.Any>(
  task: T,
  outcome: Protocol.Outcome
): Exit.Exit<Task.Success<T>, Task.Failure<T> | WireError> => {
  switch (outcome[0]) {
    case Protocol.SUCCESS:
      return decodeSuccess(task, outcome[1]) as Exit.Exit<Task.Success<T>, WireError>
    case Protocol.FAILURE: {
      const decoded = of(task).decodeFailure(outcome[1])
      return Exit.isSuccess(decoded) ? Exit.fail(decoded.value as Task.Failure<T>) : decoded
    }
    case Protocol.DEFECT:
      return Exit.die(Protocol.decodeDefect(outcome[1]))
    case Protocol.INTERRUPTED:
      return Exit.interrupt()
    case Protocol.NOT_IMPLEMENTED:
      return Exit.fail(
        new TaskNotImplemented({ task: task._tag, message: `the thread does not implement the task ${task._tag}` })
      )
    case Protocol.INVALID_RESULT:
      return Exit.fail(new InvalidResult({ task: task._tag, path: outcome[1], message: outcome[2] }))
    case Protocol.INVALID_PAYLOAD:
      return Exit.fail(new InvalidPayload({ task: task._tag, path: outcome[1], message: outcome[2] }))
  }
}

/**
 * {@link toExit} of the outcome inside a RESULT message (`[RESULT, id, ...outcome]`): a success, the common case, is
 * decoded in place, without copying the outcome out.
 */
export const resultToExit = (task: Task.Any, result: ReadonlyArray<unknown>): Exit.Exit<unknown, unknown> => {
  if (result[2] !== Protocol.SUCCESS) return toExit(task, result.slice(2) as unknown as Protocol.Outcome)
  const exit = decoder(task.success)(result[3])
  return Exit.isSuccess(exit) ? exit : resultMismatch(task._tag, "success", exit)
}
