/**
 * One sample of workloads D, A and E for one pool, in a fresh process: `node child.ts <pool> <tasks> <warm-up>`.
 *
 * Only the pool under test is imported, so the process's peak RSS is that pool's. D comes first, while the process
 * is fresh: create the pool, run one task, close it. Then A on a new pool, after a warm-up run, and E, the peak RSS
 * of the process (`maxRSS`, the kernel's high-water mark, worker threads included). Prints one JSON line.
 */
import { isPoolName } from "./lib.ts"
import { load, tinySum } from "./pools/Pool.ts"

export interface ChildResult {
  readonly A_tasksPerSec: number
  readonly D_startMs: number
  readonly E_rssMB: number
}

const [name, tasksArg, warmupArg] = process.argv.slice(2)
if (!isPoolName(name)) throw new Error(`unknown pool ${String(name)}`)
const tasks = Number(tasksArg)
const warmup = Number(warmupArg)

const module = await load(name)

const startedAt = performance.now()
const first = await module.make()
if ((await first.tiny(1)) !== 1) throw new Error(`${name}: wrong result`)
await first.close()
const D_startMs = performance.now() - startedAt

const pool = await module.make()
await pool.tiny(warmup)
const begin = performance.now()
const sum = await pool.tiny(tasks)
const seconds = (performance.now() - begin) / 1000
const E_rssMB = process.resourceUsage().maxRSS / 1024
if (sum !== tinySum(tasks)) throw new Error(`${name}: wrong sum ${sum}`)

const result: ChildResult = { A_tasksPerSec: tasks / seconds, D_startMs, E_rssMB }
process.stdout.write(`${JSON.stringify(result)}\n`)
await pool.close()
process.exit(0)
