/**
 * Interruption storms on real threads: Effect-based sleeps and synchronous spins, a random half of whose callers
 * are interrupted at random moments (right after submitting, at a random point of the run, or once their thread
 * has started them). Each caller sees exactly one exit; an interrupted caller sees its interruption, never a
 * success; every other caller gets its result; no thread leaks (terminated spinning threads have exited, two
 * alive, none after the scope closes); the pool serves normally afterwards.
 *
 * The plan is drawn from a seed printed in the test's name: `RELIABILITY_SEED=<seed>` replays it.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { storm, type StormReport } from "./storm.ts"
import { seedFrom } from "./support.ts"

const seed = seedFrom("RELIABILITY_SEED", 72026)

const log = (name: string, report: StormReport) =>
  console.log(
    `${name} (seed ${seed}): ${report.tasks} tasks (${report.sleeps} sleeps, ${report.spins} spins) in ${
      (report.millis / 1000).toFixed(1)
    } s, interrupts ${
      JSON.stringify(report.interrupts)
    }, ${report.interruptedNeverStarted} never started, ${report.threadsTerminated} threads terminated, ${report.threadsSpawned} spawned`
  )

describe("Interruption storm", { timeout: 120_000 }, () => {
  it.live(`10,000 tasks, one per thread at a time, a 20 ms grace period, 1% long spins (seed ${seed})`, () =>
    Effect.gen(function*() {
      const report = yield* storm({ seed, tasks: 10_000, graceMillis: 20, longSpinShare: 0.01 })
      log("storm", report)
      assert.deepStrictEqual(report.problems, [], `seed ${seed}`)
      assert.strictEqual(report.aliveAfterClose, 0)
      // The storm did reach tasks queued, and running in their thread; spins past the grace period were terminated.
      assert.isAbove(report.interrupts.queuedOrSent, 0)
      assert.isAbove(report.interrupts.running, 0)
    }))

  // With tasks sent ahead (4 per thread), interrupts reach tasks waiting in their thread's own queue. No spin
  // outlasts the grace period here: terminating a thread would also fail the tasks sent ahead to it (see README).
  it.live(`4,000 tasks, 4 per thread at a time (seed ${seed})`, () =>
    Effect.gen(function*() {
      const report = yield* storm({
        seed,
        tasks: 4_000,
        concurrentTasksPerThread: 4,
        graceMillis: 5_000,
        longSpinShare: 0
      })
      log("storm, 4 per thread", report)
      assert.deepStrictEqual(report.problems, [], `seed ${seed}`)
      assert.strictEqual(report.aliveAfterClose, 0)
      assert.strictEqual(report.threadsTerminated, 0)
      assert.isAbove(report.interrupts.queuedOrSent, 0)
      assert.isAbove(report.interrupts.running, 0)
    }))
})
