/**
 * The start-up figures of `pnpm bench` alone (issue 21: D, G, a crash's replacement, the first-ever D, the check):
 * `node bench/startup-figures.ts [--samples N] [--smoke] [--out PATH]`.
 *
 * Each round, as `run.ts` takes them: D for effect-threads and piscina in a fresh process each (`child.ts`, a small
 * A after it, which is not read), in a rotating order; three pairs of G (`start.ts`); then a crash's replacement,
 * the first-ever D (an empty bundle cache) and the check's cost. Prints the same lines as `pnpm bench`, and D's
 * medians; `--out` writes the JSON block there. A few minutes for 5 rounds, against `pnpm bench`'s eight or more.
 */
import { writeFileSync } from "node:fs"
import { availableParallelism, loadavg } from "node:os"
import { fileURLToPath } from "node:url"
import type { ChildResult } from "./child.ts"
import { flag, median, rotate, runChild } from "./lib.ts"
import * as G from "./start.ts"

const args = process.argv.slice(2)
const smoke = args.includes("--smoke")
const samples = Number(flag(args, "--samples") ?? (smoke ? 1 : 5))
const out = flag(args, "--out")
const threadStarts = smoke ? 1 : 3
const pools = ["effect-threads", "piscina"] as const

const childPath = fileURLToPath(new URL("./child.ts", import.meta.url))

/** D of one pool in a fresh process. */
const d = async (name: string): Promise<number> => {
  const { lines, stderr, error } = await runChild([process.execPath, childPath, name, "1000", "100"], {
    timeoutMs: 120_000
  })
  const result = lines[0] === undefined ? undefined : (JSON.parse(lines[0]) as Partial<ChildResult>)
  if (typeof result?.D_startMs !== "number") {
    throw new Error(`${name}: the child failed: ${error?.message ?? ""} ${stderr.slice(-1000)}`)
  }
  return result.D_startMs
}

const loadBefore = loadavg()
console.log(
  `start-up figures: ${process.version}, ${availableParallelism()} cpus, ${samples} round(s), load average ` +
    loadBefore.map((l) => l.toFixed(2)).join(" ")
)
await G.sample(true) // warm-up: the bundle made if it is not, the file cache

const dSamples = new Map<string, Array<number>>(pools.map((name) => [name, []]))
const gSamples: Array<G.GSample> = []
const startUps: Array<G.StartUpSample> = []
for (let round = 0; round < samples; round++) {
  for (const name of rotate(pools, round)) dSamples.get(name)!.push(await d(name))
  for (let i = 0; i < threadStarts; i++) gSamples.push(await G.sample((round + i) % 2 === 0))
  startUps.push(await G.startUpSample())
}

const ours = dSamples.get("effect-threads")!
const piscina = dSamples.get("piscina")!
const block = G.summarize(gSamples, startUps, ours, piscina)
console.log(
  `\nD (create a pool of 2 threads, one task, close; a fresh process): effect-threads ${median(ours).toFixed(1)} ms, ` +
    `piscina ${median(piscina).toFixed(1)} ms (per round: ${ours.map((x) => x.toFixed(0)).join(", ")} against ` +
    `${piscina.map((x) => x.toFixed(0)).join(", ")})`
)
console.log(block.text)
console.log(`load average after ${loadavg().map((l) => l.toFixed(2)).join(" ")}`)
if (out !== undefined) {
  const D = { effect_threads_ms: median(ours), piscina_ms: median(piscina) }
  writeFileSync(out, `${JSON.stringify({ load: [loadBefore, loadavg()], D, startUp: block.json }, null, 2)}\n`)
}
