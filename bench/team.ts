/**
 * Workload F: what the core coordinator costs, without threads. The same tiny tasks (`i => i + 1`), submitted at
 * once, run through a `Team` of two in-process workers that run their work inline (coordinated by a `LockWorker`),
 * against a plain `Effect.forEach`. Both are timed with tinybench, `count` tasks per iteration.
 */
import * as LockWorker from "@effect-threads/core/LockWorker"
import * as Team from "@effect-threads/core/Team"
import * as Worker from "@effect-threads/core/Worker"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { Bench } from "tinybench"
import { inputs } from "./pools/Pool.ts"

export interface FSample {
  readonly plainMs: number
  readonly teamMs: number
}

const inline = (): Worker.Worker => Worker.make({ do: (work) => work, quit: Effect.void })

const makeTeam = () => {
  let created = 0
  return Team.make({
    coordinator: LockWorker.makeUnsafe(),
    createWorker: Effect.sync(() => created < 2 ? (created++, Option.some(inline())) : Option.none())
  })
}

const plain = (items: ReadonlyArray<number>) =>
  Effect.forEach(items, (i) => Effect.sync(() => i + 1), { concurrency: "unbounded" })

const viaTeam = (team: Team.Team, items: ReadonlyArray<number>) =>
  Effect.forEach(items, (i) =>
    Effect.suspend(() => {
      let result = 0
      return Effect.map(team.do(Effect.sync(() => void (result = i + 1))), () => result)
    }), { concurrency: "unbounded" })

const check = (results: ReadonlyArray<number>): void => {
  if (results.length > 0 && results[results.length - 1] !== results.length) throw new Error("F: wrong result")
}

/** One sample: the median time of `iterations` runs of each, in milliseconds. */
export const sample = async (count: number, iterations: number): Promise<FSample> => {
  const items = inputs(count)
  const team = await Effect.runPromise(makeTeam())
  const bench = new Bench({ iterations, time: 0, warmupIterations: 1, warmupTime: 0 })
  bench
    .add("plain", async () => check(await Effect.runPromise(plain(items))))
    .add("team", async () => check(await Effect.runPromise(viaTeam(team, items))))
  await bench.run()
  const median = (taskName: string): number => {
    const result = bench.getTask(taskName)?.result
    if (result === undefined || !("latency" in result)) throw new Error(`F: ${taskName} did not complete`)
    return result.latency.p50
  }
  await Effect.runPromise(Effect.ignore(team.quit))
  return { plainMs: median("plain"), teamMs: median("team") }
}
