/**
 * The steps of one sample that `child.ts` (Node) and `runtime-child.ts` (Bun, Deno) share, in a fresh process:
 * D first, while the process is fresh (create the pool, run one task, close it), then A on a new pool after a warm-up
 * run. The pool of A is left open, so that the caller can read what it needs (E, the peak RSS) before closing it.
 */
import { isPoolName } from "./lib.ts"
import { load, type Pool, tinySum } from "./pools/Pool.ts"

/** D and A of one sample, and the pool A ran on (still open). */
export interface Sample {
  readonly A_tasksPerSec: number
  readonly D_startMs: number
  readonly pool: Pool
}

/** One sample from the command line `<pool> <tasks> <warm-up>`; only the pool under test is imported. */
export const sampleDA = async (args: ReadonlyArray<string>): Promise<Sample> => {
  const [name, tasksArg, warmupArg] = args
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
  return { A_tasksPerSec: tasks / seconds, D_startMs, pool }
}
