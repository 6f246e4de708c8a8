/**
 * effect-threads' Node pool, two threads, Twisted's semantics (`concurrentTasksPerThread: 1`). Each workload runs
 * as one Effect program: the tiny tasks with `Effect.forEach(..., { concurrency: "unbounded" })`, the round trips
 * in a loop. A transfer is `deferToThread(task, payload, { transfer: [buffer] })`.
 */
import * as ThreadPool from "@effect-threads/core/ThreadPool"
import * as NodeThreadPool from "@effect-threads/node/NodeThreadPool"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import { AddOne, Bytes, Fib, Rows } from "../workers/api.ts"
import { inputs, type Pool } from "./Pool.ts"

export const entry = new URL("../workers/ours.ts", import.meta.url)

const sum = (results: ReadonlyArray<number>): number => {
  let sum = 0
  for (const result of results) sum += result
  return sum
}

export const makeWith = async (concurrentTasksPerThread: number, threads = 2): Promise<Pool> => {
  const scope = Effect.runSync(Scope.make())
  // BENCH_BUNDLE_CACHE: a cache directory of the bundled entry (an empty one for D cold, bench/start.ts)
  const cacheDir = process.env.BENCH_BUNDLE_CACHE
  const layer = NodeThreadPool.layer({
    entry,
    minThreads: threads,
    maxThreads: threads,
    concurrentTasksPerThread,
    ...(cacheDir === undefined ? {} : { bundle: { cacheDir } })
  })
  const context = await Effect.runPromise(Layer.buildWithScope(layer, scope))
  const pool = Context.get(context, ThreadPool.ThreadPool)
  return {
    tiny: (count) =>
      Effect.runPromise(
        Effect.forEach(inputs(count), (i) => pool.deferToThread(AddOne, i), { concurrency: "unbounded" }).pipe(
          Effect.map((results) => {
            let sum = 0
            for (const result of results) sum += result
            return sum
          })
        )
      ),
    latency: (count) =>
      Effect.runPromise(Effect.gen(function*() {
        const latencies: Array<number> = []
        for (let i = 0; i < count; i++) {
          const start = performance.now()
          yield* pool.deferToThread(AddOne, i)
          latencies.push((performance.now() - start) * 1000)
        }
        return latencies
      })),
    cpu: (count, n) =>
      Effect.runPromise(
        Effect.forEach(inputs(count), () => pool.deferToThread(Fib, n), { concurrency: "unbounded", discard: true })
      ),
    rows: (payloads) =>
      Effect.runPromise(
        Effect.forEach(payloads, (rows) => pool.deferToThread(Rows, rows), { concurrency: "unbounded" }).pipe(
          Effect.map(sum)
        )
      ),
    bytes: (payloads, transfer) =>
      Effect.runPromise(
        Effect.forEach(
          payloads,
          (bytes) => pool.deferToThread(Bytes, bytes, transfer ? { transfer: [bytes.buffer] } : undefined),
          { concurrency: "unbounded" }
        ).pipe(Effect.map(sum))
      ),
    close: () => Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

export const make = (threads = 2): Promise<Pool> => makeWith(1, threads)
