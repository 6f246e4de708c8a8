/**
 * The tasks of the example, declared once with their schemas: the runners serve them, the job sends them.
 */
import * as Task from "@effect-threads/core/Task"
import * as Schema from "effect/Schema"

/**
 * One task of the job: waits `ms` in a runner's thread (a stand-in for real work) and says where it ran: the
 * runner's name (`RUNNER_NAME`, which the runner's threads inherit from its environment) and its process id.
 */
export const Job = Task.make("Job", {
  payload: Schema.Struct({ id: Schema.Number, ms: Schema.Number }),
  success: Schema.Struct({ id: Schema.Number, runner: Schema.String, pid: Schema.Number })
})

/** A task that does nothing: what one call costs, for the figures. */
export const Ping = Task.make("Ping", { payload: Schema.Number, success: Schema.Number })

/** The declarations a runner serves. */
export const tasks = [Job, Ping]
