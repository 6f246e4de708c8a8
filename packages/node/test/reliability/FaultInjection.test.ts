/**
 * Fault injection on real threads: 10,000 tiny tasks through a two-thread pool, of which a random share kill their
 * thread: by `process.exit(code)`, by an asynchronous throw, or (a handful, 4) by running out of the
 * `resourceLimits` heap. Every other task settles exactly once with its right result, every faulty one exactly once
 * with `ThreadCrashed` (with its exit code, its error's message, or out-of-memory), the pool ends idle with its
 * statistics back to idle and its two threads replaced, and no thread is alive after its scope closes.
 *
 * The plan is drawn from a seed printed in the test's name: `RELIABILITY_SEED=<seed>` replays it.
 *
 * Each fault costs a thread start, about 0.2 s of CPU on the main thread and the new thread together (loading
 * `effect` and the runner), and an out-of-memory fault several times that (V8 collects hard before it gives up).
 * So the suite injects 1% (100 faults, 4 of them out-of-memory: about 20 s on two cores); `pnpm soak` injects the
 * full 10% (1,000 faults in 10,000 tasks: about 2 to 4 minutes on two cores).
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { faultProblems, injectFaults } from "./faults.ts"
import { seedFrom } from "./support.ts"

const seed = seedFrom("RELIABILITY_SEED", 72026)
const tasks = 10_000
const faults = 100
const outOfMemory = 4

describe("Fault injection", { timeout: 120_000 }, () => {
  it.live(`${tasks} tasks, ${faults} of which kill their thread, ${outOfMemory} by OOM (seed ${seed})`, () =>
    Effect.gen(function*() {
      const report = yield* injectFaults({ seed, tasks, faultShare: faults / tasks, outOfMemory })
      console.log(
        `fault injection (seed ${seed}): ${tasks} tasks, faults ${JSON.stringify(report.injected)}, ${
          (report.millis / 1000).toFixed(1)
        } s, threads spawned ${report.spawned}`
      )
      assert.deepStrictEqual(faultProblems(report, faults, outOfMemory), [], `seed ${seed}`)
    }))
})
