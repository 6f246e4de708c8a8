// What a call costs, as ratios to a local pool measured in the same run (the README's "Figures"): a task that does
// almost nothing (`Square`), sent by this process, on a local NodeThreadPool of two threads, on the embedded cluster
// (two threads), and through a Postgres cluster of three runner processes of two threads (test/support: a private
// Postgres, the tuned sharding settings): plain calls, durable calls (`deferOnce`, a new id each) and repeats of
// those ids (answered from storage). The setups take turns, round after round, so a noisy machine slows them alike;
// round 0 warms up. Not a test: `node test/costs.ts [rounds]` (default 5) prints the figures and the machine.
import { ThreadPool } from "@effect-threads/core"
import * as NodeThreadPool from "@effect-threads/node/NodeThreadPool"
import { Console, Effect, Layer } from "effect"
import type { Context } from "effect"
import * as ChildProcess from "node:child_process"
import * as Os from "node:os"
import * as ClusterThreadPool from "../src/ClusterThreadPool.ts"
import * as NodeCluster from "../src/NodeCluster.ts"
import * as PgCluster from "../src/PgCluster.ts"
import { Square, tasks } from "./fixtures/api.ts"
import { startCluster, stopCluster } from "./support/runners.ts"
import { sharding } from "./support/sharding.ts"

const rounds = Number(process.argv[2] ?? 5)
const entry = new URL("./fixtures/tasks.ts", import.meta.url)
const setups = [
  "local pool",
  "embedded cluster",
  "Postgres, plain",
  "Postgres, deferOnce",
  "deferOnce repeated"
] as const
type Setup = (typeof setups)[number]
/** In flight at once; how many plain calls, and how many durable ones (slower), are timed at that level. */
const levels = [{ concurrency: 1, plain: 500, durable: 100 }, { concurrency: 64, plain: 5000, durable: 1000 }]

const median = (xs: ReadonlyArray<number>): number => {
  const sorted = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}
const format = (x: number, digits = 0) => x.toLocaleString("en", { maximumFractionDigits: digits })
const range = (xs: ReadonlyArray<number>, digits = 0) =>
  `${format(Math.min(...xs), digits)} to ${format(Math.max(...xs), digits)}`

type Call = (id: string, i: number) => Effect.Effect<unknown, unknown>
const plain = (pool: Context.Context<ThreadPool.Executor>): Call => (_id, i) =>
  Effect.provideContext(ThreadPool.deferToThread(Square, i), pool)
const durable = (pool: Context.Context<ClusterThreadPool.DurableCalls>): Call => (id, i) =>
  Effect.provideContext(ClusterThreadPool.deferOnce(Square, i, { id }), pool)

/** Microseconds per call: `call` once per id, `concurrency` at a time. */
const timeCalls = (concurrency: number, ids: ReadonlyArray<string>, call: Call) =>
  Effect.gen(function*() {
    const start = performance.now()
    yield* Effect.forEach(ids, call, { concurrency, discard: true })
    return ((performance.now() - start) * 1000) / ids.length
  })

const measure = (postgresPort: number) =>
  Effect.gen(function*() {
    const local = yield* Layer.build(NodeThreadPool.layer({ entry, minThreads: 2, maxThreads: 2 }))
    const embedded = yield* Layer.build(NodeCluster.layerEmbedded({ tasks, entry, minThreads: 2, maxThreads: 2 }))
    const client = yield* Layer.build(PgCluster.layerClient({
      postgres: { host: "127.0.0.1", port: postgresPort, database: "postgres", username: "postgres" },
      sharding
    }))
    const µs = new Map(setups.map((setup) => [setup, levels.map((): Array<number> => [])]))
    for (let round = 0; round <= rounds; round++) {
      for (const [i, level] of levels.entries()) {
        const plainIds = Array.from({ length: level.plain }, (_, n) => `${n}`)
        const durableIds = Array.from({ length: level.durable }, (_, n) => `round-${round}-${level.concurrency}-${n}`)
        const runs: Record<Setup, Effect.Effect<number, unknown>> = {
          "local pool": timeCalls(level.concurrency, plainIds, plain(local)),
          "embedded cluster": timeCalls(level.concurrency, plainIds, plain(embedded)),
          "Postgres, plain": timeCalls(level.concurrency, plainIds, plain(client)),
          "Postgres, deferOnce": timeCalls(level.concurrency, durableIds, durable(client)),
          "deferOnce repeated": timeCalls(level.concurrency, durableIds, durable(client))
        }
        // A different setup goes first each round; a repeat always comes after the calls it repeats.
        const order = setups.map((_, k) => setups[(k + round) % setups.length]!)
        if (order.indexOf("deferOnce repeated") < order.indexOf("Postgres, deferOnce")) {
          order.splice(order.indexOf("deferOnce repeated"), 1)
          order.splice(order.indexOf("Postgres, deferOnce") + 1, 0, "deferOnce repeated")
        }
        for (const setup of order) {
          const time = yield* runs[setup]
          if (round > 0) µs.get(setup)![i]!.push(time)
        }
      }
      yield* Console.error(`round ${round}/${rounds}${round === 0 ? " (warm-up)" : ""}`)
    }
    return µs
  }).pipe(Effect.scoped)

const table = (µs: ReadonlyMap<Setup, ReadonlyArray<ReadonlyArray<number>>>): string => {
  const rows = setups.map((setup) => {
    const cells = levels.map((_, i) => {
      const times = µs.get(setup)![i]!
      // Ratios are paired by round: each time against the same round's local pool and plain Postgres call.
      const toLocal = times.map((t, round) => t / µs.get("local pool")![i]![round]!)
      const toPlain = times.map((t, round) => t / µs.get("Postgres, plain")![i]![round]!)
      const plainRatio = setup.startsWith("Postgres") || setup.startsWith("deferOnce")
        ? `${format(median(toPlain), 1)} (${range(toPlain, 1)})`
        : ""
      return `${format(median(times))} (${range(times)}) | ${format(median(toLocal), 1)} (${
        range(toLocal, 1)
      }) | ${plainRatio}`
    })
    return `| ${setup} | ${cells.join(" | ")} |`
  })
  const header = levels.map((l) => `${l.concurrency} in flight: µs per call | × local pool | × plain Postgres call`)
  return [`| | ${header.join(" | ")} |`, `| --- | ${levels.map(() => "--- | --- | ---").join(" | ")} |`, ...rows]
    .join("\n")
}

const machine = (): string => {
  const commit = ChildProcess.execFileSync("git", ["rev-parse", "--short", "HEAD"]).toString().trim()
  const cpus = Os.cpus()
  return `${cpus.length} vCPUs (${cpus[0]?.model.trim()}), ${
    Math.round(Os.totalmem() / 2 ** 30)
  } GB, Node ${process.version}, commit ${commit}`
}
const load = () => Os.loadavg().map((x) => x.toFixed(1)).join(" ")

const cluster = await startCluster(3)
try {
  const before = load()
  const µs = await Effect.runPromise(measure(cluster.pg.port))
  console.log(`Measured on ${machine()}; load average ${before} before, ${load()} after; ${rounds} rounds.\n`)
  console.log(table(µs))
} finally {
  await stopCluster(cluster)
}
