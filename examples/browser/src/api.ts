/**
 * The task the page runs on its pool, declared once for the page and the worker entry.
 */
import { Task } from "@effect-threads/core"
import { Schema } from "effect"

/** Counts the primes `p` with `from <= p < to`. */
export const CountPrimes = Task.make("CountPrimes", {
  payload: Schema.Struct({ from: Schema.Number, to: Schema.Number }),
  success: Schema.Number
})
