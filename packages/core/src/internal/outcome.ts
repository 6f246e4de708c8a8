/**
 * A task's outcome on the wire: encoded with the task's schemas on the side that ran it, decoded on the side that
 * asked for it.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import type * as Task from "../Task.ts"
import * as ThreadError from "../ThreadError.ts"
import * as Protocol from "./protocol.ts"

/** Encodes how a task ended, with its schemas, for the other side. */
export const encode = (task: Task.Any, exit: Exit.Exit<unknown, unknown>): Protocol.Outcome => {
  if (Exit.isSuccess(exit)) {
    const encoded = Schema.encodeUnknownExit(task.success)(exit.value)
    return Exit.isSuccess(encoded)
      ? [Protocol.SUCCESS, encoded.value]
      : [Protocol.DEFECT, Protocol.encodeDefect(new Error(`the success of ${task._tag} does not match its schema`))]
  }
  const error = Cause.findError(exit.cause)
  if (Result.isSuccess(error)) {
    const encoded = Schema.encodeUnknownExit(task.failure)(error.success)
    return Exit.isSuccess(encoded)
      ? [Protocol.FAILURE, encoded.value]
      : [Protocol.DEFECT, Protocol.encodeDefect(new Error(`the failure of ${task._tag} does not match its schema`))]
  }
  const defect = Cause.findDefect(exit.cause)
  if (Result.isSuccess(defect)) return [Protocol.DEFECT, Protocol.encodeDefect(defect.success)]
  return [Protocol.INTERRUPTED]
}

/**
 * Decodes what a task's outcome became on the other side.
 */
export const decode = <T extends Task.Any>(
  task: T,
  outcome: Protocol.Outcome
): Effect.Effect<Task.Success<T>, Task.Failure<T> | ThreadError.InvalidResult | ThreadError.TaskNotImplemented> => {
  switch (outcome[0]) {
    case Protocol.SUCCESS: {
      const decoded = Schema.decodeUnknownExit(task.success)(outcome[1])
      return Exit.isSuccess(decoded)
        ? Effect.succeed(decoded.value)
        : Effect.fail(invalidResult(task, "success", decoded.cause))
    }
    case Protocol.FAILURE: {
      const decoded = Schema.decodeUnknownExit(task.failure)(outcome[1])
      return Exit.isSuccess(decoded)
        ? Effect.fail(decoded.value)
        : Effect.fail(invalidResult(task, "failure", decoded.cause))
    }
    case Protocol.DEFECT:
      return Effect.die(Protocol.decodeDefect(outcome[1]))
    case Protocol.INTERRUPTED:
      return Effect.interrupt
    case Protocol.NOT_IMPLEMENTED:
      return Effect.fail(
        new ThreadError.TaskNotImplemented({
          task: task._tag,
          message: `the thread does not implement the task ${task._tag}`
        })
      )
  }
}

const invalidResult = (task: Task.Any, which: string, cause: Cause.Cause<unknown>) =>
  new ThreadError.InvalidResult({
    task: task._tag,
    message: `the ${which} of ${task._tag} does not match its schema: ${String(Cause.squash(cause))}`
  })
