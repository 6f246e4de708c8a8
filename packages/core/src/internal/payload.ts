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
import type * as Task from "../Task.ts"
import { InvalidPayload } from "../ThreadError.ts"

/** The schema's message ends with where: `at ["a"]["b"][1]`. */
const where = /\bat ((?:\[[^\]]*\])+)\)?\s*$/

/** Turns a schema issue's location into a path: `$.a.b[1]`. */
export const pathOf = (issue: string): string => {
  const at = where.exec(issue)
  return at === null ? "$" : `$${at[1]!.replace(/\["([A-Za-z_$][\w$]*)"\]/g, ".$1")}`
}

/** Encodes `payload` with the task's schema. */
export const encode = (task: Task.Any, payload: unknown): Exit.Exit<unknown, InvalidPayload> => {
  const encoded = Schema.encodeUnknownExit(task.payload)(payload)
  if (Exit.isSuccess(encoded)) return encoded as Exit.Exit<unknown>
  const issue = String(Cause.squash(encoded.cause))
  return Exit.fail(
    new InvalidPayload({
      task: task._tag,
      path: pathOf(issue),
      message: `the payload of ${task._tag} does not match its schema: ${issue}`
    })
  )
}
