/**
 * The worker entry: every thread of a runner's pool loads it and serves the tasks of `api.ts`.
 */
import * as Task from "@effect-threads/core/Task"
import * as NodeThreadRunner from "@effect-threads/node/NodeThreadRunner"
import * as Effect from "effect/Effect"
import { Job, Ping } from "./api.ts"

// A worker thread inherits its process's environment and shares its process id.
const runner = process.env.RUNNER_NAME ?? "local"

NodeThreadRunner.serve([
  Task.implement(Job, ({ id, ms }) => Effect.as(Effect.sleep(ms), { id, runner, pid: process.pid })),
  Task.implement(Ping, (n) => Effect.succeed(n))
])
