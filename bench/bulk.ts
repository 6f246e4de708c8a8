/**
 * Workload H, the bulk calls (issue 22): `ThreadPool.forEach` and `ThreadPool.mapStream` against the same work
 * batched by hand over raw `worker_threads` (one message per 1,000 tasks) and against one task per message
 * (poolifier, raw). `pnpm bench` runs it after its rounds; `node bench/bulk.ts [--samples N] [--smoke]` alone.
 *
 * - H tiny: 100,000 tasks `i => i + 1` after a warm-up run of the same size, in a fresh process per contender and
 *   round (`bulk-child.ts tiny`): tasks per second and peak RSS.
 * - H cpu: C's shape (400 x `fib(29)`) through `forEach` and through raw, each right after the same work done
 *   synchronously in that process: the speedups; then a heavy-tailed mix (4,000 tasks of `fib(19)`, one in a
 *   hundred `fib(29)`, about 120 times longer) through `forEach`, against its best possible makespan on two threads
 *   (its synchronous time halved). One fresh process per round (`bulk-child.ts cpu`).
 *
 * - H cost curve (`--curves`): the cost per element from 10^4 to 10^7 tiny tasks, `forEach`, `mapStream` and the
 *   hand-batched ceiling, one fresh process per contender and size.
 *
 * Figures are medians over the rounds; each target is judged on the median of the ratios within each round.
 */
import { fileURLToPath } from "node:url"
import { type Contender, contenders, type CpuResult, type TinyResult } from "./bulk-child.ts"
import { fmt, table } from "./format.ts"
import { flag, median, rotate, runChild } from "./lib.ts"

/** What the bulk rows measured: the figures, the targets and the tables, printed. */
export interface BulkFigures {
  readonly json: Record<string, unknown>
  readonly text: string
  readonly failures: ReadonlyArray<string>
}

const childPath = fileURLToPath(new URL("./bulk-child.ts", import.meta.url))

const child = async (args: ReadonlyArray<string>, failures: Array<string>): Promise<unknown> => {
  const { error, lines, stderr } = await runChild([process.execPath, childPath, ...args], { timeoutMs: 300_000 })
  const line = lines[0]
  if (line !== undefined) return JSON.parse(line)
  failures.push(`bulk ${args.join(" ")} failed: ${error?.message ?? ""} ${stderr.slice(-2000)}`)
  return undefined
}

/** Runs `samples` rounds of workload H (`smoke`: tiny sizes). */
export const run = async (options: { readonly samples: number; readonly smoke: boolean }): Promise<BulkFigures> => {
  const { samples, smoke } = options
  const sizes = smoke
    ? { tasks: 2_000, warmup: 200, cpuTasks: 8, fibN: 22, mixTasks: 200 }
    : { tasks: 100_000, warmup: 100_000, cpuTasks: 400, fibN: 29, mixTasks: 4_000 }
  const failures: Array<string> = []
  const tiny = new Map<Contender, Array<TinyResult | undefined>>(contenders.map((c) => [c, []]))
  const cpu: Array<CpuResult | undefined> = []
  for (let round = 0; round < samples; round++) {
    for (const contender of rotate(contenders, round)) {
      const result = await child(["tiny", contender, String(sizes.tasks), String(sizes.warmup)], failures)
      tiny.get(contender)![round] = result as TinyResult | undefined
    }
    cpu[round] = await child(["cpu", String(sizes.cpuTasks), String(sizes.fibN), String(sizes.mixTasks)], failures) as
      | CpuResult
      | undefined
  }
  const of = (c: Contender, key: keyof TinyResult): Array<number> =>
    Array.from({ length: samples }, (_, r) => tiny.get(c)![r]?.[key] ?? NaN)
  const perRound = (mine: ReadonlyArray<number>, theirs: ReadonlyArray<number>): number =>
    median(mine.map((value, r) => value / theirs[r]!))
  const cpuOf = (key: keyof CpuResult): Array<number> => cpu.map((result) => result?.[key] ?? NaN)

  const figures = table(
    [`H: ${fmt(sizes.tasks)} tiny tasks`, "tasks/s", "spread", "peak RSS MB"],
    contenders.map((c) => {
      const rate = of(c, "tasksPerSec")
      const finite = rate.filter(Number.isFinite)
      return [
        c,
        fmt(median(rate)),
        finite.length === 0 ? "n/a" : `${fmt(Math.min(...finite))} - ${fmt(Math.max(...finite))}`,
        fmt(median(of(c, "rssMB")))
      ]
    })
  )
  const ratio = (c: Contender, other: Contender, key: keyof TinyResult) => perRound(of(c, key), of(other, key))
  const targets: ReadonlyArray<readonly [string, number, boolean]> = [
    ["forEach >= 0.5x raw (batched)", ratio("forEach", "raw (batched)", "tasksPerSec") / 0.5, true],
    ["mapStream >= 0.5x raw (batched)", ratio("mapStream", "raw (batched)", "tasksPerSec") / 0.5, true],
    ["forEach >= 5x poolifier", ratio("forEach", "poolifier (per task)", "tasksPerSec") / 5, true],
    ["mapStream >= 5x poolifier", ratio("mapStream", "poolifier (per task)", "tasksPerSec") / 5, true],
    ["forEach peak RSS <= 1.2x raw (per task)", 1.2 / ratio("forEach", "raw (per task)", "rssMB"), true],
    ["mapStream peak RSS <= 1.2x raw (per task)", 1.2 / ratio("mapStream", "raw (per task)", "rssMB"), true],
    ["C via forEach >= 0.97x raw's speedup", perRound(cpuOf("forEachSpeedup"), cpuOf("rawSpeedup")) / 0.97, true],
    ["heavy-tailed mix <= 1.15x best makespan", 1.15 / median(cpuOf("mixRatio")), true]
  ]
  // Each row shows the measured ratio itself; the third cell says whether it meets its bound.
  const shown = [
    ratio("forEach", "raw (batched)", "tasksPerSec"),
    ratio("mapStream", "raw (batched)", "tasksPerSec"),
    ratio("forEach", "poolifier (per task)", "tasksPerSec"),
    ratio("mapStream", "poolifier (per task)", "tasksPerSec"),
    ratio("forEach", "raw (per task)", "rssMB"),
    ratio("mapStream", "raw (per task)", "rssMB"),
    perRound(cpuOf("forEachSpeedup"), cpuOf("rawSpeedup")),
    median(cpuOf("mixRatio"))
  ]
  const targetsTable = table(
    ["H target (median of per-round ratios)", "ratio", "verdict"],
    targets.map(([name, margin], i) => [
      name,
      `${fmt(shown[i]!, 2)}x`,
      Number.isFinite(margin) ? (margin >= 1 ? "met" : "MISSED") : "n/a"
    ])
  )
  const text = [
    `H (bulk calls, ${samples} round(s); tiny tasks in a fresh process each, after a warm-up of the same size):`,
    "",
    figures,
    "",
    `H cpu: ${sizes.cpuTasks} x fib(${sizes.fibN}) speedup via forEach ${fmt(median(cpuOf("forEachSpeedup")), 2)}, ` +
    `raw ${fmt(median(cpuOf("rawSpeedup")), 2)}; heavy-tailed mix (${fmt(sizes.mixTasks)} tasks, 1% ~120x longer) ` +
    `${fmt(median(cpuOf("mixMs")))} ms against a best possible ${fmt(median(cpuOf("mixBestMs")))} ms on 2 threads`,
    "",
    targetsTable
  ].join("\n")
  const json = {
    tasks: sizes.tasks,
    tiny: Object.fromEntries(contenders.map((c) => [c, {
      tasksPerSec: Math.round(median(of(c, "tasksPerSec"))),
      rssMB: Number(median(of(c, "rssMB")).toFixed(1))
    }])),
    cpu: {
      forEachSpeedup: Number(median(cpuOf("forEachSpeedup")).toFixed(3)),
      rawSpeedup: Number(median(cpuOf("rawSpeedup")).toFixed(3)),
      mixRatio: Number(median(cpuOf("mixRatio")).toFixed(3))
    },
    ratios: Object.fromEntries(targets.map(([name], i) => [name, Number(shown[i]!.toFixed(3))]))
  }
  return { json, text, failures }
}

/** The contenders of the cost curve: the bulk calls, and the hand-batched ceiling. */
const curveContenders: ReadonlyArray<Contender> = ["forEach", "mapStream", "raw (batched)"]

/**
 * The cost per element from 10^4 to 10^7 tiny tasks (`--curves`; `smoke`: 10^3 and 10^4): one sample per contender
 * and size, each in a fresh process after a warm-up of up to 10^5: µs per element and peak RSS.
 */
export const curve = async (smoke: boolean): Promise<BulkFigures> => {
  const sizes = smoke ? [1_000, 10_000] : [10_000, 100_000, 1_000_000, 10_000_000]
  const failures: Array<string> = []
  const results = new Map<string, TinyResult | undefined>()
  for (const size of sizes) {
    for (const contender of curveContenders) {
      const warmup = String(Math.min(size, 100_000))
      results.set(
        `${contender} ${size}`,
        await child(["tiny", contender, String(size), warmup], failures) as TinyResult
      )
    }
  }
  const cell = (contender: Contender, size: number, key: keyof TinyResult, f: (v: number) => string) => {
    const value = results.get(`${contender} ${size}`)?.[key]
    return value === undefined ? "n/a" : f(value)
  }
  const text = table(
    ["H cost curve", ...sizes.map((n) => `µs/elt ${fmt(n)}`), ...sizes.map((n) => `RSS MB ${fmt(n)}`)],
    curveContenders.map((c) => [
      c,
      ...sizes.map((n) => cell(c, n, "tasksPerSec", (v) => fmt(1_000_000 / v, 3))),
      ...sizes.map((n) => cell(c, n, "rssMB", (v) => fmt(v)))
    ])
  )
  const json = Object.fromEntries(Array.from(results, ([key, value]) => [key, value ?? null]))
  return { json, text, failures }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2)
  const smoke = args.includes("--smoke")
  const figures = await run({ samples: Number(flag(args, "--samples") ?? (smoke ? 1 : 3)), smoke })
  console.log(figures.text)
  const curveFigures = args.includes("--curves") ? await curve(smoke) : undefined
  if (curveFigures !== undefined) console.log(`\n${curveFigures.text}`)
  const failures = [...figures.failures, ...(curveFigures?.failures ?? [])]
  if (failures.length > 0) {
    console.error(failures.join("\n"))
    process.exitCode = 1
  }
}
