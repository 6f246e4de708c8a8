/**
 * The runtime table of `pnpm bench`: workloads D (pool start + one task, in a fresh process) and A (tiny tasks per
 * second, after a warm-up run) of our two pools on Bun and Deno (`../runtimes/runtimes.ts`, each from the npm
 * registry), beside the same figures on the Node that runs the bench (the main table's, from `child.ts`: the same
 * steps in a fresh process). Each sample is `runtime-child.ts` run by that runtime; `run.ts` takes them in every
 * round, the order rotating with the round's.
 */
import { fileURLToPath } from "node:url"
import { type Runtime, runtimes } from "../runtimes/runtimes.ts"
import { fmt, table } from "./format.ts"
import { runChild } from "./lib.ts"
import type { PoolName } from "./pools/Pool.ts"
import type { RuntimeChildResult } from "./runtime-child.ts"

/** The pools measured on every runtime: ours. */
export const runtimePools = ["effect-threads", "effect-threads (pipelined)"] as const satisfies ReadonlyArray<PoolName>

/** The runtimes besides Node. */
export const otherRuntimes: ReadonlyArray<Runtime> = runtimes.filter((r) => r.name === "Bun" || r.name === "Deno")

/** One row of the table: a runtime and one of our pools. */
export interface RuntimeRow {
  readonly runtime: string
  readonly version: string
  readonly pool: typeof runtimePools[number]
}

/** Every row measured here (the other runtimes), in the table's order. */
export const rows: ReadonlyArray<RuntimeRow> = otherRuntimes.flatMap((runtime) =>
  runtimePools.map((pool) => ({ runtime: runtime.name, version: runtime.version, pool }))
)

const childPath = fileURLToPath(new URL("./runtime-child.ts", import.meta.url))

const isResult = (u: unknown): u is RuntimeChildResult =>
  typeof u === "object" && u !== null && "A_tasksPerSec" in u && "D_startMs" in u

/** One sample of a row, in a fresh process of its runtime; a string says why it failed. */
export const sample = async (row: RuntimeRow, tasks: number, warmup: number): Promise<RuntimeChildResult | string> => {
  const runtime = otherRuntimes.find((r) => r.name === row.runtime)
  if (runtime === undefined) return `${row.runtime}: not installed`
  const [binary, ...args] = runtime.command
  const { error, lines, stderr } = await runChild(
    [binary, ...args, childPath, row.pool, String(tasks), String(warmup)],
    { timeoutMs: 300_000, env: { ...process.env, NO_COLOR: "1" } }
  )
  const line = lines[0]
  const parsed: unknown = line === undefined ? undefined : JSON.parse(line)
  if (isResult(parsed)) return parsed
  return `${row.runtime} / ${row.pool}: ${error?.message ?? ""} ${stderr.slice(-2000)}`
}

/** A row's figures: medians of its samples, and their spread. */
export interface RuntimeFigures {
  readonly A_tasksPerSec: number
  readonly D_startMs: number
  readonly A: ReadonlyArray<number>
  readonly D: ReadonlyArray<number>
}

const spread = (values: ReadonlyArray<number>): string => {
  const finite = values.filter(Number.isFinite)
  return finite.length === 0 ? "n/a" : `${fmt(Math.min(...finite))} - ${fmt(Math.max(...finite))}`
}

/**
 * The table: one line per runtime and pool (Node's first), with A and D, their spread over the rounds, and their
 * ratio to the same pool on Node.
 */
export const runtimeTable = (
  node: { readonly version: string; readonly figures: (pool: RuntimeRow["pool"]) => RuntimeFigures },
  figures: ReadonlyArray<readonly [RuntimeRow, RuntimeFigures]>
): string => {
  const line = (runtime: string, pool: RuntimeRow["pool"], f: RuntimeFigures) => {
    const onNode = node.figures(pool)
    return [
      runtime,
      pool,
      fmt(f.A_tasksPerSec),
      spread(f.A),
      `${fmt(f.A_tasksPerSec / onNode.A_tasksPerSec, 2)}x`,
      fmt(f.D_startMs),
      spread(f.D),
      `${fmt(f.D_startMs / onNode.D_startMs, 2)}x`
    ]
  }
  return table(
    ["runtime", "pool", "A tasks/s", "A spread", "A / Node", "D ms", "D spread", "D / Node"],
    [
      ...runtimePools.map((pool) => line(`Node ${node.version}`, pool, node.figures(pool))),
      ...figures.map(([row, f]) => line(`${row.runtime} ${row.version}`, row.pool, f))
    ]
  )
}
