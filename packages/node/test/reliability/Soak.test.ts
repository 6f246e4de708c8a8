/**
 * The soak, shortened for the suite: 50,000 tiny tasks through a two-thread pool in 5 waves of 10,000 submitted at
 * once (and 20,000 more with `concurrentTasksPerThread: 16`). Exactly as many settlements as submissions, every
 * result right, the pool idle with its two threads after each run, no thread alive after its scope closes. The
 * memory bound is checked only by the full soak (`pnpm soak`: 1,000,000 tasks, with a forced GC), not here.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { idleWithTwoThreads, soak, type SoakReport } from "./soak.ts"

const checkReport = (report: SoakReport, submitted: number) => {
  assert.strictEqual(report.submitted, submitted)
  assert.deepStrictEqual(report.wrong, [])
  assert.strictEqual(report.settled, submitted, "every task settled")
  assert.strictEqual(report.correct, submitted, "every result is right")
  assert.strictEqual(report.settledTwice, 0, "no task settled twice")
  assert.isTrue(idleWithTwoThreads(report.statistics), JSON.stringify(report.statistics))
  assert.strictEqual(report.threadsSpawned, 2, "no thread replaced")
  assert.strictEqual(report.threadsAliveAfterClose, 0, "no thread alive after the scope closed")
}

describe("Soak (short)", { timeout: 120_000 }, () => {
  it.live("50,000 tiny tasks in 5 waves: nothing lost, every result right", () =>
    Effect.map(soak({ waves: 5, tasksPerWave: 10_000 }), (report) => checkReport(report, 50_000)))

  it.live("20,000 tiny tasks in 2 waves with 16 tasks per thread: nothing lost, every result right", () =>
    Effect.map(
      soak({ waves: 2, tasksPerWave: 10_000, concurrentTasksPerThread: 16 }),
      (report) => checkReport(report, 20_000)
    ))
})
