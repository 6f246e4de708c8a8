/**
 * Issue 19, on real threads: a thread that dies of any thrown value (an Effect error, `null`, `undefined`, a symbol,
 * a string, an object with no prototype, an object whose `toString` throws, a `Proxy` that throws on every access)
 * fails what it held with `ThreadCrashed`, or its start with `ThreadStartFailed`, saying what it died of; the pool's
 * exit listener never throws and nothing is left unsettled.
 */
import { ThreadError } from "@effect-threads/core"
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { NodeThreadPool } from "../src/index.ts"
import { DieOf, type Kind } from "./fixtures/dies-of-api.ts"
import { suiteOptions } from "./helpers.ts"

const diesOf = new URL("./fixtures/dies-of.ts", import.meta.url)

/** Each kind, with what the message says on Node (what is left of the value once Node carried it across). */
const kinds: ReadonlyArray<readonly [Kind, string]> = [
  ["tagged", "the disk is full"],
  ["null", ": null with code 1"],
  ["undefined", ": it exited with code 1"],
  ["symbol", "Symbol(gone)"],
  ["string", "out of luck"],
  ["nullPrototype", `{"code":7}`],
  ["throwingToString", "toString"],
  ["proxy", " with code 1"]
]

const typedFailure = (exit: Exit.Exit<unknown, unknown>): unknown => {
  assert.isTrue(Exit.isFailure(exit), "it failed")
  const error = Cause.findError((exit as Exit.Failure<unknown, unknown>).cause)
  assert.isTrue(error._tag === "Success", "with a typed failure")
  return (error as { readonly success: unknown }).success
}

describe("a thread that dies of any value (issue 19)", suiteOptions, () => {
  for (const [kind, says] of kinds) {
    it.live(`a task whose thread dies of ${kind} fails with ThreadCrashed`, () =>
      Effect.gen(function*() {
        const pool = yield* NodeThreadPool.make({
          entry: diesOf,
          maxThreads: 1,
          workerOptions: { workerData: { kind, atStart: false } }
        })
        yield* pool.start
        const error = typedFailure(yield* Effect.exit(pool.deferToThread(DieOf, undefined)))
        assert.instanceOf(error, ThreadError.ThreadCrashed)
        const crashed = error as ThreadError.ThreadCrashed
        assert.match(crashed.message, /^thread \d+ died while running DieOf: /)
        assert.include(crashed.message, says)
        assert.strictEqual(crashed.exitCode, 1)
        const stats = yield* pool.statistics
        assert.strictEqual(stats.threadsCrashed, 1)
        assert.strictEqual(stats.tasksInFlight, 0)
      }).pipe(Effect.scoped))

    it.live(`a thread whose serve layer fails with ${kind} fails start with ThreadStartFailed`, () =>
      Effect.gen(function*() {
        const pool = yield* NodeThreadPool.make({
          entry: diesOf,
          minThreads: 1,
          maxThreads: 1,
          workerOptions: { workerData: { kind, atStart: true } }
        })
        const error = typedFailure(yield* Effect.exit(pool.start))
        assert.instanceOf(error, ThreadError.ThreadStartFailed)
        assert.match((error as ThreadError.ThreadStartFailed).message, /^thread \d+ could not start: /)
        assert.include((error as ThreadError.ThreadStartFailed).message, says)
      }).pipe(Effect.scoped))
  }
})
