/**
 * effect-threads' Node pool, two threads (or `threads`), pipelined: `concurrentTasksPerThread: 16`.
 */
import { makeWith } from "./ours.ts"
import type { Pool } from "./Pool.ts"

export const make = (threads = 2): Promise<Pool> => makeWith(16, threads)
