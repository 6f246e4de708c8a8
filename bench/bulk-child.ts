/**
 * One sample of the bulk workloads (`bulk.ts`), in a fresh process, so that one contender's heap never counts against
 * another's. Prints one JSON line.
 *
 * - `tiny <contender> <tasks> <warm-up>`: `tasks` tiny tasks (`i => i + 1`) after a warm-up run of the same size:
 *   tasks per second, and the process's peak RSS (`maxRSS`, threads included).
 * - `cpu <tasks> <fib n> <mix tasks>`: C's shape (`tasks` x `fib(n)`) through `forEach` and through raw (one message a
 *   task), each right after the same work done synchronously here: the speedups. Then the heavy-tailed mix (`mix
 *   tasks` tasks of `fib(n - 10)`, one in a hundred `fib(n)`) through `forEach`, against its best possible makespan on
 *   two threads (the synchronous time of the mix, halved).
 */
import * as ThreadPool from "@effect-threads/core/ThreadPool"
import * as NodeThreadPool from "@effect-threads/node/NodeThreadPool"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { readFileSync } from "node:fs"
import { Worker } from "node:worker_threads"
import { inputs, tinySum } from "./pools/Pool.ts"
import { AddOne, Fib } from "./workers/api.ts"
import { fib } from "./workers/fib.ts"

/** The contenders of the tiny-task row. */
export const contenders = ["forEach", "mapStream", "raw (batched)", "poolifier (per task)", "raw (per task)"] as const

export type Contender = typeof contenders[number]

export interface TinyResult {
  readonly tasksPerSec: number
  readonly rssMB: number
}

export interface CpuResult {
  readonly forEachSpeedup: number
  readonly rawSpeedup: number
  /** The mix's makespan through `forEach` over its best possible on two threads. */
  readonly mixRatio: number
  readonly mixMs: number
  readonly mixBestMs: number
}

interface Runner {
  readonly tiny: (count: number) => Promise<number>
  readonly fib: (ns: ReadonlyArray<number>) => Promise<void>
  readonly close: () => Promise<void>
}

/** Our pool, two threads, defaults: the bulk calls. */
const ours = async (stream: boolean): Promise<Runner> => {
  const entry = new URL("./workers/ours.ts", import.meta.url)
  const scope = Effect.runSync(Scope.make())
  const context = await Effect.runPromise(
    Layer.buildWithScope(NodeThreadPool.layer({ entry, minThreads: 2, maxThreads: 2 }), scope)
  )
  const sum = (results: ReadonlyArray<number>): number => results.reduce((a, b) => a + b, 0)
  const run = <A, E>(effect: Effect.Effect<A, E, ThreadPool.Executor>) =>
    Effect.runPromise(Effect.provide(effect, context as Context.Context<ThreadPool.Executor>))
  return {
    tiny: (count) =>
      run(
        stream
          ? Stream.fromIterable(inputs(count)).pipe(ThreadPool.mapStream(AddOne), Stream.runCollect, Effect.map(sum))
          : Effect.map(ThreadPool.forEach(AddOne, inputs(count)), sum)
      ),
    fib: (ns) => run(ThreadPool.forEach(Fib, ns, { discard: true })),
    close: () => Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

/** Two `worker_threads`, one message per batch of 1,000 (the tiny tasks) or per task (`fib`), round robin. */
const rawBatched = (): Runner => {
  const entry = new URL("./workers/raw-batched.ts", import.meta.url)
  const workers = [new Worker(entry), new Worker(entry)]
  const pending = new Map<number, (outputs: ReadonlyArray<number>) => void>()
  let nextId = 0
  for (const worker of workers) {
    worker.on("message", ([id, outputs]: [number, ReadonlyArray<number>]) => {
      const resolve = pending.get(id)
      pending.delete(id)
      resolve?.(outputs)
    })
  }
  const post = (op: number, batch: ReadonlyArray<number>) =>
    new Promise<ReadonlyArray<number>>((resolve) => {
      const id = nextId++
      pending.set(id, resolve)
      workers[id % workers.length]!.postMessage([id, op, batch])
    })
  return {
    tiny: async (count) => {
      const all = inputs(count)
      const batches: Array<Promise<ReadonlyArray<number>>> = []
      for (let i = 0; i < count; i += 1_000) batches.push(post(0, all.slice(i, i + 1_000)))
      let sum = 0
      for (const outputs of await Promise.all(batches)) for (const output of outputs) sum += output
      return sum
    },
    fib: async (ns) => {
      await Promise.all(ns.map((n) => post(1, [n])))
    },
    close: async () => {
      await Promise.all(workers.map((worker) => worker.terminate()))
    }
  }
}

/** A runner of `bench/pools/` (one task a message). */
const perTask = async (name: "poolifier" | "raw"): Promise<Runner> => {
  const { load } = await import("./pools/Pool.ts")
  const pool = await (await load(name)).make()
  return { tiny: pool.tiny, fib: async () => {}, close: pool.close }
}

const make = (contender: Contender): Promise<Runner> | Runner => {
  switch (contender) {
    case "forEach":
      return ours(false)
    case "mapStream":
      return ours(true)
    case "raw (batched)":
      return rawBatched()
    case "poolifier (per task)":
      return perTask("poolifier")
    case "raw (per task)":
      return perTask("raw")
  }
}

/**
 * The process's peak RSS, threads included, in MB: Linux's `VmHWM` (the high-water mark of this process's own memory,
 * which starts afresh at `exec`), else `maxRSS`. On Linux `maxRSS` is carried across `fork` and `exec`: a child of a
 * large parent (`run.ts` after its rounds) reports at least the parent's size.
 */
const peakRssMB = (): number => {
  try {
    const hwm = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync("/proc/self/status", "utf8"))
    if (hwm !== null) return Number(hwm[1]) / 1024
  } catch {
    // Not Linux: maxRSS below.
  }
  return process.resourceUsage().maxRSS / 1024
}

const tiny = async (contender: Contender, tasks: number, warmup: number): Promise<TinyResult> => {
  const runner = await make(contender)
  await runner.tiny(warmup)
  const begin = performance.now()
  const sum = await runner.tiny(tasks)
  const seconds = (performance.now() - begin) / 1000
  if (sum !== tinySum(tasks)) throw new Error(`${contender}: wrong sum ${sum}`)
  const rssMB = peakRssMB()
  await runner.close()
  return { tasksPerSec: tasks / seconds, rssMB }
}

const syncMs = (ns: ReadonlyArray<number>): number => {
  const begin = performance.now()
  let sink = 0
  for (const n of ns) sink += fib(n)
  if (sink < 0) throw new Error("unreachable")
  return performance.now() - begin
}

const timed = async (run: () => Promise<void>): Promise<number> => {
  const begin = performance.now()
  await run()
  return performance.now() - begin
}

/** The heavy-tailed mix: `count` tasks of `fib(n - 10)` (about 120 times shorter), one in a hundred `fib(n)`. */
export const mix = (count: number, n: number): Array<number> =>
  Array.from({ length: count }, (_, i) => i % 100 === 37 ? n : n - 10)

const cpu = async (tasks: number, n: number, mixTasks: number): Promise<CpuResult> => {
  const c = Array.from({ length: tasks }, () => n)
  const heavy = mix(mixTasks, n)
  const forEach = await ours(false)
  const raw = rawBatched()
  // Warm-up: every thread's JIT, and the sizer's first batches are not what is measured.
  await forEach.fib(mix(200, n - 4))
  await raw.fib(mix(200, n - 4))
  const oursSync = syncMs(c)
  const oursMs = await timed(() => forEach.fib(c))
  const rawSync = syncMs(c)
  const rawMs = await timed(() => raw.fib(c))
  const mixBestMs = syncMs(heavy) / 2
  const mixMs = await timed(() => forEach.fib(heavy))
  await forEach.close()
  await raw.close()
  return {
    forEachSpeedup: oursSync / oursMs,
    rawSpeedup: rawSync / rawMs,
    mixRatio: mixMs / mixBestMs,
    mixMs,
    mixBestMs
  }
}

const isContender = (s: string | undefined): s is Contender => contenders.some((c) => c === s)

if (process.argv[1] === new URL(import.meta.url).pathname) {
  const [what, ...rest] = process.argv.slice(2)
  let result: TinyResult | CpuResult
  if (what === "tiny") {
    const [contender, tasks, warmup] = rest
    if (!isContender(contender)) throw new Error(`unknown contender ${String(contender)}`)
    result = await tiny(contender, Number(tasks), Number(warmup))
  } else {
    const [tasks, n, mixTasks] = rest
    result = await cpu(Number(tasks), Number(n), Number(mixTasks))
  }
  process.stdout.write(`${JSON.stringify(result)}\n`)
  process.exit(0)
}
