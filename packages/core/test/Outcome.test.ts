/**
 * A task's outcome on the wire: a result that does not match its schema, on either side, or that could not be
 * cloned, becomes a typed `InvalidResult` naming the task and the path.
 */
import { Task, ThreadError } from "@effect-threads/core"
import { assert, describe, it } from "@effect/vitest"
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import * as Outcome from "../src/internal/wire/outcome.ts"
import * as Protocol from "../src/internal/wire/protocol.ts"

const Point = Task.make("Point", {
  success: Schema.Struct({ xs: Schema.Array(Schema.Number), "a key": Schema.optional(Schema.String) }),
  failure: Schema.String
})

const invalidResultOf = (exit: Exit.Exit<unknown, unknown>): ThreadError.InvalidResult => {
  assert.isTrue(Exit.isFailure(exit))
  const error = Exit.isFailure(exit) ? exit.cause.reasons[0] : undefined
  assert.isTrue(error !== undefined && error._tag === "Fail" && error.error instanceof ThreadError.InvalidResult)
  return (error as unknown as { readonly error: ThreadError.InvalidResult }).error
}

describe("Outcome", () => {
  it("encodes a success that does not match its schema as INVALID_RESULT with its path", () => {
    const outcome = Outcome.encode(Point, Exit.succeed({ xs: [1, "2"] }))
    assert.strictEqual(outcome[0], Protocol.INVALID_RESULT)
    assert.strictEqual(outcome[1], "$.xs[1]")
  })

  it("encodes a failure that does not match its schema likewise", () => {
    const outcome = Outcome.encode(Point, Exit.fail(42))
    assert.deepStrictEqual(outcome.slice(0, 2), [Protocol.INVALID_RESULT, "$"])
    assert.include(outcome[2] as string, "the failure of Point does not match its schema")
  })

  it("toExit: INVALID_RESULT is a typed InvalidResult naming the task and the path", () => {
    const error = invalidResultOf(Outcome.toExit(Point, [Protocol.INVALID_RESULT, "$.f.g", "cannot be cloned"]))
    assert.strictEqual(error.task, "Point")
    assert.strictEqual(error.path, "$.f.g")
    assert.strictEqual(error.message, "cannot be cloned")
  })

  it("toExit: a success that does not decode is an InvalidResult with its path", () => {
    const error = invalidResultOf(Outcome.toExit(Point, [Protocol.SUCCESS, { xs: [1], "a key": 3 }]))
    assert.strictEqual(error.path, "$[\"a key\"]")
  })

  it("toExit: success, failure, defect, interruption, not implemented", () => {
    assert.deepStrictEqual(Outcome.toExit(Point, [Protocol.SUCCESS, { xs: [1] }]), Exit.succeed({ xs: [1] }))
    assert.deepStrictEqual(Outcome.toExit(Point, [Protocol.FAILURE, "no"]), Exit.fail("no"))
    assert.isTrue(Exit.hasDies(Outcome.toExit(Point, [Protocol.DEFECT, { name: "E", message: "m", stack: "" }])))
    assert.isTrue(Exit.hasInterrupts(Outcome.toExit(Point, [Protocol.INTERRUPTED])))
    const missing = Outcome.toExit(Point, [Protocol.NOT_IMPLEMENTED])
    assert.isTrue(Exit.isFailure(missing) && missing.cause.reasons[0]?._tag === "Fail")
  })
})
