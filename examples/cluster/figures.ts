/**
 * The example's figures, measured in one run and printed as Markdown tables (the README shows them):
 *
 * 1. What one call costs: a task that does nothing (`Ping`), 1 and 64 in flight, and 10,000 of them in one
 *    `ThreadPool.forEach` (batches: on the cluster, one request a batch), on a local `NodeThreadPool`, on
 *    `NodeCluster.layerEmbedded` (one process, no database) and through the Postgres cluster (three runner
 *    processes). The three are up at once and measured in turn, round after round, so a noisy machine slows all of
 *    them alike; the overhead is the difference of the time per task to the local pool's, in the same round.
 * 2. Failover: 3,000 tasks of 2 ms, 64 in flight, over three runners (two threads each); a third of the way in one
 *    runner gets SIGKILL or SIGTERM, with the tuned and the default sharding settings (`settings.ts`). The stall is
 *    the longest time after the signal during which no task settled. Each run starts its own cluster.
 *
 *   node figures.ts [--rounds 5] [--runs 3]
 */
import { NodeCluster } from "@effect-threads/cluster"
import { ThreadPool } from "@effect-threads/core"
import * as NodeThreadPool from "@effect-threads/node/NodeThreadPool"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Console, Context, Effect, Layer } from "effect"
import * as ChildProcess from "node:child_process"
import * as Os from "node:os"
import { parseArgs } from "node:util"
import { Ping, tasks } from "./api.ts"
import * as Cluster from "./cluster.ts"
import * as Job from "./job.ts"
import type { Sharding } from "./settings.ts"

const { values: args } = parseArgs({
  options: { rounds: { type: "string", default: "5" }, runs: { type: "string", default: "3" } }
})
const rounds = Number(args.rounds)
const runs = Number(args.runs)

const entry = new URL("./tasks.ts", import.meta.url)
const threads = 2

// ---- statistics ----

const median = (xs: ReadonlyArray<number>): number => {
  const sorted = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}
const range = (xs: ReadonlyArray<number>, digits: number): string =>
  `${Math.min(...xs).toFixed(digits)} to ${Math.max(...xs).toFixed(digits)}`

// ---- 1. the cost of a call ----

type Setup = "local pool" | "embedded cluster" | "Postgres cluster"
const setups: ReadonlyArray<Setup> = ["local pool", "embedded cluster", "Postgres cluster"]
/** How the calls are made (one `deferToThread` each, so many in flight; or one `forEach`), and how many are timed. */
interface Level {
  readonly label: string
  readonly concurrency: number | "forEach"
  readonly calls: number
}
const levels: ReadonlyArray<Level> = [
  { label: "1 in flight", concurrency: 1, calls: 500 },
  { label: "64 in flight", concurrency: 64, calls: 5000 },
  { label: "one forEach", concurrency: "forEach", calls: 10_000 }
]

/** Microseconds per call: `calls` empty tasks, `concurrency` at a time, or in one `forEach`. */
const timeCalls = (pool: Context.Context<ThreadPool.Executor>, level: Level) =>
  Effect.gen(function*() {
    const payloads = Array.from({ length: level.calls }, (_, i) => i)
    const start = performance.now()
    if (level.concurrency === "forEach") {
      yield* ThreadPool.forEach(Ping, payloads, { discard: true })
    } else {
      yield* Effect.forEach(payloads, (i) => ThreadPool.deferToThread(Ping, i), {
        concurrency: level.concurrency,
        discard: true
      })
    }
    return ((performance.now() - start) * 1000) / level.calls
  }).pipe(Effect.provideContext(pool))

/** The three setups side by side; `µs[setup][level]` holds one time per call per round. */
const measureCalls = Effect.gen(function*() {
  const local = yield* Layer.build(NodeThreadPool.layer({ entry, minThreads: threads, maxThreads: threads }))
  const embedded = yield* Layer.build(
    NodeCluster.layerEmbedded({ tasks, entry, minThreads: threads, maxThreads: threads })
  )
  const cluster = yield* Cluster.start({ runners: 3, threads, sharding: "tuned" })
  const pools: Record<Setup, Context.Context<ThreadPool.Executor>> = {
    "local pool": local,
    "embedded cluster": embedded,
    "Postgres cluster": cluster.pool
  }
  const µs = new Map(setups.map((setup) => [setup, levels.map((): Array<number> => [])]))
  // round 0 warms up (threads started, code compiled, connections open) and is not counted
  for (let round = 0; round <= rounds; round++) {
    for (const [i, level] of levels.entries()) {
      // a different setup goes first each round
      for (const k of setups.keys()) {
        const setup = setups[(k + round) % setups.length]!
        const time = yield* timeCalls(pools[setup], level)
        if (round > 0) µs.get(setup)![i]!.push(time)
      }
    }
    if (round > 0) yield* Console.error(`calls: round ${round}/${rounds} measured`)
  }
  return µs
}).pipe(Effect.scoped)

const callsTable = (µs: ReadonlyMap<Setup, ReadonlyArray<ReadonlyArray<number>>>): string => {
  const local = µs.get("local pool")!
  const header = levels.map((l) => `${l.label}: µs per call | overhead | calls/s`).join(" | ")
  const rows = setups.map((setup) => {
    const cells = levels.map((_, i) => {
      const times = µs.get(setup)![i]!
      // the overhead is paired by round: the same round's local time is subtracted
      const overhead = times.map((t, round) => t - local[i]![round]!)
      return `${median(times).toFixed(0)} (${range(times, 0)}) | ${
        setup === "local pool" ? "" : `+${median(overhead).toFixed(0)}`
      } | ${Math.round(1e6 / median(times)).toLocaleString("en")}`
    })
    return `| ${setup} | ${cells.join(" | ")} |`
  })
  const separator = `| --- | ${levels.map(() => "--- | --- | ---").join(" | ")} |`
  return [`| | ${header} |`, separator, ...rows].join("\n")
}

// ---- 2. failover ----

interface Scenario {
  readonly signal: "SIGKILL" | "SIGTERM"
  readonly sharding: Sharding
}

/** One failover run on a fresh cluster: how long the 3,000 tasks took, and the stall after the signal (ms). */
const failover = (scenario: Scenario) =>
  Effect.gen(function*() {
    const cluster = yield* Cluster.start({ runners: 3, threads, sharding: scenario.sharding })
    const total = 3000
    const progress = Job.makeProgress(total)
    const report = yield* Job.run({
      total,
      ms: 2,
      concurrency: 64,
      fault: { runner: cluster.runners[1]!, signal: scenario.signal, after: total / 3 }
    }, progress).pipe(Effect.provideContext(cluster.pool))
    const served = [...report.served.values()]
    if (served.length !== 3) return yield* Effect.die(new Error(`served by ${served.length} runners`))
    const result = { ms: report.ms, stall: report.fault!.stall }
    yield* Console.error(
      `failover: ${scenario.signal}, ${scenario.sharding} sharding: ${total} tasks in ${result.ms.toFixed(0)} ms,` +
        ` stall ${result.stall.toFixed(0)} ms`
    )
    return result
  }).pipe(Effect.scoped)

const scenarios: ReadonlyArray<{ readonly scenario: Scenario; readonly runs: number }> = [
  { scenario: { signal: "SIGTERM", sharding: "tuned" }, runs },
  { scenario: { signal: "SIGKILL", sharding: "tuned" }, runs },
  { scenario: { signal: "SIGTERM", sharding: "default" }, runs },
  // about 40 s a run
  { scenario: { signal: "SIGKILL", sharding: "default" }, runs: 1 }
]

const measureFailover = Effect.gen(function*() {
  const results = scenarios.map(() => [] as Array<{ ms: number; stall: number }>)
  // the scenarios take turns, run after run
  for (let run = 0; run < runs; run++) {
    for (const [i, { scenario, runs: wanted }] of scenarios.entries()) {
      if (run < wanted) results[i]!.push(yield* failover(scenario))
    }
  }
  return results
})

const failoverTable = (results: ReadonlyArray<ReadonlyArray<{ ms: number; stall: number }>>): string => {
  const rows = scenarios.map(({ scenario }, i) => {
    const r = results[i]!
    const took = r.map((x) => x.ms / 1000)
    const stall = r.map((x) => x.stall / 1000)
    return `| ${scenario.signal} | ${scenario.sharding} | ${r.length} | ${range(took, 1)} s | ${range(stall, 2)} s |`
  })
  return ["| signal | sharding | runs | 3,000 tasks took | stall |", "| --- | --- | --- | --- | --- |", ...rows].join(
    "\n"
  )
}

// ---- the run ----

const machine = (): string => {
  const commit = ChildProcess.execFileSync("git", ["rev-parse", "--short", "HEAD"]).toString().trim()
  const cpus = Os.cpus()
  const load = Os.loadavg().map((x) => x.toFixed(1)).join(" ")
  return `${cpus.length} vCPUs (${cpus[0]?.model.trim()}), ${
    Math.round(Os.totalmem() / 2 ** 30)
  } GB, Node ${process.version},` +
    ` commit ${commit}, load average ${load}`
}

const program = Effect.gen(function*() {
  const before = machine()
  const calls = yield* measureCalls
  const failovers = yield* measureFailover
  yield* Console.log(
    `Measured on ${before}; load average at the end ${Os.loadavg().map((x) => x.toFixed(1)).join(" ")}`
  )
  yield* Console.log(`\nOne call, a task that does nothing (median of ${rounds} rounds, range in brackets):\n`)
  yield* Console.log(callsTable(calls))
  yield* Console.log(`\nFailover (3,000 tasks of 2 ms, 64 in flight, three runners of ${threads} threads):\n`)
  yield* Console.log(failoverTable(failovers))
})

// on Ctrl-C the scopes close: runners and Postgres stopped, folders removed
NodeRuntime.runMain(program)
