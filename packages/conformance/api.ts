/**
 * The conformance tasks, declared once for every platform. Nothing here (nor in `handlers.ts`) may touch a
 * platform: this package is type-checked with the ECMAScript library alone, no DOM and no Node types.
 *
 * The tasks that must be held or watched while they run (`Hold`, `Spin`, `Record`, `Numbers`) report to the main
 * thread with `ThreadRunner.callMain`, so the tests see what a thread does without shared memory (which a browser
 * grants only to cross-origin isolated pages).
 */
import { Task } from "@effect-threads/core"
import * as Schema from "effect/Schema"

export class Rejected extends Schema.TaggedError<Rejected>()("Rejected", { reason: Schema.String }) {}

export const Add = Task.make("Add", {
  payload: Schema.Struct({ x: Schema.Number, y: Schema.Number }),
  success: Schema.Number
})
export const Echo = Task.make("Echo", { payload: Schema.Unknown, success: Schema.Unknown })
/** Fails with `Rejected`. */
export const Fail = Task.make("Fail", { payload: Schema.String, failure: Rejected })
/** Dies with a `RangeError`. */
export const Die = Task.make("Die", { payload: Schema.String })
/** Throws from a timer: an uncaught error of the thread, which kills it. */
export const AsyncThrow = Task.make("AsyncThrow", { payload: Schema.String })
/** Throws a `Rejected` (a `Schema.TaggedError`, not a plain `Error`) from a timer: it kills the thread too. */
export const AsyncThrowTagged = Task.make("AsyncThrowTagged", { payload: Schema.String })
/** A number drawn once per thread, when its entry loads: tells threads apart on every platform. */
export const ThreadToken = Task.make("ThreadToken", { success: Schema.Number })
/** How many `Hold` tasks this thread saw interrupted. */
export const Interruptions = Task.make("Interruptions", { success: Schema.Number })
/** Calls `Started(id)`, then `Wait(id)`, and returns `id`. When interrupted, calls `WasInterrupted(id)`. */
export const Hold = Task.make("Hold", { payload: Schema.Number, success: Schema.Number })
/** Calls `Started(id)`, then loops synchronously for `ms`: an interrupt cannot reach it. */
export const Spin = Task.make("Spin", {
  payload: Schema.Struct({ id: Schema.Number, ms: Schema.Number }),
  success: Schema.Number
})
/** Calls `Ran(value)` (the main thread keeps a log of the values), and returns this thread's `ThreadToken`. */
export const Record = Task.make("Record", { payload: Schema.Number, success: Schema.Number })
/**
 * A stream of 1, 2, ... `count` (`count` 0: endless), then `Rejected` if `fail`. The thread counts the elements it
 * produced (`Produced`); when the stream is interrupted in the thread, it calls `WasInterrupted(id)`.
 */
export const Numbers = Task.stream("Numbers", {
  payload: Schema.Struct({ id: Schema.Number, count: Schema.Number, fail: Schema.Boolean }),
  element: Schema.Number,
  failure: Rejected
})
/** How many elements this thread's `Numbers` streams produced. */
export const Produced = Task.make("Produced", { success: Schema.Number })

/** Main-thread tasks, implemented by each test. */
export const Started = Task.make("Started", { payload: Schema.Number })
export const Wait = Task.make("Wait", { payload: Schema.Number })
export const WasInterrupted = Task.make("WasInterrupted", { payload: Schema.Number })
export const Ran = Task.make("Ran", { payload: Schema.Number })
