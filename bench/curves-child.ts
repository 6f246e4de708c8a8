/**
 * One sample of the cost curves (`curves.ts`) for one pool, in a fresh process, so that one pool's heap never counts
 * against another's. Run with `--expose-gc`. Prints one JSON line per figure.
 *
 * - `tiny <pool> <tasks> <warm-up> <bound s>`: `tasks` tiny tasks submitted at once after a warm-up run, with the
 *   process's memory before (after a GC), at its peak (`maxRSS`, threads included), right after and after a GC.
 *   A run that takes longer than the bound prints `{ "overBound": true }` and the process exits.
 * - `payload <pool> <cases JSON>`: for each `{ kind, bytes, tasks }`, a warm-up, then `tasks` payloads submitted at
 *   once: an object (an array of rows of about 32 bytes each, one array shared by every task), a `Uint8Array` copied,
 *   or its buffer transferred (a new one per task, made before the clock starts, in every kind alike).
 * - `cpu <pool> <threads JSON> <tasks> <fib n>`: for each thread count, the same work synchronously on this thread,
 *   then `tasks` tasks of `fib(n)` submitted at once to a new pool of that many threads.
 */
import { isPoolName } from "./lib.ts"
import { load, type Row, tinySum } from "./pools/Pool.ts"
import { fib } from "./workers/fib.ts"

export interface TinyResult {
  readonly overBound?: boolean
  readonly tasksPerSec: number
  readonly baselineRssMB: number
  readonly baselineHeapMB: number
  readonly peakRssMB: number
  readonly afterRssMB: number
  readonly afterHeapMB: number
  readonly afterGcRssMB: number
  readonly afterGcHeapMB: number
}

export type PayloadKind = "object" | "copied" | "transferred"

export interface PayloadCase {
  readonly kind: PayloadKind
  readonly bytes: number
  readonly tasks: number
}

export interface PayloadResult extends PayloadCase {
  readonly seconds: number
}

export interface CpuResult {
  readonly threads: number
  readonly syncMs: number
  readonly poolMs: number
}

const MB = 1024 * 1024
const gc = (): void => {
  const collect = (globalThis as { gc?: () => void }).gc
  if (collect === undefined) throw new Error("curves-child.ts needs --expose-gc")
  collect()
  collect()
}
const print = (value: unknown): void => {
  process.stdout.write(`${JSON.stringify(value)}\n`)
}

/** The rows of an object payload of about `bytes` bytes. */
export const rowsOf = (bytes: number): Array<Row> =>
  Array.from({ length: Math.max(1, Math.round(bytes / 32)) }, (_, k) => ({ k, v: "abcdefghijklmnop" }))

const [what, name, ...rest] = process.argv.slice(2)
if (!isPoolName(name)) throw new Error(`unknown pool ${String(name)}`)
const module = await load(name)

if (what === "tiny") {
  const [tasks, warmup, boundS] = rest.map(Number) as [number, number, number]
  const pool = await module.make()
  await pool.tiny(warmup)
  gc()
  const baseline = process.memoryUsage()
  const begin = performance.now()
  let timer: ReturnType<typeof setTimeout> | undefined
  const sum = await Promise.race([
    pool.tiny(tasks),
    new Promise<"over">((resolve) => timer = setTimeout(() => resolve("over"), boundS * 1000))
  ])
  const seconds = (performance.now() - begin) / 1000
  clearTimeout(timer)
  if (sum === "over") {
    print({ overBound: true })
    process.exit(0)
  }
  if (sum !== tinySum(tasks)) throw new Error(`${name}: wrong sum ${sum}`)
  const peakRssMB = process.resourceUsage().maxRSS / 1024
  const after = process.memoryUsage()
  gc()
  const afterGc = process.memoryUsage()
  const result: TinyResult = {
    tasksPerSec: tasks / seconds,
    baselineRssMB: baseline.rss / MB,
    baselineHeapMB: baseline.heapUsed / MB,
    peakRssMB,
    afterRssMB: after.rss / MB,
    afterHeapMB: after.heapUsed / MB,
    afterGcRssMB: afterGc.rss / MB,
    afterGcHeapMB: afterGc.heapUsed / MB
  }
  print(result)
  await pool.close()
} else if (what === "payload") {
  const cases = JSON.parse(rest[0]!) as ReadonlyArray<PayloadCase>
  const pool = await module.make()
  const run = async (c: PayloadCase, tasks: number): Promise<number> => {
    if (c.kind === "object") {
      const rows = rowsOf(c.bytes)
      const payloads = Array.from({ length: tasks }, () => rows)
      const begin = performance.now()
      const counted = await pool.rows(payloads)
      const seconds = (performance.now() - begin) / 1000
      if (counted !== rows.length * tasks) throw new Error(`${name}: counted ${counted} rows`)
      return seconds
    }
    const payloads = Array.from({ length: tasks }, () => new Uint8Array(c.bytes).fill(7))
    const begin = performance.now()
    const counted = await pool.bytes(payloads, c.kind === "transferred")
    const seconds = (performance.now() - begin) / 1000
    if (counted !== c.bytes * tasks) throw new Error(`${name}: counted ${counted} bytes`)
    if (c.kind === "transferred" && payloads[0]!.byteLength !== 0) throw new Error(`${name}: not transferred`)
    return seconds
  }
  for (const c of cases) {
    await run(c, Math.max(2, Math.ceil(c.tasks / 10)))
    const result: PayloadResult = { ...c, seconds: await run(c, c.tasks) }
    print(result)
  }
  await pool.close()
} else if (what === "cpu") {
  const threadCounts = JSON.parse(rest[0]!) as ReadonlyArray<number>
  const [tasks, n] = rest.slice(1).map(Number) as [number, number]
  for (const threads of threadCounts) {
    let begin = performance.now()
    let sink = 0
    for (let i = 0; i < tasks; i++) sink += fib(n)
    if (sink < 0) throw new Error("unreachable")
    const syncMs = performance.now() - begin
    const pool = await module.make(threads)
    await pool.cpu(threads, n)
    begin = performance.now()
    await pool.cpu(tasks, n)
    const poolMs = performance.now() - begin
    await pool.close()
    const result: CpuResult = { threads, syncMs, poolMs }
    print(result)
  }
} else {
  throw new Error(`unknown curve ${String(what)}`)
}
process.exit(0)
