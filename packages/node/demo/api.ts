/**
 * The demo's one task, declared once and shared by the main thread and the worker entry.
 */
import * as Task from "@effect-threads/core/Task"
import * as Schema from "effect/Schema"

export const CountPrimes = Task.make("CountPrimes", {
  payload: Schema.Struct({ from: Schema.Number, to: Schema.Number }),
  success: Schema.Number
})
