/**
 * The worker entry: each worker of the pool loads this module and serves `CountPrimes`.
 */
import { BrowserThreadRunner } from "@effect-threads/browser"
import { Task } from "@effect-threads/core"
import { Effect } from "effect"
import { CountPrimes } from "./api.ts"
import { countPrimes } from "./primes.ts"

BrowserThreadRunner.serve([
  Task.implement(CountPrimes, ({ from, to }) => Effect.sync(() => countPrimes(from, to)))
])
