/**
 * One sample of workloads D, A and E for one pool, in a fresh process: `node child.ts <pool> <tasks> <warm-up>`.
 *
 * Only the pool under test is imported, so the process's peak RSS is that pool's. D and A as `sample.ts` takes them;
 * then E, the peak RSS of the process (`maxRSS`, the kernel's high-water mark, worker threads included). Prints one
 * JSON line.
 */
import { sampleDA } from "./sample.ts"

export interface ChildResult {
  readonly A_tasksPerSec: number
  readonly D_startMs: number
  readonly E_rssMB: number
}

const { A_tasksPerSec, D_startMs, pool } = await sampleDA(process.argv.slice(2))
const E_rssMB = process.resourceUsage().maxRSS / 1024

const result: ChildResult = { A_tasksPerSec, D_startMs, E_rssMB }
process.stdout.write(`${JSON.stringify(result)}\n`)
await pool.close()
process.exit(0)
