/**
 * `pnpm soak` (through `scripts/soak.ts`, which runs this file with `--expose-gc`), in two parts:
 *
 * 1. The soak: 1,000,000 tiny tasks through a two-thread pool, in 20 waves of 50,000 submitted at once. It fails
 *    if a task is lost (settlements differ from submissions), a result is wrong, a thread is left alive, or the
 *    memory after the last wave exceeds the bound: heap at most 30 MB above the heap after the first wave, RSS at
 *    most 25% (and at least 64 MB) above it.
 * 2. The full fault injection: 10,000 tasks of which 1,000 kill their thread (4 of them by running out of memory),
 *    from the seed `RELIABILITY_SEED` (default 72026). The suite runs 100 faults; see `FaultInjection.test.ts`.
 *
 * Exits with 1 if anything failed. Options: `--waves N`, `--tasks-per-wave N`, `--per-thread N`
 * (`concurrentTasksPerThread`, default 1), `--only soak` or `--only faults`.
 */
import * as Effect from "effect/Effect"
import { faultProblems, injectFaults } from "./faults.ts"
import { idleWithTwoThreads, mb, soak } from "./soak.ts"
import { seedFrom } from "./support.ts"

const args = process.argv.slice(2)
const option = (name: string, fallback: number): number => {
  const at = args.indexOf(name)
  const value = at >= 0 ? Number(args[at + 1]) : fallback
  if (!(Number.isInteger(value) && value > 0)) throw new Error(`${name} must be a positive integer`)
  return value
}
const waves = option("--waves", 20)
const tasksPerWave = option("--tasks-per-wave", 50_000)
const perThread = option("--per-thread", 1)
const only = args.includes("--only") ? args[args.indexOf("--only") + 1] : undefined
if (only !== undefined && only !== "soak" && only !== "faults") throw new Error("--only takes soak or faults")
const failures: Array<string> = []

/** The memory bound between the first wave and the last. */
const heapSlack = 30 * 1024 * 1024
const rssSlack = (rssFirst: number) => Math.max(64 * 1024 * 1024, rssFirst * 0.25)

const runSoak = async (): Promise<void> => {
  console.log(
    `soak: ${(waves * tasksPerWave).toLocaleString("en")} tasks, ${waves} waves of ${
      tasksPerWave.toLocaleString("en")
    }, 2 threads, concurrentTasksPerThread ${perThread}, node ${process.version}`
  )

  const report = await Effect.runPromise(soak({
    waves,
    tasksPerWave,
    concurrentTasksPerThread: perThread,
    onWave: (w) =>
      console.log(
        `  wave ${String(w.wave).padStart(2)}: ${w.tasks} tasks in ${(w.millis / 1000).toFixed(2)} s (${
          Math.round(w.tasks / (w.millis / 1000)).toLocaleString("en")
        }/s), heap ${mb(w.heapUsed)}, rss ${mb(w.rss)}`
      )
  }))

  const first = report.waves[0]!
  const last = report.waves[report.waves.length - 1]!
  if (report.settled !== report.submitted) failures.push(`settled ${report.settled} of ${report.submitted}`)
  if (report.correct !== report.submitted) failures.push(`${report.submitted - report.correct} wrong or lost results`)
  if (report.settledTwice !== 0) failures.push(`${report.settledTwice} tasks settled twice`)
  if (report.wrong.length > 0) failures.push(`wrong: ${report.wrong.join("; ")}`)
  if (!idleWithTwoThreads(report.statistics)) failures.push(`statistics not idle: ${JSON.stringify(report.statistics)}`)
  if (report.threadsSpawned !== 2) failures.push(`${report.threadsSpawned} threads spawned, expected 2`)
  if (report.threadsAliveAfterClose !== 0) failures.push(`${report.threadsAliveAfterClose} threads alive after close`)
  if (!report.gcForced) failures.push("no forced GC: run with --expose-gc (pnpm soak does)")
  if (last.heapUsed > first.heapUsed + heapSlack) {
    failures.push(`heap grew from ${mb(first.heapUsed)} to ${mb(last.heapUsed)} (bound +${mb(heapSlack)})`)
  }
  if (last.rss > first.rss + rssSlack(first.rss)) {
    failures.push(`rss grew from ${mb(first.rss)} to ${mb(last.rss)} (bound +${mb(rssSlack(first.rss))})`)
  }

  console.log(
    [
      `submitted ${report.submitted}, settled ${report.settled}, correct ${report.correct}, lost ${
        report.submitted - report.settled
      }`,
      `time ${(report.millis / 1000).toFixed(1)} s (${Math.round(report.submitted / (report.millis / 1000))} tasks/s)`,
      `heap after wave 1 ${mb(first.heapUsed)}, after wave ${last.wave} ${mb(last.heapUsed)} (${
        mb(last.heapUsed - first.heapUsed)
      }; bound +${mb(heapSlack)})`,
      `rss after wave 1 ${mb(first.rss)}, after wave ${last.wave} ${mb(last.rss)} (${
        mb(last.rss - first.rss)
      }; bound +${mb(rssSlack(first.rss))})`,
      `threads spawned ${report.threadsSpawned}, alive after close ${report.threadsAliveAfterClose}`
    ].map((line) => `soak: ${line}`).join("\n")
  )
}

const runFaults = async (): Promise<void> => {
  const seed = seedFrom("RELIABILITY_SEED", 72026)
  const tasks = 10_000
  const faults = 1_000
  const outOfMemory = 4
  console.log(`faults: ${tasks} tasks, ${faults} of which kill their thread, ${outOfMemory} by OOM, seed ${seed}`)
  const report = await Effect.runPromise(injectFaults({ seed, tasks, faultShare: faults / tasks, outOfMemory }))
  const problems = faultProblems(report, faults, outOfMemory)
  const settled = report.exits.filter((n) => n > 0).length
  console.log(
    [
      `injected ${JSON.stringify(report.injected)}, settled ${settled} of ${tasks}, wrong ${report.wrong.length}`,
      `time ${(report.millis / 1000).toFixed(1)} s, threads spawned ${report.spawned}, exited ${report.exited}`,
      `statistics ${JSON.stringify(report.afterRefill)}`,
      `threads alive after close ${report.aliveAfterClose}`
    ].map((line) => `faults: ${line}`).join("\n")
  )
  failures.push(...problems.map((problem) => `faults (seed ${seed}): ${problem}`))
}

if (only !== "faults") await runSoak()
if (only !== "soak") await runFaults()
if (failures.length > 0) {
  console.error(`soak FAILED:\n  ${failures.join("\n  ")}`)
  process.exit(1)
}
console.log("soak: ok")
