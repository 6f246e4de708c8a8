/**
 * Encoding a task's payload on the caller's fiber, before anything is placed: a payload that does not match its
 * schema fails here with `InvalidPayload` naming the field. Whether it can be cloned is not walked for here: the
 * platform's clone says so when the batch is posted, and only then is the payload walked to say where.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import type * as Task from "../../Task.ts"
import { InvalidPayload } from "../../ThreadError.ts"
import * as Describe from "../describe.ts"
import * as Protocol from "./protocol.ts"

/** The schema's message ends with where: `at ["a"]["b"][1]`. */
const where = /\bat ((?:\[[^\]]*\])+)\)?\s*$/

/** Turns a schema issue's location into a path: `$.a.b[1]`. */
export const pathOf = (issue: string): string => {
  const at = where.exec(issue)
  return at === null ? "$" : `$${at[1]!.replace(/\["([A-Za-z_$][\w$]*)"\]/g, ".$1")}`
}

/** Each schema's encoder, made once. */
const encoders = new WeakMap<Schema.Top, (input: unknown) => Exit.Exit<unknown, Schema.SchemaError>>()

const encoderOf = (schema: Schema.Top): (input: unknown) => Exit.Exit<unknown, Schema.SchemaError> => {
  let encoder = encoders.get(schema)
  if (encoder === undefined) {
    encoder = Schema.encodeUnknownExit(schema as Schema.Codec<unknown, unknown>)
    encoders.set(schema, encoder)
  }
  return encoder
}

/** Encodes `payload` with the task's schema. */
export const encode = (task: Task.Any, payload: unknown): Exit.Exit<unknown, InvalidPayload> => {
  const encoded = encoderOf(task.payload)(payload)
  if (Exit.isSuccess(encoded)) return encoded as Exit.Exit<unknown>
  const issue = Describe.describe(Cause.squash(encoded.cause))
  return Exit.fail(
    new InvalidPayload({
      task: task._tag,
      path: pathOf(issue),
      message: `the payload of ${task._tag} does not match its schema: ${issue}`
    })
  )
}

/**
 * Encodes `payload` and walks it for values that cannot be cloned, for the calls that return before the task is
 * posted (`callInThread`, `callInThreadWithCallback`, `callMultipleInThread`): their caller must hear of it at once.
 */
export const encodeChecked = (task: Task.Any, payload: unknown): Exit.Exit<unknown, InvalidPayload> => {
  const encoded = encode(task, payload)
  if (Exit.isFailure(encoded) || Protocol.isPrimitive(encoded.value)) return encoded
  let path: string | undefined
  try {
    path = Protocol.findUncloneable(encoded.value)
  } catch (cause) {
    return Exit.fail(
      new InvalidPayload({
        task: task._tag,
        path: "$",
        message: `reading the payload of ${task._tag} threw: ${Describe.messageOf(cause)}`
      })
    )
  }
  return path === undefined ? encoded : Exit.fail(
    new InvalidPayload({
      task: task._tag,
      path,
      message: `the payload of ${task._tag} holds a value at ${path} that cannot be sent to a thread`
    })
  )
}

/**
 * The error of a payload whose post failed: nothing of it left. Only now is it walked, to say where the value that
 * cannot be cloned is.
 */
export const unsendable = (task: Task.Any, payload: unknown, error: unknown): InvalidPayload => {
  const tag = task._tag
  let path: string | undefined
  try {
    path = Protocol.findUncloneable(payload)
  } catch (cause) {
    return new InvalidPayload({
      task: tag,
      path: "$",
      message: `reading the payload of ${tag} threw: ${Describe.messageOf(cause)}`
    })
  }
  return new InvalidPayload({
    task: tag,
    path: path ?? "$",
    message: path === undefined
      ? `the payload of ${tag} cannot be sent to a thread: ${Describe.messageOf(error)}`
      : `the payload of ${tag} holds a value at ${path} that cannot be sent to a thread`
  })
}
