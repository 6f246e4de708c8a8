/**
 * Where a thread's start goes: `node bench/startup.ts [--samples N] [--smoke]`.
 *
 * Each round spawns, in a rotating order, one thread of each kind below, one at a time, and times it from
 * `new Worker(...)` to its `online` event, its READY and its first answer (`bench/start.ts`); then two threads that
 * time the dynamic imports of a thread's modules one after the other, without and with a warm compile cache.
 * Medians over the rounds; ratios are the median of the per-round ratios to the empty thread, and to the empty
 * thread with a warm compile cache (what figure G compares with: the pool's threads have the compile cache on).
 *
 * One more kind: `workers/ours.ts` as the pool starts it (`NodeThreadPool`'s platform: the entry bundled by rolldown,
 * the packages' code in a chunk without a source map, cached; the bundle is made during the warm-up), to show what
 * the module graph itself costs.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { availableParallelism, loadavg, tmpdir } from "node:os"
import { join } from "node:path"
import { flag, median } from "./lib.ts"
import { emptyScript, entries, importTimes, type Start, startPooled, startThread } from "./start.ts"

const args = process.argv.slice(2)
const smoke = args.includes("--smoke")
const samples = Number(flag(args, "--samples") ?? (smoke ? 1 : 11))

const warmCache = mkdtempSync(join(tmpdir(), "effect-threads-startup-warm-"))
const coldCaches: Array<string> = []
const coldCache = (): string => {
  const dir = mkdtempSync(join(tmpdir(), "effect-threads-startup-cold-"))
  coldCaches.push(dir)
  return dir
}

interface Variant {
  readonly name: string
  readonly start: () => Promise<Start>
}
const variants: ReadonlyArray<Variant> = [
  { name: "empty thread (protocol only)", start: () => startThread(entries.empty) },
  { name: "  the same as an eval'd script (no loader)", start: () => startThread(emptyScript, { eval: true }) },
  { name: "runner, no task", start: () => startThread(entries.runner) },
  { name: "runner + Schema tasks (workers/ours.ts)", start: () => startThread(entries.ours) },
  {
    name: "  the same, compile cache cold (1st start)",
    start: () => startThread(entries.ours, { compileCache: coldCache() })
  },
  {
    name: "  the same, compile cache warm (2nd start)",
    start: () => startThread(entries.ours, { compileCache: warmCache })
  },
  { name: "empty thread, compile cache warm", start: () => startThread(entries.empty, { compileCache: warmCache }) },
  { name: "ours as the pool starts it (bundled, cached)", start: () => startPooled() }
]

/** What a thread of ours imports, in the order of the runner's needs: each time is what that import adds. */
const chain = [
  "effect/Effect",
  "effect/Layer",
  "effect/Schema",
  "@effect-threads/core/ThreadRunner",
  "@effect-threads/node/NodeThreadRunner",
  "./api.ts"
]

console.log(
  `thread start-up: ${process.version}, ${availableParallelism()} cpus, ${samples} round(s), ` +
    `load average ${loadavg().map((l) => l.toFixed(2)).join(" ")}`
)
// Warm-up: the file cache, and the warm compile cache's first fill.
await startThread(entries.empty)
await startThread(entries.ours, { compileCache: warmCache })
await startThread(entries.runner)
await startPooled()

const results = variants.map(() => [] as Array<Start>)
const imports: Array<ReadonlyArray<number>> = []
const importsCached: Array<ReadonlyArray<number>> = []
for (let round = 0; round < samples; round++) {
  for (let i = 0; i < variants.length; i++) {
    const v = (i + round) % variants.length
    results[v]!.push(await variants[v]!.start())
  }
  if (round % 2 === 0) {
    imports.push(await importTimes(chain))
    importsCached.push(await importTimes(chain, { compileCache: warmCache }))
  } else {
    importsCached.push(await importTimes(chain, { compileCache: warmCache }))
    imports.push(await importTimes(chain))
  }
}
for (const dir of [warmCache, ...coldCaches]) rmSync(dir, { recursive: true, force: true })

const fmt = (n: number, digits = 1): string => Number.isFinite(n) ? n.toFixed(digits) : "n/a"
const pad = (cells: ReadonlyArray<string>, widths: ReadonlyArray<number>): string =>
  `| ${cells.map((c, i) => i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)).join(" | ")} |`
const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  return [
    pad(header, widths),
    `|${widths.map((w, i) => i === 0 ? ":" + "-".repeat(w + 1) : "-".repeat(w + 1) + ":").join("|")}|`,
    ...rows.map((r) => pad(r, widths))
  ].join("\n")
}

const empty = results[0]!
const emptyWarm = results[variants.findIndex((v) => v.name.startsWith("empty thread, compile cache warm"))]!
console.log()
console.log(table(
  [
    "thread (ms since new Worker)",
    "online",
    "READY",
    "1st answer",
    "load (READY - online)",
    "answer / empty's",
    "/ empty's, cache warm (G)"
  ],
  variants.map((variant, v) => {
    const rs = results[v]!
    return [
      variant.name,
      fmt(median(rs.map((r) => r.online))),
      fmt(median(rs.map((r) => r.ready))),
      fmt(median(rs.map((r) => r.answer))),
      fmt(median(rs.map((r) => r.ready - r.online))),
      `${fmt(median(rs.map((r, round) => r.answer / empty[round]!.answer)), 2)}x`,
      `${fmt(median(rs.map((r, round) => r.answer / emptyWarm[round]!.answer)), 2)}x`
    ]
  })
))
console.log()
console.log(table(
  ["import, after those above it (ms)", "no cache", "compile cache warm"],
  chain.map((specifier, i) => [
    specifier,
    fmt(median(imports.map((t) => t[i]!))),
    fmt(median(importsCached.map((t) => t[i]!)))
  ]).concat([[
    "all",
    fmt(median(imports.map((t) => t.reduce((a, b) => a + b, 0)))),
    fmt(median(importsCached.map((t) => t.reduce((a, b) => a + b, 0))))
  ]])
))
console.log(`\nload average after ${loadavg().map((l) => l.toFixed(2)).join(" ")}`)
