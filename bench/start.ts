/**
 * A thread's start, measured from the main thread: spawn a `Worker` on an entry that speaks the runner's protocol,
 * and time its `online` event (the thread runs JavaScript), its first message (`[[READY]]`: the entry has loaded)
 * and the answer to one `AddOne` request posted on READY. The thread is then closed and awaited to its exit (a
 * natural exit, so that Node's compile cache, when the thread has one, is written).
 *
 * Used by `bench/run.ts` (figure G: our thread's start against an empty thread's) and by `bench/startup.ts` (the
 * breakdown).
 */
import { type ThreadHandle, ThreadPlatform, type ThreadPlatformShape } from "@effect-threads/core/ThreadPlatform"
import * as ThreadPool from "@effect-threads/core/ThreadPool"
import * as NodeThreadPool from "@effect-threads/node/NodeThreadPool"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { Worker } from "node:worker_threads"
import * as Bundle from "../packages/node/src/internal/bundle.ts"
import * as Entries from "../packages/node/src/internal/entries.ts"
import { runChild } from "./lib.ts"
import { Exit } from "./workers/api.ts"

/** Milliseconds since `new Worker(...)`. */
export interface Start {
  readonly online: number
  readonly ready: number
  readonly answer: number
}

export const entries = {
  /** Speaks the protocol, imports nothing: the baseline. */
  empty: new URL("./workers/empty.ts", import.meta.url),
  /** `NodeThreadRunner.serve([])`. */
  runner: new URL("./workers/runner.ts", import.meta.url),
  /** The bench's worker entry: the runner and two tasks declared with `Task.make` and `Schema.Number`. */
  ours: new URL("./workers/ours.ts", import.meta.url)
} as const

/** The empty thread as a script evaluated in the thread: no file, no module loader, no type stripping. */
export const emptyScript = `const { parentPort: port } = require("node:worker_threads")
port.on("message", (batch) => {
  for (const m of batch) {
    if (m[0] === 0) port.postMessage([[0, m[1], 0, m[3] + 1]])
    else if (m[0] === 4) port.close()
  }
})
port.postMessage([[2]])`

/** The environment of a thread: the process's, with Node's compile cache in `compileCache` or none at all. */
const envWith = (compileCache: string | undefined): Record<string, string | undefined> => {
  const { NODE_COMPILE_CACHE: _, ...env } = process.env
  return compileCache === undefined ? env : { ...env, NODE_COMPILE_CACHE: compileCache }
}

const timeoutMs = 60_000

/** Starts a thread on `entry` (a file, or a script when `options.eval`), then closes it: its {@link Start}. */
export const startThread = (
  entry: URL | string,
  options?: { readonly compileCache?: string | undefined; readonly eval?: boolean | undefined }
): Promise<Start> =>
  new Promise((resolve, reject) => {
    const name = typeof entry === "string" ? "a script" : entry.pathname
    const spawned = performance.now()
    const worker = new Worker(entry, { env: envWith(options?.compileCache), eval: options?.eval === true })
    let online = NaN
    let ready = NaN
    let answer = NaN
    const timer = setTimeout(() => {
      void worker.terminate()
      reject(new Error(`${name}: no answer within ${timeoutMs} ms`))
    }, timeoutMs)
    worker.once("online", () => {
      online = performance.now() - spawned
    })
    worker.on("message", (batch: ReadonlyArray<ReadonlyArray<unknown>>) => {
      if (Number.isNaN(ready)) {
        ready = performance.now() - spawned
        if (batch[0]?.[0] !== 2) reject(new Error(`${name}: the first message is not READY`))
        worker.postMessage([[0, 1, "AddOne", 1]])
      } else if (Number.isNaN(answer)) {
        answer = performance.now() - spawned
        worker.postMessage([[4]])
      }
    })
    worker.once("error", (error) => {
      clearTimeout(timer)
      reject(error)
    })
    worker.once("exit", () => {
      clearTimeout(timer)
      if (Number.isNaN(answer)) reject(new Error(`${name}: the thread exited before it answered`))
      else resolve({ online, ready, answer })
    })
  })

/** Times `specifiers`' dynamic imports one after the other in a fresh thread: what each adds, in ms. */
export const importTimes = (
  specifiers: ReadonlyArray<string>,
  options?: { readonly compileCache?: string | undefined }
): Promise<ReadonlyArray<number>> =>
  new Promise((resolve, reject) => {
    const worker = new Worker(new URL("./workers/imports.ts", import.meta.url), {
      workerData: specifiers,
      env: envWith(options?.compileCache)
    })
    let times: ReadonlyArray<number> | undefined
    worker.once("message", (message: ReadonlyArray<number>) => {
      times = message
    })
    worker.once("error", reject)
    worker.once("exit", () => times === undefined ? reject(new Error("imports.ts posted nothing")) : resolve(times))
  })

/** One sample of figure G: an empty thread and ours, spawn to first answer, in `order`. */
export interface GSample {
  /** The empty thread, with the compile cache the pool's threads have (Node's default directory). */
  readonly emptyMs: number
  /** Ours as the pool starts it (`NodeThreadPool.layerPlatform`'s spawn: the cache's check, the bundle). */
  readonly oursMs: number
  /** Ours from `workers/ours.ts` as it is, no compile cache (figure G before issue 21). */
  readonly plainMs: number
}

/** The compile cache directory the pool's threads use by default. */
const defaultCompileCache = join(tmpdir(), "node-compile-cache")

/** The platform service, as an effect. */
const thePlatform: Effect.Effect<ThreadPlatformShape, never, ThreadPlatform> = Effect.gen(function*() {
  return yield* ThreadPlatform
})

/** The platform of our pool on `workers/ours.ts`, with its defaults (bundled, compile cache on). */
const platformOf = (options?: { readonly cacheDir?: string | undefined }): ThreadPlatformShape =>
  Effect.runSync(Effect.provide(
    thePlatform,
    NodeThreadPool.layerPlatform({
      entry: entries.ours,
      name: "G",
      ...(options?.cacheDir === undefined ? {} : { bundle: { cacheDir: options.cacheDir } })
    })
  ))
let platform: ThreadPlatformShape | undefined

/** Starts one of our threads through the pool's platform, then closes it: ms to READY and to its first answer. */
export const startPooled = (on: ThreadPlatformShape = platform ??= platformOf()): Promise<Start> =>
  new Promise((resolve, reject) => {
    const spawned = performance.now()
    let ready = NaN
    let answer = NaN
    const timer = setTimeout(() => reject(new Error(`a pooled thread: no answer within ${timeoutMs} ms`)), timeoutMs)
    const handle: ThreadHandle = on.spawn(1, {
      onBatch: () => {
        if (Number.isNaN(ready)) {
          ready = performance.now() - spawned
          handle.post([[0, 1, "AddOne", 1]], [])
        } else if (Number.isNaN(answer)) {
          answer = performance.now() - spawned
          handle.post([[4]], [])
        }
      },
      onExit: (exit) => {
        clearTimeout(timer)
        if (Number.isNaN(answer)) reject(new Error(`a pooled thread exited before it answered: ${String(exit.error)}`))
        else resolve({ online: NaN, ready, answer })
      }
    })
  })

export const sample = async (emptyFirst: boolean): Promise<GSample> => {
  const empty = emptyFirst ? await startThread(entries.empty, { compileCache: defaultCompileCache }) : undefined
  const ours = await startPooled()
  const plain = await startThread(entries.ours)
  const emptyAfter = emptyFirst ? empty! : await startThread(entries.empty, { compileCache: defaultCompileCache })
  return { emptyMs: emptyAfter.answer, oursMs: ours.answer, plainMs: plain.answer }
}

/** Once per round: the other start-up figures of issue 21. */
export interface StartUpSample {
  /** D (create, one task, close; 2 threads) in a fresh process whose bundle cache is empty: bundle, then start. */
  readonly dColdMs: number
  /** A crash's replacement: spawn to READY of the thread the pool starts after one exited mid-task. */
  readonly replacementMs: number
  /** An empty thread to READY, right after (the same compile cache). */
  readonly emptyReadyMs: number
  /** The cache's check made at every start, µs (the mean of 200 checks). */
  readonly checkUs: number
}

const childPath = fileURLToPath(new URL("./child.ts", import.meta.url))

/** D with an empty bundle cache, in a fresh process (`child.ts` with a small A after it). */
const coldD = async (): Promise<number> => {
  const cacheDir = mkdtempSync(join(tmpdir(), "effect-threads-bench-cold-"))
  try {
    const { lines, stderr } = await runChild([process.execPath, childPath, "effect-threads", "100", "10"], {
      timeoutMs: 120_000,
      env: { ...process.env, BENCH_BUNDLE_CACHE: cacheDir }
    })
    const result = lines[0] === undefined ? undefined : (JSON.parse(lines[0]) as { D_startMs?: unknown })
    if (typeof result?.D_startMs !== "number") throw new Error(`D cold: the child failed: ${stderr.slice(-1000)}`)
    return result.D_startMs
  } finally {
    rmSync(cacheDir, { recursive: true, force: true })
  }
}

/** A pool of one thread whose thread exits mid-task: the replacement's spawn to READY. */
const replacement = (): Promise<number> => {
  const readyAt = new Map<number, number>()
  let replaced: (ms: number) => void = () => undefined
  const done = new Promise<number>((resolve) => (replaced = resolve))
  const timed = Layer.effect(ThreadPlatform)(Effect.map(thePlatform, (inner) =>
    ThreadPlatform.of({
      spawn: (id, events) => {
        const spawned = performance.now()
        return inner.spawn(id, {
          onBatch: (batch) => {
            if (!readyAt.has(id)) {
              readyAt.set(id, performance.now() - spawned)
              if (id > 1) replaced(readyAt.get(id)!)
            }
            events.onBatch(batch)
          },
          onExit: events.onExit
        })
      }
    }))).pipe(Layer.provide(NodeThreadPool.layerPlatform({ entry: entries.ours, name: "G-replacement" })))
  return Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const pool = yield* Layer.build(ThreadPool.layer({ minThreads: 1, maxThreads: 1 }).pipe(Layer.provide(timed)))
    yield* Effect.exit(Context.get(pool, ThreadPool.ThreadPool).deferToThread(Exit, 1))
    return yield* Effect.promise(() => done)
  })))
}

/** The cache's check, as every start makes it (warm: the bundle is current), in µs. */
const checkCost = (): number => {
  const next = Entries.next({ entry: entries.ours, cacheDir: undefined, conditions: [], warn: () => undefined })
  const first = next()
  if (first instanceof Promise || !first.bundled) throw new Error("the check: the bundle is not current")
  const began = performance.now()
  for (let i = 0; i < 200; i++) next()
  return ((performance.now() - began) * 1000) / 200
}

export const startUpSample = async (): Promise<StartUpSample> => {
  const dColdMs = await coldD()
  const replacementMs = await replacement()
  const emptyReadyMs = (await startThread(entries.empty, { compileCache: defaultCompileCache })).ready
  return { dColdMs, replacementMs, emptyReadyMs, checkUs: checkCost() }
}

/**
 * The bundle's size in bytes (its chunks: the entry's, the packages' that run first, any loaded later), its maps'
 * (only chunks of the user's code have one), and how many files the check stats.
 */
export const bundleSize = (): {
  readonly bundleBytes: number
  readonly mapBytes: number
  readonly chunks: number
  readonly inputs: number
} => {
  const start = Entries.next({ entry: entries.ours, cacheDir: undefined, conditions: [], warn: () => undefined })()
  if (start instanceof Promise || !start.bundled) throw new Error("the bundle is not current")
  const file = fileURLToPath(start.entry).replace(/\.start\.mjs$/, ".mjs")
  // the manifest is the bundle's stem: its name without the content hash
  const manifestFile = `${file.slice(0, -(".mjs".length + Bundle.hashLength + 1))}.json`
  const manifest = JSON.parse(readFileSync(manifestFile, "utf8")) as {
    inputs: ReadonlyArray<unknown>
    chunks?: ReadonlyArray<string>
  }
  const files = [file, ...(manifest.chunks ?? []).map((chunk) => join(dirname(file), chunk))]
  const size = (path: string): number => statSync(path, { throwIfNoEntry: false })?.size ?? 0
  return {
    bundleBytes: files.reduce((sum, path) => sum + size(path), 0),
    mapBytes: files.reduce((sum, path) => sum + size(`${path}.map`), 0),
    chunks: files.length,
    inputs: manifest.inputs.length
  }
}

const med = (values: ReadonlyArray<number>): number => {
  const sorted = values.filter(Number.isFinite).toSorted((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length === 0 ? NaN : sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}
const r = (n: number, digits: number): number => Number.isFinite(n) ? Number(n.toFixed(digits)) : NaN

/**
 * Figure G and the start-up figures of issue 21, for `run.ts`: the JSON block and the lines it prints. `dOurs` and
 * `dPiscina` are D per round (ours with the bundle cached, from the main table), for the ratios within each round.
 */
export const summarize = (
  g: ReadonlyArray<GSample>,
  s: ReadonlyArray<StartUpSample>,
  dOurs: ReadonlyArray<number>,
  dPiscina: ReadonlyArray<number>
): { readonly json: Record<string, number>; readonly text: string } => {
  const size = bundleSize()
  const json = {
    samples: g.length,
    thread_ms: r(med(g.map((x) => x.oursMs)), 1),
    empty_ms: r(med(g.map((x) => x.emptyMs)), 1),
    thread_vs_empty: r(med(g.map((x) => x.oursMs / x.emptyMs)), 2),
    unbundled_ms: r(med(g.map((x) => x.plainMs)), 1),
    unbundled_vs_empty: r(med(g.map((x) => x.plainMs / x.emptyMs)), 2),
    replacement_ready_ms: r(med(s.map((x) => x.replacementMs)), 1),
    replacement_vs_empty: r(med(s.map((x) => x.replacementMs / x.emptyReadyMs)), 2),
    D_warm_vs_piscina: r(med(dOurs.map((d, i) => d / dPiscina[i]!)), 2),
    D_cold_ms: r(med(s.map((x) => x.dColdMs)), 1),
    D_cold_vs_piscina: r(med(s.map((x, i) => x.dColdMs / dPiscina[i]!)), 2),
    check_us: r(med(s.map((x) => x.checkUs)), 1),
    bundle_bytes: size.bundleBytes,
    map_bytes: size.mapBytes,
    chunks: size.chunks,
    inputs: size.inputs
  }
  const verdict = (ratio: number, target: number): string => `${ratio <= target ? "met" : "MISSED"}`
  const text = [
    `G (a thread's start, spawn to first answer, median of ${json.samples}): ours as the pool starts it (bundled) ` +
    `${json.thread_ms} ms, an empty thread ${json.empty_ms} ms: ${json.thread_vs_empty}x (target <= 1.2x: ` +
    `${verdict(json.thread_vs_empty, 1.2)}); workers/ours.ts unbundled, no compile cache, ${json.unbundled_ms} ms ` +
    `(${json.unbundled_vs_empty}x)`,
    `A crash's replacement thread, spawn to READY: ${json.replacement_ready_ms} ms, ${json.replacement_vs_empty}x an ` +
    `empty thread's (target <= 1.2x: ${verdict(json.replacement_vs_empty, 1.2)})`,
    `D with the bundle cached: ${json.D_warm_vs_piscina}x piscina (target <= 1.0x: ` +
    `${verdict(json.D_warm_vs_piscina, 1)}); the first-ever D (empty cache: bundle, then start): ` +
    `${json.D_cold_ms} ms, ${json.D_cold_vs_piscina}x piscina`,
    `The bundle of workers/ours.ts: ${(json.bundle_bytes / 1024).toFixed(0)} KB in ${json.chunks} chunks, its ` +
    `map ${(json.map_bytes / 1024).toFixed(0)} KB (the user's chunk only); the check made at every start: ` +
    `${json.check_us} µs (the process's first start stats all ${json.inputs} inputs, later ones those outside ` +
    `node_modules)`
  ].join("\n")
  return { json, text }
}
