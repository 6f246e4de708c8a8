/**
 * Quit and scope-close races on real threads: a pool with tasks running (an Effect-based `Hold`, and a synchronous
 * 30 s `Spin` that only terminating its thread ends), tasks queued behind them, and three fibers submitting more,
 * ended by closing its scope, by `stop`, or by `stop` with the scope closing before stop is done. Every caller
 * settles, with its result, an interruption or `AlreadyQuit` and nothing else; a submission after the end fails
 * with `AlreadyQuit`; the close (and stop) ends within a generous bound (a hang fails, not a slow machine); no
 * thread is alive as soon as the close has returned. Each scenario runs from 4 seeds (`RELIABILITY_SEED` shifts
 * them).
 *
 * Submitters keep submitting while the scope closes: a task submitted during the close is refused with
 * `AlreadyQuit` (or interrupted), never lost.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { type Ending, race, type RaceReport } from "./races.ts"
import { seedFrom } from "./support.ts"

const base = seedFrom("RELIABILITY_SEED", 72026)
const seeds = [base, base + 1, base + 2, base + 3]

const runAll = (ending: Ending, submitDuringEnding: boolean) =>
  Effect.gen(function*() {
    const reports: Array<RaceReport> = []
    for (const seed of seeds) reports.push(yield* race(seed, ending, submitDuringEnding))
    console.log(
      reports.map((r) =>
        `${r.ending} (seed ${r.seed}): ${r.callers} callers, ${r.succeeded} succeeded, ${r.interrupted} interrupted, ${r.alreadyQuit} AlreadyQuit, ${r.submittedDuringEnding} submitted during the ending`
      ).join("\n")
    )
    assert.deepStrictEqual(reports.flatMap((r) => r.problems.map((p) => `seed ${r.seed}: ${p}`)), [])
    for (const r of reports) {
      assert.strictEqual(r.aliveAfterClose, 0)
      assert.strictEqual(r.succeeded + r.interrupted + r.alreadyQuit, r.callers, "every caller settled")
      assert.isAbove(r.alreadyQuit, 0, "submissions after the end fail with AlreadyQuit")
    }
    return reports
  })

describe("Quit and scope-close races", { timeout: 120_000 }, () => {
  it.live(`closing the scope with tasks running and queued interrupts them all (seeds ${seeds.join(", ")})`, () =>
    Effect.gen(function*() {
      const reports = yield* runAll("close", true)
      for (const r of reports) {
        assert.isAbove(r.interrupted, 0)
        // The spin only ends when its thread is terminated: nothing queued behind it ran.
        assert.strictEqual(r.threadsSpawned, 2)
      }
    }))

  it.live(`stop while other fibers submit: the backlog runs, later submissions get AlreadyQuit (seeds ${seeds.join(", ")})`, () =>
    Effect.gen(function*() {
      const reports = yield* runAll("stop", true)
      for (const r of reports) {
        assert.strictEqual(r.interrupted, 0)
        assert.isAbove(r.succeeded, 0)
        assert.isAbove(r.submittedDuringEnding, 0)
      }
    }))

  it.live(`stop, then the scope closes before stop is done, while other fibers submit (seeds ${seeds.join(", ")})`, () =>
    Effect.gen(function*() {
      const reports = yield* runAll("stopThenClose", true)
      for (const r of reports) {
        assert.isAbove(r.interrupted, 0)
        assert.isAbove(r.submittedDuringEnding, 0)
      }
    }))
})
