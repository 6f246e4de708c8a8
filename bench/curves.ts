/**
 * The cost curves (issue 12), run by `pnpm bench --curves` after the workloads A-G, or alone with
 * `node bench/curves.ts` (same flags). How each pool's costs grow with the work:
 *
 * - tiny tasks: 10^4, 10^5 and 10^6 tasks `i => i + 1` submitted at once: tasks per second, and the process's memory
 *   before (after a GC), at its peak (`maxRSS`, threads included), right after and after a GC;
 * - payloads of 1 KB, 64 KB and 1 MB: an object (rows), a typed array copied, the same transferred: tasks per second
 *   and MB per second (MB = 2^20 bytes);
 * - CPU-bound work (`fib`) on 1 to N threads: speedup against the same work done synchronously right before.
 *
 * Every sample runs in a fresh child process (`curves-child.ts`), one per pool (and per size, for the tiny tasks);
 * rounds are interleaved, the order of the pools rotating from round to round; figures are medians over the rounds.
 * A tiny-task sample that takes longer than the bound (`--curve-timeout`, 60 s by default) counts as
 * "n/a (over N s)", and that pool is not run at that size again.
 *
 * Options: `--smoke` (tiny sizes), `--curve-samples N` (rounds, 3 by default), `--threads N` (the speedup curve's
 * largest pool, `os.availableParallelism()` by default), `--curve-timeout S`, `--curves-out PATH` (the JSON, default
 * `bench/results/curves.json`; the SVGs are written beside it; a smoke run writes nothing unless given one); alone,
 * `--plot-only` redraws the SVGs from that JSON.
 */
import { readFileSync, writeFileSync } from "node:fs"
import { availableParallelism, loadavg } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { commit } from "./commit.ts"
import type { CpuResult, PayloadCase, PayloadKind, PayloadResult, TinyResult } from "./curves-child.ts"
import { fmt, table } from "./format.ts"
import { flag as flagOf, median, rotate, runChild as runNode } from "./lib.ts"
import { poolNames } from "./pools/Pool.ts"

export interface Options {
  readonly smoke: boolean
  readonly samples: number
  readonly threads: number
  readonly boundS: number
  readonly out: string | undefined
}

export const optionsFrom = (args: ReadonlyArray<string>): Options => {
  const flag = (name: string): string | undefined => flagOf(args, name)
  const smoke = args.includes("--smoke")
  return {
    smoke,
    samples: Number(flag("--curve-samples") ?? (smoke ? 1 : 3)),
    threads: Number(flag("--threads") ?? availableParallelism()),
    boundS: Number(flag("--curve-timeout") ?? (smoke ? 30 : 60)),
    out: flag("--curves-out") ??
      (smoke ? undefined : fileURLToPath(new URL("./results/curves.json", import.meta.url)))
  }
}

const MB = 1024 * 1024
const kinds: ReadonlyArray<PayloadKind> = ["object", "copied", "transferred"]
const payloadBytes = [1024, 64 * 1024, MB] as const
const sizesOf = (smoke: boolean) =>
  smoke
    ? { tiny: [100, 1_000], tinyWarmup: 100, payloadTasks: [20, 4, 2], cpuTasksPerThread: 4, fibN: 20 }
    : {
      tiny: [10_000, 100_000, 1_000_000],
      tinyWarmup: 10_000,
      payloadTasks: [4_000, 1_000, 64],
      cpuTasksPerThread: 40,
      fibN: 29
    }

// ---- numbers (the median and the rotation: lib.ts) ----

const round = (n: number, digits: number): number | null => Number.isFinite(n) ? Number(n.toFixed(digits)) : null
const sizeName = (bytes: number): string => bytes >= MB ? `${bytes / MB} MB` : `${bytes / 1024} KB`

// ---- children ----

const childPath = fileURLToPath(new URL("./curves-child.ts", import.meta.url))

/** Runs one child; resolves with its JSON lines, or with an error message (the lines printed before it kept). */
const runChild = async (
  args: ReadonlyArray<string>,
  timeoutMs: number
): Promise<{ lines: Array<unknown>; error: string | undefined }> => {
  // The same heap limit for every pool: 10^6 tasks in flight need several GB for some.
  const { error, lines, stderr } = await runNode(
    [process.execPath, "--expose-gc", "--max-old-space-size=12288", childPath, ...args],
    { timeoutMs }
  )
  return {
    lines: lines.map((l): unknown => JSON.parse(l)),
    error: error === null
      ? undefined
      : `${error.killed ? `killed after ${timeoutMs / 1000} s` : error.message.split("\n")[0]} ${stderr.slice(-1000)}`
  }
}

// ---- the run ----

interface TinyFigure {
  readonly tasks: number
  /** "ok", "over N s", or "failed". */
  readonly status: string
  readonly tasksPerSec: number | null
  readonly usPerTask: number | null
  readonly baselineRssMB: number | null
  readonly peakRssMB: number | null
  readonly kbPerTaskInFlight: number | null
  readonly afterRssMB: number | null
  readonly afterGcRssMB: number | null
  readonly baselineHeapMB: number | null
  readonly afterHeapMB: number | null
  readonly afterGcHeapMB: number | null
}
interface PayloadFigure {
  readonly kind: PayloadKind
  readonly bytes: number
  readonly tasks: number
  readonly tasksPerSec: number | null
  readonly MBperSec: number | null
}
interface ThreadsFigure {
  readonly threads: number
  readonly speedup: number | null
  readonly poolMs: number | null
  readonly syncMs: number | null
}
export interface Curves {
  readonly node: string
  readonly cpus: number
  readonly date: string
  readonly commit: string
  readonly samples: number
  readonly boundS: number
  readonly cpu: { readonly tasks: number; readonly fibN: number }
  readonly tiny: Record<string, ReadonlyArray<TinyFigure>>
  readonly payload: Record<string, ReadonlyArray<PayloadFigure>>
  readonly threads: Record<string, ReadonlyArray<ThreadsFigure>>
}

/** Runs the curves, prints their tables, writes the JSON and the SVGs; resolves with the failures. */
export const run = async (options: Options): Promise<Array<string>> => {
  const sizes = sizesOf(options.smoke)
  const threadCounts = Array.from({ length: Math.max(1, options.threads) }, (_, i) => i + 1)
  const cpuTasks = sizes.cpuTasksPerThread * threadCounts.length
  const failures: Array<string> = []
  const began = performance.now()
  console.log(
    `\ncost curves${options.smoke ? " (smoke)" : ""}: ${options.samples} round(s), threads 1 to ${options.threads}, ` +
      `bound ${options.boundS} s per tiny-task sample, load average ${loadavg().map((l) => l.toFixed(2)).join(" ")}`
  )

  const tinySamples = new Map<string, Array<TinyResult>>()
  const tinyStatus = new Map<string, string>()
  const payloadSamples = new Map<string, Array<PayloadResult>>()
  const cpuSamples = new Map<string, Array<CpuResult>>()
  const key = (...parts: ReadonlyArray<string | number>) => parts.join("|")
  const push = <A>(map: Map<string, Array<A>>, k: string, value: A) => {
    const list = map.get(k) ?? []
    list.push(value)
    map.set(k, list)
  }

  for (let r = 0; r < options.samples; r++) {
    const order = rotate(poolNames, r)
    for (const tasks of sizes.tiny) {
      for (const name of order) {
        const k = key(name, tasks)
        if (tinyStatus.get(k)?.startsWith("over")) continue
        const { error, lines } = await runChild(
          ["tiny", name, String(tasks), String(sizes.tinyWarmup), String(options.boundS)],
          (options.boundS + 120) * 1000
        )
        const result = lines[0] as TinyResult | undefined
        if (result?.overBound === true) tinyStatus.set(k, `over ${options.boundS} s`)
        else if (result !== undefined) push(tinySamples, k, result)
        else {
          tinyStatus.set(k, "failed")
          failures.push(`${name}: tiny ${tasks} failed: ${error ?? "no result"}`)
        }
      }
    }
    const cases: Array<PayloadCase> = payloadBytes.flatMap((bytes, i) =>
      kinds.map((kind) => ({ kind, bytes, tasks: sizes.payloadTasks[i]! }))
    )
    for (const name of order) {
      const { error, lines } = await runChild(
        ["payload", name, JSON.stringify(rotate(cases, r))],
        options.boundS * 10 * 1000
      )
      for (const line of lines as Array<PayloadResult>) push(payloadSamples, key(name, line.kind, line.bytes), line)
      if (error !== undefined) failures.push(`${name}: payloads failed: ${error}`)
    }
    for (const name of order) {
      const { error, lines } = await runChild(
        ["cpu", name, JSON.stringify(threadCounts), String(cpuTasks), String(sizes.fibN)],
        options.boundS * 10 * 1000
      )
      for (const line of lines as Array<CpuResult>) push(cpuSamples, key(name, line.threads), line)
      if (error !== undefined) failures.push(`${name}: CPU curve failed: ${error}`)
    }
    console.log(
      `curves round ${r + 1}/${options.samples} done at ${((performance.now() - began) / 1000).toFixed(0)} s`
    )
  }

  // ---- figures ----

  const of = <A>(list: ReadonlyArray<A> | undefined, get: (a: A) => number) => median((list ?? []).map(get))
  const tiny = Object.fromEntries(poolNames.map((name) => [
    name,
    sizes.tiny.map((tasks): TinyFigure => {
      const list = tinySamples.get(key(name, tasks))
      const status = tinyStatus.get(key(name, tasks)) ?? (list === undefined ? "failed" : "ok")
      const tasksPerSec = status === "ok" ? of(list, (s) => s.tasksPerSec) : NaN
      const m = (get: (s: TinyResult) => number) => status === "ok" ? of(list, get) : NaN
      return {
        tasks,
        status,
        tasksPerSec: round(tasksPerSec, 0),
        usPerTask: round(1e6 / tasksPerSec, 2),
        baselineRssMB: round(m((s) => s.baselineRssMB), 1),
        peakRssMB: round(m((s) => s.peakRssMB), 1),
        kbPerTaskInFlight: round(m((s) => ((s.peakRssMB - s.baselineRssMB) * 1024) / tasks), 2),
        afterRssMB: round(m((s) => s.afterRssMB), 1),
        afterGcRssMB: round(m((s) => s.afterGcRssMB), 1),
        baselineHeapMB: round(m((s) => s.baselineHeapMB), 1),
        afterHeapMB: round(m((s) => s.afterHeapMB), 1),
        afterGcHeapMB: round(m((s) => s.afterGcHeapMB), 1)
      }
    })
  ]))
  const payload = Object.fromEntries(poolNames.map((name) => [
    name,
    payloadBytes.flatMap((bytes, i) =>
      kinds.map((kind): PayloadFigure => {
        const tasks = sizes.payloadTasks[i]!
        const seconds = of(payloadSamples.get(key(name, kind, bytes)), (s) => s.seconds)
        return {
          kind,
          bytes,
          tasks,
          tasksPerSec: round(tasks / seconds, 0),
          MBperSec: round((tasks * bytes) / MB / seconds, 1)
        }
      })
    )
  ]))
  const threads = Object.fromEntries(poolNames.map((name) => [
    name,
    threadCounts.map((n): ThreadsFigure => {
      const list = cpuSamples.get(key(name, n))
      return {
        threads: n,
        speedup: round(of(list, (s) => s.syncMs / s.poolMs), 2),
        poolMs: round(of(list, (s) => s.poolMs), 1),
        syncMs: round(of(list, (s) => s.syncMs), 1)
      }
    })
  ]))
  const curves: Curves = {
    node: process.version,
    cpus: availableParallelism(),
    date: new Date().toISOString(),
    commit: commit(),
    samples: options.samples,
    boundS: options.boundS,
    cpu: { tasks: cpuTasks, fibN: sizes.fibN },
    tiny,
    payload,
    threads
  }

  // ---- tables ----

  const cell = (f: TinyFigure, value: number | null, digits = 0) =>
    f.status === "ok" ? fmt(value ?? NaN, digits) : `n/a (${f.status})`
  const count = (n: number) => n >= 10_000 ? `10^${Math.round(Math.log10(n))}` : fmt(n)
  console.log(`\nTiny tasks submitted at once: tasks/s (µs per task); medians of ${options.samples} round(s)\n`)
  console.log(table(
    ["pool", ...sizes.tiny.map((n) => `${count(n)} tasks/s`), ...sizes.tiny.map((n) => `${count(n)} µs`)],
    poolNames.map((name) => [
      name,
      ...tiny[name]!.map((f) => cell(f, f.tasksPerSec)),
      ...tiny[name]!.map((f) => cell(f, f.usPerTask, 1))
    ])
  ))
  const largest = sizes.tiny.length - 1
  console.log(
    `\nMemory, MB: RSS before (after a GC), peak RSS, KB per task in flight ((peak - before) / tasks); ` +
      `at ${count(sizes.tiny[largest]!)}: RSS and heap right after and after a GC\n`
  )
  console.log(table(
    [
      "pool",
      "RSS before",
      ...sizes.tiny.map((n) => `peak ${count(n)}`),
      ...sizes.tiny.map((n) => `KB/task ${count(n)}`),
      "RSS after",
      "after GC",
      "heap before",
      "heap after",
      "after GC "
    ],
    poolNames.map((name) => {
      const fs = tiny[name]!
      const last = fs[largest]!
      return [
        name,
        cell(fs[0]!, fs[0]!.baselineRssMB),
        ...fs.map((f) => cell(f, f.peakRssMB)),
        ...fs.map((f) => cell(f, f.kbPerTaskInFlight, 2)),
        cell(last, last.afterRssMB),
        cell(last, last.afterGcRssMB),
        cell(last, last.baselineHeapMB, 1),
        cell(last, last.afterHeapMB, 1),
        cell(last, last.afterGcHeapMB, 1)
      ]
    })
  ))
  const payloadTable = (what: "MBperSec" | "tasksPerSec", digits: number) =>
    table(
      ["pool", ...payloadBytes.flatMap((bytes) => kinds.map((kind) => `${sizeName(bytes)} ${kind}`))],
      poolNames.map((name) => [name, ...payload[name]!.map((f) => fmt(f[what] ?? NaN, digits))])
    )
  console.log(
    `\nPayloads submitted at once (${
      payloadBytes.map((b, i) => `${sizes.payloadTasks[i]} x ${sizeName(b)}`).join(", ")
    }): MB/s\n`
  )
  console.log(payloadTable("MBperSec", 1))
  console.log("\nThe same, tasks/s\n")
  console.log(payloadTable("tasksPerSec", 0))
  console.log(
    `\nCPU-bound: ${cpuTasks} x fib(${sizes.fibN}) submitted at once to a pool of 1 to ${options.threads} ` +
      `thread(s): speedup against the same work synchronously right before\n`
  )
  console.log(table(
    ["pool", ...threadCounts.map((n) => `${n} thread${n === 1 ? "" : "s"}`), `per thread at ${options.threads}`],
    poolNames.map((name) => {
      const fs = threads[name]!
      return [name, ...fs.map((f) => fmt(f.speedup ?? NaN, 2)), fmt((fs.at(-1)!.speedup ?? NaN) / options.threads, 2)]
    })
  ))
  console.log(`\ncost curves took ${((performance.now() - began) / 1000).toFixed(0)} s`)

  if (options.out !== undefined) {
    writeFileSync(options.out, `${JSON.stringify(curves, null, 2)}\n`)
    const written = await plot(curves, dirname(options.out))
    console.log(`wrote ${[options.out, ...written].join(", ")}`)
  }
  return failures
}

// ---- the plots (vega-lite, rendered to SVG by vega without a browser) ----

export const plot = async (curves: Curves, dir: string): Promise<Array<string>> => {
  const vega = await import("vega")
  const vl = await import("vega-lite")
  const pool = { field: "pool", type: "nominal", sort: [...poolNames], title: "pool" } as const
  const line = { type: "line", point: true, tooltip: false } as const
  const width = 300
  const height = 220
  const tinyValues = poolNames.flatMap((name) =>
    (curves.tiny[name] ?? []).filter((f) => f.status === "ok").map((f) => ({ pool: name, ...f }))
  )
  const payloadValues = poolNames.flatMap((name) => (curves.payload[name] ?? []).map((f) => ({ pool: name, ...f })))
  const threadValues = poolNames.flatMap((name) => (curves.threads[name] ?? []).map((f) => ({ pool: name, ...f })))
  /** One panel of the tiny tasks' plot: `field` against the number of tasks, both on log scales. */
  const tinyPanel = (field: string, title: string) => ({
    width,
    height,
    mark: line,
    encoding: {
      x: { field: "tasks", type: "quantitative", scale: { type: "log" }, title: "tasks" },
      y: { field, type: "quantitative", scale: { type: "log" }, title },
      color: pool
    }
  })
  const subtitle = `${curves.node}, ${curves.cpus} cpus, ${curves.commit}, medians of ${curves.samples} round(s)`
  const specs: Record<string, object> = {
    "curves-tiny.svg": {
      title: { text: "Tiny tasks submitted at once", subtitle },
      data: { values: tinyValues },
      hconcat: [tinyPanel("tasksPerSec", "tasks per second"), tinyPanel("peakRssMB", "peak RSS, MB")]
    },
    "curves-payload.svg": {
      title: { text: "Payloads submitted at once", subtitle },
      data: { values: payloadValues },
      facet: { column: { field: "kind", type: "nominal", sort: [...kinds], title: null } },
      spec: {
        width: 220,
        height,
        mark: line,
        encoding: {
          x: {
            field: "bytes",
            type: "quantitative",
            scale: { type: "log" },
            axis: {
              values: [...payloadBytes],
              labelExpr: "datum.value >= 1048576 ? '1 MB' : datum.value / 1024 + ' KB'"
            },
            title: "payload"
          },
          y: { field: "MBperSec", type: "quantitative", scale: { type: "log" }, title: "MB per second" },
          color: pool
        }
      }
    },
    "curves-threads.svg": {
      title: {
        text: `CPU-bound: ${curves.cpu.tasks} x fib(${curves.cpu.fibN}) against the number of threads`,
        subtitle
      },
      width,
      height,
      data: { values: threadValues },
      layer: [
        {
          mark: line,
          encoding: {
            x: { field: "threads", type: "quantitative", axis: { tickMinStep: 1 }, title: "threads" },
            y: { field: "speedup", type: "quantitative", title: "speedup over the main thread alone" },
            color: pool
          }
        },
        {
          mark: { type: "line", strokeDash: [4, 4], color: "gray" },
          encoding: { x: { field: "threads", type: "quantitative" }, y: { field: "threads", type: "quantitative" } }
        }
      ]
    }
  }
  const written: Array<string> = []
  for (const [file, spec] of Object.entries(specs)) {
    const compiled = vl.compile(
      { config: { background: "white", legend: { labelLimit: 240 } }, ...spec } as Parameters<typeof vl.compile>[0]
    )
    const view = new vega.View(vega.parse(compiled.spec), { renderer: "none" })
    const path = join(dir, file)
    writeFileSync(path, `${await view.toSVG()}\n`)
    view.finalize()
    written.push(path)
  }
  return written
}

if (import.meta.main && process.argv.includes("--plot-only")) {
  // Redraws the SVGs from the JSON of an earlier run.
  const out = optionsFrom(process.argv.slice(2).filter((a) => a !== "--smoke")).out!
  const curves = JSON.parse(readFileSync(out, "utf8")) as Curves
  console.log(`wrote ${(await plot(curves, dirname(out))).join(", ")}`)
} else if (import.meta.main) {
  const failures = await run(optionsFrom(process.argv.slice(2)))
  if (failures.length > 0) {
    console.error(`\n${failures.length} failure(s):\n${failures.join("\n")}`)
    process.exitCode = 1
  }
}
