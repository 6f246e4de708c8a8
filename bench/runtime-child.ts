/**
 * One sample of workloads D and A for one of our pools on another runtime (Bun, Deno), in a fresh process:
 * `bun runtime-child.ts <pool> <tasks> <warm-up>`, `deno run -A runtime-child.ts ...`. The same steps as `child.ts`
 * (D first, while the process is fresh: create the pool, run one task, close it; then A on a new pool, after a
 * warm-up run), without E: Bun and Deno do not report a process's peak RSS as Node does. Prints one JSON line.
 */
import { load, type PoolName, poolNames, tinySum } from "./pools/Pool.ts"

/** What one sample gives. */
export interface RuntimeChildResult {
  readonly A_tasksPerSec: number
  readonly D_startMs: number
}

const [name, tasksArg, warmupArg] = process.argv.slice(2)
const isPoolName = (s: string | undefined): s is PoolName => poolNames.some((n) => n === s)
if (!isPoolName(name)) throw new Error(`unknown pool ${String(name)}`)
const tasks = Number(tasksArg)
const module = await load(name)

const startedAt = performance.now()
const first = await module.make()
if ((await first.tiny(1)) !== 1) throw new Error(`${name}: wrong result`)
await first.close()
const D_startMs = performance.now() - startedAt

const pool = await module.make()
await pool.tiny(Number(warmupArg))
const begin = performance.now()
const sum = await pool.tiny(tasks)
const seconds = (performance.now() - begin) / 1000
if (sum !== tinySum(tasks)) throw new Error(`${name}: wrong sum ${sum}`)

const result: RuntimeChildResult = { A_tasksPerSec: tasks / seconds, D_startMs }
process.stdout.write(`${JSON.stringify(result)}\n`)
await pool.close()
process.exit(0)
