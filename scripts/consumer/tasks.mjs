// The worker entry: runs in a worker_threads thread, from the installed packages' dist.
import { Task } from "@effect-threads/core"
import { NodeThreadRunner } from "@effect-threads/node"
import { Effect } from "effect"
import { threadId } from "node:worker_threads"
import { Negative, Square } from "./api.mjs"

if (threadId === 0) throw new Error("tasks.mjs must run in a worker thread")

NodeThreadRunner.serve([
  Task.implement(Square, (n) => n < 0 ? Effect.fail(new Negative({ n })) : Effect.succeed(n * n))
])
