/**
 * One sample of workloads D and A for one of our pools on another runtime (Bun, Deno), in a fresh process:
 * `bun runtime-child.ts <pool> <tasks> <warm-up>`, `deno run -A runtime-child.ts ...`. The same steps as `child.ts`
 * (`sample.ts`), without E: Bun and Deno do not report a process's peak RSS as Node does. Prints one JSON line.
 */
import { sampleDA } from "./sample.ts"

/** What one sample gives. */
export interface RuntimeChildResult {
  readonly A_tasksPerSec: number
  readonly D_startMs: number
}

const { A_tasksPerSec, D_startMs, pool } = await sampleDA(process.argv.slice(2))

const result: RuntimeChildResult = { A_tasksPerSec, D_startMs }
process.stdout.write(`${JSON.stringify(result)}\n`)
await pool.close()
process.exit(0)
