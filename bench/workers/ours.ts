/**
 * The worker entry of effect-threads' pool.
 */
import * as Task from "@effect-threads/core/Task"
import * as NodeThreadRunner from "@effect-threads/node/NodeThreadRunner"
import * as Effect from "effect/Effect"
import { AddOne, Bytes, Exit, Fib, Rows } from "./api.ts"
import { fib } from "./fib.ts"

NodeThreadRunner.serve([
  Task.implement(AddOne, (n) => Effect.succeed(n + 1)),
  Task.implement(Fib, (n) => Effect.sync(() => fib(n))),
  Task.implement(Rows, (rows) => Effect.succeed(rows.length)),
  Task.implement(Bytes, (bytes) => Effect.succeed(bytes.byteLength)),
  Task.implement(Exit, (code) => Effect.sync(() => process.exit(code)))
])
