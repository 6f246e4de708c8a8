/**
 * A model test of the pool, through its public API (`ThreadPool.make`) over a platform whose threads the test drives
 * (`support/ModelThreads.ts`), with the TestClock for the start timeout and the interrupt's grace period. fast-check
 * draws the pool's options and a sequence of steps: submit (with or without a key, at a priority), a thread says it
 * is ready, a thread answers the request it runs (success, typed failure, defect, interrupted once asked), a thread
 * crashes, the next spawn throws, a caller is interrupted, `adjustPoolsize`, time passes, `start`, `stop`, closing
 * the pool's scope. After every step, once the pool is at rest, the model's expectations are checked:
 *
 * - every caller settles exactly once, when the model says it must and not before, the way the model says: the
 *   thread's answer, `ThreadCrashed` or `ThreadStartFailed` for what a dead thread held, `AlreadyQuit` after `stop`,
 *   an interruption only for a caller that was interrupted (or still waiting when the scope closed);
 * - no request is sent twice, none to a thread asked to close, and a thread is asked to close only when it holds
 *   nothing;
 * - the statistics agree: idle + busy = workerCount = the threads alive, busy = the threads that hold a request,
 *   tasksInFlight = the callers still waiting, backloggedWorkCount = the waiting callers no thread holds and no
 *   earlier task of their key holds back, threadsStarted, threadsCrashed and threadsTerminated as counted here;
 * - a thread not ready within the start timeout, or holding an interrupted request past the grace period, is gone;
 *   `stop` returns once no thread is left, and after the scope closed no thread is left.
 *
 * A failure prints fast-check's seed and path; `POOL_MODEL_SEED` (and `POOL_MODEL_PATH`) replay it, `POOL_MODEL_RUNS`
 * sets the number of runs.
 */
import { describe, it } from "@effect/vitest"
import fc from "fast-check"
import { type Config, type Op, scenario } from "./support/PoolModel.ts"

const index = fc.nat({ max: 7 })
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 30,
    arbitrary: fc.record({
      _tag: fc.constant("Submit" as const),
      key: fc.constantFrom(undefined, undefined, "a", "b"),
      priority: fc.nat({ max: 2 })
    })
  },
  { weight: 20, arbitrary: fc.record({ _tag: fc.constant("Ready" as const), i: index }) },
  { weight: 28, arbitrary: fc.record({ _tag: fc.constant("Answer" as const), i: index, how: fc.nat({ max: 3 }) }) },
  { weight: 3, arbitrary: fc.record({ _tag: fc.constant("Crash" as const), i: index }) },
  { weight: 2, arbitrary: fc.constant({ _tag: "ThrowNextSpawn" as const }) },
  { weight: 10, arbitrary: fc.record({ _tag: fc.constant("Interrupt" as const), i: index }) },
  {
    weight: 4,
    arbitrary: fc.record({ _tag: fc.constant("Adjust" as const), min: fc.nat({ max: 3 }), max: fc.nat({ max: 3 }) })
  },
  { weight: 5, arbitrary: fc.constant({ _tag: "Advance" as const }) },
  { weight: 3, arbitrary: fc.constant({ _tag: "Start" as const }) },
  { weight: 1, arbitrary: fc.constant({ _tag: "Stop" as const }) },
  { weight: 1, arbitrary: fc.constant({ _tag: "Close" as const }) }
)

const config = fc.record({
  minThreads: fc.nat({ max: 2 }),
  extra: fc.integer({ min: 1, max: 2 }),
  capacity: fc.integer({ min: 1, max: 3 }),
  started: fc.boolean()
})

const fromEnv = (name: string): number | undefined => {
  const value = process.env[name]
  return value === undefined || !Number.isInteger(Number(value)) ? undefined : Number(value)
}

/**
 * Sequences found by this test, run first every time: `stop`, then the thread a key is bound to dies holding another
 * task, with the key's next task reserved for it; that task must fail with AlreadyQuit, not wait forever.
 */
const examples: Array<[Config, Array<Op>]> = [[
  { minThreads: 0, extra: 1, capacity: 1, started: true },
  [
    { _tag: "Submit", key: "a", priority: 0 },
    { _tag: "Ready", i: 0 },
    { _tag: "Answer", i: 0, how: 0 },
    { _tag: "Submit", key: undefined, priority: 0 },
    { _tag: "Submit", key: "a", priority: 0 },
    { _tag: "Stop" },
    { _tag: "Crash", i: 0 }
  ]
]]

describe("ThreadPool (model, over threads the test drives)", () => {
  it("every caller settles once, as the model says; the statistics agree; no thread is left", async () => {
    await fc.assert(fc.asyncProperty(config, fc.array(op, { maxLength: 60, size: "max" }), scenario), {
      examples,
      numRuns: fromEnv("POOL_MODEL_RUNS") ?? 150,
      seed: fromEnv("POOL_MODEL_SEED") ?? 20_2026,
      ...(process.env["POOL_MODEL_PATH"] === undefined ? {} : { path: process.env["POOL_MODEL_PATH"] })
    })
  }, 120_000)
})
