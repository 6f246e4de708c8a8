/**
 * The benchmark's tasks for effect-threads, shared by the main thread and the worker entry. Like every worker entry
 * and what it imports, it imports modules, not barrels: a thread loads less.
 */
import * as Task from "@effect-threads/core/Task"
import * as Schema from "effect/Schema"

/** Workloads A, B, D: returns its input plus one. */
export const AddOne = Task.make("AddOne", { payload: Schema.Number, success: Schema.Number })

/** Figure G's replacement thread (`bench/start.ts`): the thread exits with this code. */
export const Exit = Task.make("Exit", { payload: Schema.Number })

/** Workload C: `fib(n)`. */
export const Fib = Task.make("Fib", { payload: Schema.Number, success: Schema.Number })

/** A row of the object payloads of the cost curves (`bench/curves.ts`): about 32 bytes. */
export const Row = Schema.Struct({ k: Schema.Number, v: Schema.String })

/** The cost curves' object payload: rows; answers how many arrived. */
export const Rows = Task.make("Rows", { payload: Schema.Array(Row), success: Schema.Number })

/** The cost curves' typed-array payload, copied or transferred: answers its length in bytes. */
export const Bytes = Task.make("Bytes", { payload: Schema.instanceOf(Uint8Array), success: Schema.Number })
