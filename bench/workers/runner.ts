/**
 * Our runner serving no task: what the runner alone costs a thread's start (`bench/start.ts`). It answers every
 * request with "not implemented".
 */
import * as NodeThreadRunner from "@effect-threads/node/NodeThreadRunner"

NodeThreadRunner.serve([])
