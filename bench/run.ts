/**
 * `pnpm bench`: effect-threads' Node pool against piscina, tinypool, poolifier and a hand-written `worker_threads`
 * dispatcher, two threads each, interleaved (the order of the pools rotates from round to round), after warm-up.
 *
 * - A tiny tasks: `count` tasks `i => i + 1` submitted at once: tasks per second.
 * - B latency: sequential round trips: p50 and p99 in microseconds.
 * - C CPU-bound: tasks of `fib(29)` (about 5 ms each) submitted at once: speedup against the same work done
 *   synchronously on the main thread right before (2.0 is the ceiling on 2 cores).
 * - D start-up: create the pool, run one task, close it: milliseconds.
 * - E memory: peak RSS of the process during A (its warm-up run included, the same size).
 * - F the coordinator's own cost: the tiny tasks through a core `Team` of in-process workers against a plain
 *   `Effect.forEach`.
 * - H the bulk calls (`bulk.ts`): 100,000 tiny tasks through `ThreadPool.forEach` and `ThreadPool.mapStream` against
 *   raw `worker_threads` batched by hand and one task per message; C's shape and a heavy-tailed mix through `forEach`.
 * - G a thread's start: spawn one of our threads (`workers/ours.ts`: the runner and tasks declared with `Schema`)
 *   and time it to its first answer, against an empty thread's (`workers/empty.ts`, which speaks the protocol and
 *   imports nothing), in pairs in this process (`start.ts`; `bench/startup.ts` breaks it down).
 *
 * A, D and E run in a fresh child process per pool and sample (`child.ts`), so that one pool's heap does not count
 * against another's; B, C and F run in this process. Every figure is the median of the samples. A and D of our two
 * pools are also taken on Bun and Deno, in a fresh process of theirs (`runtimes.ts`): the runtime table.
 *
 * Options: `--smoke` (tiny sizes, one sample: proves that everything runs, measures nothing), `--samples N`,
 * `--out PATH` (default `bench/results/latest.json`; a smoke run writes no file unless given one), `--curves` (then
 * the cost curves, `curves.ts`, with its options: `--curve-samples N`, `--threads N`, `--curve-timeout S`,
 * `--curves-out PATH`), `--cluster` (then the cluster's figures, `examples/cluster/figures.ts`: the cost of a call
 * through the embedded and the Postgres cluster against a local pool, and the failover stalls; needs Postgres).
 */
import { spawn } from "node:child_process"
import { readFileSync, writeFileSync } from "node:fs"
import { availableParallelism, loadavg } from "node:os"
import { fileURLToPath } from "node:url"
import * as Bulk from "./bulk.ts"
import type { ChildResult } from "./child.ts"
import { commit } from "./commit.ts"
import { fmt, table } from "./format.ts"
import { flag, median, rotate, runChild as runNode } from "./lib.ts"
import { load, type Pool, type PoolName, poolNames } from "./pools/Pool.ts"
import * as Runtimes from "./runtimes.ts"
import * as G from "./start.ts"
import * as F from "./team.ts"
import { fib } from "./workers/fib.ts"

// ---- options ----

const args = process.argv.slice(2)
const smoke = args.includes("--smoke")
const sizes = smoke
  ? {
    samples: 1,
    tinyTasks: 2_000,
    tinyWarmup: 200,
    trips: 100,
    tripsBlock: 10,
    tripsWarmup: 20,
    cpuTasks: 8,
    fibN: 22,
    teamTasks: 2_000,
    threadStarts: 1
  }
  : {
    samples: 5,
    tinyTasks: 100_000,
    tinyWarmup: 100_000,
    trips: 2_000,
    tripsBlock: 100,
    tripsWarmup: 200,
    cpuTasks: 400,
    fibN: 29,
    teamTasks: 100_000,
    threadStarts: 3
  }
const samples = Number(flag(args, "--samples") ?? sizes.samples)
const out = flag(args, "--out") ??
  (smoke ? undefined : fileURLToPath(new URL("./results/latest.json", import.meta.url)))
const childTimeoutMs = 300_000

// ---- statistics ----

const percentile = (values: ReadonlyArray<number>, p: number): number => {
  const sorted = values.toSorted((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN
}

interface Samples {
  A: Array<number>
  B50: Array<number>
  B99: Array<number>
  Cms: Array<number>
  Cspeedup: Array<number>
  D: Array<number>
  E: Array<number>
}

// Indexed by round; NaN where a sample failed.
const perRound = (): Array<number> => Array.from({ length: samples }, () => NaN)
const emptySamples = (): Samples => ({
  A: perRound(),
  B50: perRound(),
  B99: perRound(),
  Cms: perRound(),
  Cspeedup: perRound(),
  D: perRound(),
  E: perRound()
})
const samplesOf = new Map<PoolName, Samples>(poolNames.map((name) => [name, emptySamples()]))
const syncMs: Array<number> = []
const fSamples: Array<F.FSample> = []
const gSamples: Array<G.GSample> = []
const startUpSamples: Array<G.StartUpSample> = []
const failures: Array<string> = []
const runtimeSamples = new Map(Runtimes.rows.map((row) => [row, { A: perRound(), D: perRound() }]))

// ---- workloads ----

const childPath = fileURLToPath(new URL("./child.ts", import.meta.url))

const isChildResult = (u: unknown): u is ChildResult =>
  typeof u === "object" && u !== null && "A_tasksPerSec" in u && "D_startMs" in u && "E_rssMB" in u

/** A, D and E in a fresh process. The result line counts even if the process then fails to exit in time. */
const runChild = async (name: PoolName): Promise<ChildResult | undefined> => {
  const { error, lines, stderr } = await runNode(
    [process.execPath, childPath, name, String(sizes.tinyTasks), String(sizes.tinyWarmup)],
    { timeoutMs: childTimeoutMs }
  )
  const line = lines[0]
  const parsed: unknown = line === undefined ? undefined : JSON.parse(line)
  if (isChildResult(parsed)) return parsed
  failures.push(`${name}: child A/D/E failed: ${error?.message ?? ""} ${stderr.slice(-2000)}`)
  return undefined
}

const syncCpu = (count: number): number => {
  const start = performance.now()
  let sink = 0
  for (let i = 0; i < count; i++) sink += fib(sizes.fibN)
  if (sink < 0) throw new Error("unreachable")
  return performance.now() - start
}

/**
 * B and C in this process, for every pool of `order`; `record` false for the warm-up round. All the pools are
 * started first, so that the round trips of B can be interleaved finely: blocks of `tripsBlock` round trips, pool
 * after pool, until each has made `trips`. Then C, pool after pool. Idle pools wait on their threads, not on CPU.
 */
const runInProcess = async (order: ReadonlyArray<PoolName>, round: number | undefined): Promise<void> => {
  const record = round !== undefined
  const pools = new Map<PoolName, Pool>()
  const failed = (name: PoolName, what: string, error: unknown) => {
    failures.push(`${name}: ${what} failed: ${String(error)}`)
    pools.delete(name)
  }
  for (const name of order) {
    try {
      const pool = await (await load(name)).make()
      pools.set(name, pool)
      await pool.latency(sizes.tripsWarmup)
      await pool.tiny(Math.ceil(sizes.tinyWarmup / 10))
    } catch (error) {
      failed(name, "start or warm-up", error)
    }
  }
  const latencies = new Map<PoolName, Array<number>>(order.map((name) => [name, []]))
  const trips = record ? sizes.trips : sizes.tripsWarmup
  for (let done = 0; done < trips; done += sizes.tripsBlock) {
    for (const [name, pool] of pools) {
      try {
        latencies.get(name)!.push(...await pool.latency(Math.min(sizes.tripsBlock, trips - done)))
      } catch (error) {
        failed(name, "B", error)
      }
    }
  }
  // Each pool's C right after the same work done synchronously: the machine's share of CPU drifts (other
  // processes), and the speedup compares two runs made under the same conditions.
  for (const [name, pool] of pools) {
    try {
      const count = record ? sizes.cpuTasks : Math.ceil(sizes.cpuTasks / 10)
      const baseline = syncCpu(count)
      const start = performance.now()
      await pool.cpu(count, sizes.fibN)
      const cpuMs = performance.now() - start
      if (record) {
        syncMs.push(baseline)
        const s = samplesOf.get(name)!
        s.B50[round] = percentile(latencies.get(name)!, 0.5)
        s.B99[round] = percentile(latencies.get(name)!, 0.99)
        s.Cms[round] = cpuMs
        s.Cspeedup[round] = baseline / cpuMs
      }
    } catch (error) {
      failed(name, "C", error)
    }
  }
  for (const name of order) {
    try {
      await pools.get(name)?.close()
    } catch (error) {
      failures.push(`${name}: close failed: ${String(error)}`)
    }
  }
}

// ---- the run ----

const began = performance.now()
const loadBefore = loadavg()
console.log(
  `effect-threads bench${smoke ? " (smoke)" : ""}: ${process.version}, ${availableParallelism()} cpus, ` +
    `${samples} sample(s), load average ${loadBefore.map((l) => l.toFixed(2)).join(" ")}`
)

// Warm-up: every pool once in this process, the synchronous baseline, the Team. Nothing is recorded.
syncCpu(Math.ceil(sizes.cpuTasks / 10))
await runInProcess(poolNames, undefined)
await F.sample(Math.ceil(sizes.teamTasks / 10), 1)
await G.sample(true)

for (let round = 0; round < samples; round++) {
  const order = rotate(poolNames, round)
  for (const name of order) {
    const result = await runChild(name)
    if (result === undefined) continue
    const s = samplesOf.get(name)!
    s.A[round] = result.A_tasksPerSec
    s.D[round] = result.D_startMs
    s.E[round] = result.E_rssMB
  }
  for (const row of rotate(Runtimes.rows, round)) {
    const result = await Runtimes.sample(row, sizes.tinyTasks, sizes.tinyWarmup)
    if (typeof result === "string") failures.push(result)
    else {
      runtimeSamples.get(row)!.A[round] = result.A_tasksPerSec
      runtimeSamples.get(row)!.D[round] = result.D_startMs
    }
  }
  await runInProcess(order, round)
  fSamples.push(await F.sample(sizes.teamTasks, smoke ? 2 : 3))
  for (let i = 0; i < sizes.threadStarts; i++) {
    try {
      gSamples.push(await G.sample((round + i) % 2 === 0))
    } catch (error) {
      failures.push(`G: a thread's start failed: ${String(error)}`)
    }
  }
  await G.startUpSample().then((x) => startUpSamples.push(x), (e) => failures.push(`start-up: ${String(e)}`))
  console.log(`round ${round + 1}/${samples} done at ${((performance.now() - began) / 1000).toFixed(0)} s`)
}

// H, the bulk calls (`bulk.ts`): their own rounds, after the others.
const bulk = await Bulk.run({ samples, smoke })
failures.push(...bulk.failures)

// ---- figures ----

interface Figures {
  readonly A_tasksPerSec: number
  readonly B_p50us: number
  readonly B_p99us: number
  readonly C_speedup: number
  readonly D_startMs: number
  readonly E_rssMB: number
}

const round = (n: number, digits: number): number => Number.isFinite(n) ? Number(n.toFixed(digits)) : NaN

const figures = new Map<PoolName, Figures & { readonly C_ms: number }>(poolNames.map((name) => {
  const s = samplesOf.get(name)!
  return [name, {
    A_tasksPerSec: Math.round(median(s.A)),
    B_p50us: round(median(s.B50), 1),
    B_p99us: round(median(s.B99), 1),
    C_speedup: round(median(s.Cspeedup), 3),
    D_startMs: round(median(s.D), 1),
    E_rssMB: round(median(s.E), 1),
    C_ms: round(median(s.Cms), 1)
  }]
}))
const figuresOf = (name: PoolName) => figures.get(name)!

const runtimeFigures = (s: { readonly A: ReadonlyArray<number>; readonly D: ReadonlyArray<number> }) => ({
  A_tasksPerSec: Math.round(median(s.A)),
  D_startMs: round(median(s.D), 1),
  A: s.A,
  D: s.D
})
const runtimesTable = Runtimes.runtimeTable(
  { version: process.versions.node, figures: (pool) => runtimeFigures(samplesOf.get(pool)!) },
  Runtimes.rows.map((row) => [row, runtimeFigures(runtimeSamples.get(row)!)] as const)
)

const fPlain = median(fSamples.map((s) => s.plainMs))
const fTeam = median(fSamples.map((s) => s.teamMs))
const fPool = median(fSamples.map((s) => s.poolMs))
const fBlock = {
  tasks: sizes.teamTasks,
  plain_tasksPerSec: Math.round(sizes.teamTasks / (fPlain / 1000)),
  team_tasksPerSec: Math.round(sizes.teamTasks / (fTeam / 1000)),
  team_overheadUsPerTask: round(((fTeam - fPlain) * 1000) / sizes.teamTasks, 3),
  team_vs_plain: round(fPlain / fTeam, 3),
  pool_tasksPerSec: Math.round(sizes.teamTasks / (fPool / 1000)),
  pool_overheadUsPerTask: round(((fPool - fPlain) * 1000) / sizes.teamTasks, 3)
}

// G and issue 21's start-up figures (start.ts); ratios are medians of the ratios within each pair or round.
const gBlock = G.summarize(gSamples, startUpSamples, samplesOf.get("effect-threads")!.D, samplesOf.get("piscina")!.D)

// ---- the table ----

const ratio = (a: number, b: number): string => fmt(a / b, 2) + "x"

const piscina = figuresOf("piscina")
const raw = figuresOf("raw")
const figuresTable = table(
  ["pool", "A tasks/s", "B p50 µs", "B p99 µs", "C ms", "C speedup", "D ms", "E MB"],
  poolNames.map((name) => {
    const f = figuresOf(name)
    return [
      name,
      fmt(f.A_tasksPerSec),
      fmt(f.B_p50us, 1),
      fmt(f.B_p99us, 1),
      fmt(f.C_ms),
      fmt(f.C_speedup, 2),
      fmt(f.D_startMs),
      fmt(f.E_rssMB)
    ]
  })
)
const ratiosTable = table(
  [
    "ratio",
    "A / piscina",
    "A / raw",
    "B p50 / piscina",
    "B p50 / raw",
    "C / piscina",
    "C / raw",
    "D / piscina",
    "D / raw",
    "E / piscina",
    "E / raw"
  ],
  poolNames.map((name) => {
    const f = figuresOf(name)
    return [
      name,
      ratio(f.A_tasksPerSec, piscina.A_tasksPerSec),
      ratio(f.A_tasksPerSec, raw.A_tasksPerSec),
      ratio(f.B_p50us, piscina.B_p50us),
      ratio(f.B_p50us, raw.B_p50us),
      ratio(f.C_speedup, piscina.C_speedup),
      ratio(f.C_speedup, raw.C_speedup),
      ratio(f.D_startMs, piscina.D_startMs),
      ratio(f.D_startMs, raw.D_startMs),
      ratio(f.E_rssMB, piscina.E_rssMB),
      ratio(f.E_rssMB, raw.E_rssMB)
    ]
  })
)

const spread = (values: ReadonlyArray<number>, digits = 0): string => {
  const finite = values.filter(Number.isFinite)
  return finite.length === 0 ? "n/a" : `${fmt(Math.min(...finite), digits)} - ${fmt(Math.max(...finite), digits)}`
}
const spreadTable = table(
  ["spread (min - max)", "A tasks/s", "B p50 µs", "B p99 µs", "C speedup", "D ms", "E MB"],
  poolNames.map((name) => {
    const s = samplesOf.get(name)!
    return [name, spread(s.A), spread(s.B50, 1), spread(s.B99, 1), spread(s.Cspeedup, 2), spread(s.D), spread(s.E)]
  })
)

// Each target is judged on the ratio within each round (the pools of one round ran minutes apart at most, B's and
// C's seconds apart), and the median of those ratios over the rounds.
const roundRatio = (name: PoolName, other: PoolName, key: keyof Samples): number => {
  const mine = samplesOf.get(name)![key]
  const theirs = samplesOf.get(other)![key]
  return median(mine.map((value, round) => value / theirs[round]!))
}

interface Target {
  readonly name: string
  readonly value: (name: PoolName) => number
  readonly met: (value: number) => boolean
}
// The hot-path issue's targets (issue 10); where a target names one of our two pools, the other's cell says so.
const only = (pool: PoolName, target: Target["value"]): Target["value"] => (name) =>
  name === pool ? target(name) : Number.NaN
const targets: ReadonlyArray<Target> = [
  {
    name: "A (default) >= 2.0x piscina",
    value: only("effect-threads", (name) => roundRatio(name, "piscina", "A")),
    met: (v) => v >= 2
  },
  {
    name: "A (pipelined) >= 2.0x poolifier",
    value: only("effect-threads (pipelined)", (name) => roundRatio(name, "poolifier", "A")),
    met: (v) => v >= 2
  },
  {
    name: "A (pipelined) >= 0.5x raw",
    value: only("effect-threads (pipelined)", (name) => roundRatio(name, "raw", "A")),
    met: (v) => v >= 0.5
  },
  { name: "B p50 <= 1.0x piscina", value: (name) => roundRatio(name, "piscina", "B50"), met: (v) => v <= 1 },
  { name: "C speedup >= 0.97x raw's", value: (name) => roundRatio(name, "raw", "Cspeedup"), met: (v) => v >= 0.97 },
  { name: "D <= 1.5x piscina", value: (name) => roundRatio(name, "piscina", "D"), met: (v) => v <= 1.5 },
  { name: "E <= 1.0x piscina", value: (name) => roundRatio(name, "piscina", "E"), met: (v) => v <= 1 }
]
const ours = ["effect-threads", "effect-threads (pipelined)"] as const
const targetsTable = table(
  ["target (median of per-round ratios)", ...ours],
  targets.map((t) => [
    t.name,
    ...ours.map((name) => {
      const v = t.value(name)
      return Number.isNaN(v) ? "-" : `${fmt(v, 2)} ${!Number.isFinite(v) ? "" : t.met(v) ? "met" : "MISSED"}`
    })
  ])
)

const elapsed = (performance.now() - began) / 1000
console.log()
console.log(
  `Medians of ${samples} sample(s); C: ${sizes.cpuTasks} x fib(${sizes.fibN}), ${fmt(median(syncMs))} ms synchronously`
)
console.log()
console.log(figuresTable)
console.log()
console.log(ratiosTable)
console.log()
console.log(spreadTable)
console.log()
console.log(`Our pools on other runtimes (A and D; medians and spread of ${samples} sample(s)):`)
console.log()
console.log(runtimesTable)
console.log()
console.log(targetsTable)
if (raw.C_speedup < 1.5) {
  console.log(
    `(raw worker_threads reached a speedup of only ${fmt(raw.C_speedup, 2)} on C: this machine did not give the two ` +
      "threads two cores' worth during this run, so C is judged against raw as well)"
  )
}
console.log()
console.log(
  `F (${fmt(sizes.teamTasks)} tiny tasks, no threads): plain Effect.forEach ${fmt(fBlock.plain_tasksPerSec)}/s, ` +
    `Team (LockWorker, 2 inline workers) ${fmt(fBlock.team_tasksPerSec)}/s: ` +
    `${fmt(fBlock.team_overheadUsPerTask, 2)} µs per task for the coordinator (${
      fmt(fBlock.team_vs_plain, 2)
    }x plain; ` +
    `target <= 0.5 µs: ${fBlock.team_overheadUsPerTask <= 0.5 ? "met" : "MISSED"}); the pool's own main-thread path ` +
    `(ThreadPool over threads that answer at once) ${fmt(fBlock.pool_tasksPerSec)}/s: ` +
    `${fmt(fBlock.pool_overheadUsPerTask, 2)} µs per task above plain`
)
console.log()
console.log(gBlock.text)
console.log()
console.log(bulk.text)
console.log()
console.log(
  `bench took ${elapsed.toFixed(0)} s; load average before ${loadBefore.map((l) => l.toFixed(2)).join(" ")}, ` +
    `after ${loadavg().map((l) => l.toFixed(2)).join(" ")}`
)

// ---- the JSON ----

const versionOf = (pkg: string): string => {
  const json: unknown = JSON.parse(
    readFileSync(new URL(`./node_modules/${pkg}/package.json`, import.meta.url), "utf8")
  )
  return typeof json === "object" && json !== null && "version" in json ? String(json.version) : "unknown"
}

if (out !== undefined) {
  const json = {
    node: process.version,
    cpus: availableParallelism(),
    date: new Date().toISOString(),
    versions: {
      "effect-threads": commit(),
      effect: versionOf("effect"),
      piscina: versionOf("piscina"),
      tinypool: versionOf("tinypool"),
      poolifier: versionOf("poolifier"),
      tinybench: versionOf("tinybench")
    },
    pools: Object.fromEntries(poolNames.map((name) => {
      const { C_ms: _, ...f } = figuresOf(name)
      return [name, f]
    })),
    F: fBlock,
    H: bulk.json,
    G: gBlock.json,
    runtimes: Runtimes.rows.map((row) => {
      const { A_tasksPerSec, D_startMs } = runtimeFigures(runtimeSamples.get(row)!)
      return { runtime: row.runtime, version: row.version, pool: row.pool, A_tasksPerSec, D_startMs }
    })
  }
  writeFileSync(out, `${JSON.stringify(json, null, 2)}\n`)
  console.log(`wrote ${out}`)
}

// ---- the cost curves (`--curves`): curves.ts ----

if (args.includes("--curves")) {
  const Curves = await import("./curves.ts")
  failures.push(...await Curves.run(Curves.optionsFrom(args)))
  // H's cost curve: the bulk calls from 10^4 to 10^7 elements (`bulk.ts`).
  const bulkCurve = await Bulk.curve(smoke)
  console.log(`\n${bulkCurve.text}`)
  failures.push(...bulkCurve.failures)
}

// ---- the cluster's figures (`--cluster`): examples/cluster/figures.ts, in its own process ----

if (args.includes("--cluster")) {
  const figures = new URL("../examples/cluster/figures.ts", import.meta.url).pathname
  const code = await new Promise<number | null>((done) => {
    const child = spawn(process.execPath, [figures], { stdio: "inherit" })
    child.once("exit", (exitCode) => done(exitCode))
    child.once("error", () => done(null))
  })
  if (code !== 0) failures.push(`the cluster's figures (examples/cluster/figures.ts) exited with ${code}`)
}

if (failures.length > 0) {
  console.error(`\n${failures.length} failure(s):\n${failures.join("\n")}`)
  process.exitCode = 1
}
