/**
 * Profiling aid for workload H (issue 22): runs `ThreadPool.forEach` or `ThreadPool.mapStream` on `tasks` tiny tasks,
 * `rounds` times after one warm-up, in this process, and prints each round's rate. Run under `--cpu-prof` to see where
 * the main thread's time goes: `node --cpu-prof bench/bulk-profile.ts forEach 100000 20`.
 */
import * as ThreadPool from "@effect-threads/core/ThreadPool"
import * as NodeThreadPool from "@effect-threads/node/NodeThreadPool"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { inputs, tinySum } from "./pools/Pool.ts"
import { AddOne } from "./workers/api.ts"

const [what = "forEach", tasksArg = "100000", roundsArg = "20"] = process.argv.slice(2)
const tasks = Number(tasksArg)
const rounds = Number(roundsArg)
const entry = new URL("./workers/ours.ts", import.meta.url)

const once = (count: number): Effect.Effect<number, unknown, ThreadPool.Executor> =>
  what === "mapStream"
    ? Stream.fromIterable(inputs(count)).pipe(
      ThreadPool.mapStream(AddOne),
      Stream.runFold(() => 0, (total, n: number) => total + n)
    )
    : Effect.map(ThreadPool.forEach(AddOne, inputs(count)), (results) => results.reduce((a, b) => a + b, 0))

const program = Effect.gen(function*() {
  yield* once(tasks)
  const rates: Array<number> = []
  const cpu: Array<number> = []
  for (let round = 0; round < rounds; round++) {
    const begin = performance.now()
    const usage = process.cpuUsage()
    const sum = yield* once(tasks)
    const millis = performance.now() - begin
    const used = process.cpuUsage(usage)
    if (sum !== tinySum(tasks)) throw new Error(`wrong sum ${sum}`)
    rates.push(tasks / millis * 1000)
    cpu.push((used.user + used.system) / tasks)
  }
  const median = (values: Array<number>) => values.toSorted((a, b) => a - b)[values.length >> 1]!
  console.log(
    `${what}: median ${Math.round(median(rates))} tasks/s, ${median(cpu).toFixed(3)} µs of CPU (all threads) an ` +
      `element, over ${rounds} rounds`
  )
})

await Effect.runPromise(
  Effect.provide(program, NodeThreadPool.layer({ entry, minThreads: 2, maxThreads: 2 }))
)
