/**
 * effect-threads' Node pool, two threads, pipelined: `concurrentTasksPerThread: 16`.
 */
import { makeWith } from "./ours.ts"
import type { Pool } from "./Pool.ts"

export const make = (): Promise<Pool> => makeWith(16)
