/**
 * The callers of the pool's model test (`PoolModel.property.test.ts`): the task they submit, and how each one ended,
 * read from its exit with the values checked against its payload.
 */
import { AlreadyQuit, Task } from "@effect-threads/core"
import * as Cause from "effect/Cause"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"

/** The task of the model test: its payload is the caller's index; the test's threads answer it. */
export const Echo = Task.make("Echo", { payload: Schema.Number, success: Schema.Number, failure: Schema.String })

/** How a caller ends. */
export type Kind =
  | "success"
  | "failure"
  | "defect"
  | "interrupted"
  | "AlreadyQuit"
  | "ThreadCrashed"
  | "ThreadStartFailed"

/** One caller of `deferToThread`: its payload is its index. */
export interface Call {
  readonly n: number
  readonly key: string | undefined
  readonly priority: number
  readonly fiber: Fiber.Fiber<number, unknown>
  interrupted: boolean
  /** How it must end, once the model knows it has settled. */
  expected: Kind | undefined
  exits: number
}

const tagOf = (error: unknown): string | undefined =>
  typeof error === "object" && error !== null && "_tag" in error && typeof error._tag === "string"
    ? error._tag
    : undefined

/** The `_tag` of an exit's typed failure, if it has one. */
export const failureTag = (exit: Exit.Exit<unknown, unknown>): string | undefined => {
  if (Exit.isSuccess(exit)) return undefined
  const error = Cause.findError(exit.cause)
  return Result.isSuccess(error) ? tagOf(error.success) : undefined
}

/** How an exit reads, with the values checked against the call's payload. */
export const kindOf = (call: Call, exit: Exit.Exit<number, unknown>): string => {
  if (Exit.isSuccess(exit)) return exit.value === 2 * call.n + 1 ? "success" : `success ${exit.value}`
  if (Cause.hasInterruptsOnly(exit.cause)) return "interrupted"
  const error = Cause.findError(exit.cause)
  if (Result.isSuccess(error)) {
    const value = error.success
    if (typeof value === "string") return value === `refused ${call.n}` ? "failure" : `failure ${value}`
    return AlreadyQuit.isAlreadyQuit(value) ? "AlreadyQuit" : tagOf(value) ?? `failure ${String(value)}`
  }
  const defect = Cause.findDefect(exit.cause)
  if (Result.isSuccess(defect) && defect.success instanceof Error) {
    return defect.success.message === `defect ${call.n}` ? "defect" : `defect ${defect.success.message}`
  }
  return `cause ${Cause.pretty(exit.cause)}`
}
