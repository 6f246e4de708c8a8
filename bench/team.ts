/**
 * Workload F: what the core coordinator costs, without threads. The same tiny tasks (`i => i + 1`), submitted at
 * once, run through a `Team` of two in-process workers that run their work inline (coordinated by a `LockWorker`),
 * against a plain `Effect.forEach`. Both are timed with tinybench, `count` tasks per iteration.
 */
import * as LockWorker from "@effect-threads/core/LockWorker"
import * as Task from "@effect-threads/core/Task"
import * as Team from "@effect-threads/core/Team"
import * as ThreadPlatform from "@effect-threads/core/ThreadPlatform"
import * as ThreadPool from "@effect-threads/core/ThreadPool"
import * as ThreadRunner from "@effect-threads/core/ThreadRunner"
import * as Worker from "@effect-threads/core/Worker"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import { Bench } from "tinybench"
import { inputs } from "./pools/Pool.ts"
import { AddOne } from "./workers/api.ts"

export interface FSample {
  readonly plainMs: number
  readonly teamMs: number
  /** The same tasks through a `ThreadPool` whose "threads" answer at once, in a microtask: the pool's own cost. */
  readonly poolMs: number
}

const inline = (): Worker.Worker => Worker.make({ do: (work) => work, quit: Effect.void })

const makeTeam = () => {
  let created = 0
  return Team.make({
    coordinator: LockWorker.makeUnsafe(),
    createWorker: Effect.sync(() => created < 2 ? (created++, Option.some(inline())) : Option.none())
  })
}

/**
 * A platform whose "threads" are `ThreadRunner.serve` in this thread, over ports that hand each batch over in a
 * microtask: no clone, no thread, no event loop turn. What a task costs through it is the pool's own path, both
 * sides (encode, ticket, place, flush, run, answer, receive, settle, decode, resume).
 */
const instant = ThreadPlatform.ThreadPlatform.of({
  spawn: (_id, events) => {
    let toRunner: (batch: unknown) => void = () => {}
    let open = true
    const port: ThreadPlatform.RunnerPort = {
      post: (batch) => queueMicrotask(() => open && events.onBatch(batch)),
      listen: (onBatch) => void (toRunner = onBatch),
      close: () => {
        open = false
        queueMicrotask(() => events.onExit({ exitCode: 0 }))
      }
    }
    const fiber = ThreadRunner.serve(port, [Task.implement(AddOne, (n) => Effect.succeed(n + 1))])
    return {
      post: (batch) => queueMicrotask(() => toRunner(batch)),
      terminate: () => {
        if (!open) return
        open = false
        fiber.interruptUnsafe()
        queueMicrotask(() => events.onExit({ terminated: true }))
      }
    }
  }
})

const makePool = (scope: Scope.Scope) =>
  ThreadPool.makeStarted({ minThreads: 2, maxThreads: 2 }).pipe(
    Effect.provideService(ThreadPlatform.ThreadPlatform, instant),
    Scope.provide(scope),
    Effect.orDie
  )

const viaPool = (pool: ThreadPool.ThreadPoolShape, items: ReadonlyArray<number>) =>
  Effect.forEach(items, (i) => pool.deferToThread(AddOne, i), { concurrency: "unbounded" })

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
  const scope = Effect.runSync(Scope.make())
  const pool = await Effect.runPromise(makePool(scope))
  const bench = new Bench({ iterations, time: 0, warmupIterations: 1, warmupTime: 0 })
  bench
    .add("plain", async () => check(await Effect.runPromise(plain(items))))
    .add("team", async () => check(await Effect.runPromise(viaTeam(team, items))))
    .add("pool", async () => check(await Effect.runPromise(viaPool(pool, items))))
  await bench.run()
  const median = (taskName: string): number => {
    const result = bench.getTask(taskName)?.result
    if (result === undefined || !("latency" in result)) throw new Error(`F: ${taskName} did not complete`)
    return result.latency.p50
  }
  await Effect.runPromise(Effect.ignore(team.quit))
  await Effect.runPromise(Scope.close(scope, Exit.void))
  return { plainMs: median("plain"), teamMs: median("team"), poolMs: median("pool") }
}
