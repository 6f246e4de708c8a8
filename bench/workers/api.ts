/**
 * The benchmark's tasks for effect-threads, shared by the main thread and the worker entry. Like every worker entry
 * and what it imports, it imports modules, not barrels: a thread loads less.
 */
import * as Task from "@effect-threads/core/Task"
import * as Schema from "effect/Schema"

/** Workloads A, B, D: returns its input plus one. */
export const AddOne = Task.make("AddOne", { payload: Schema.Number, success: Schema.Number })

/** Workload C: `fib(n)`. */
export const Fib = Task.make("Fib", { payload: Schema.Number, success: Schema.Number })
