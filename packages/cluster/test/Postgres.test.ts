// Many processes: a private Postgres, three runner processes on localhost, a client sending thousands of tasks, and
// a runner stopped mid-run, with SIGTERM or SIGKILL. Every task must settle exactly once at the caller, successfully.
import { ThreadPool } from "@effect-threads/core"
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Ref } from "effect"
import * as ChildProcess from "node:child_process"
import * as PgCluster from "../src/PgCluster.ts"
import { Negative, Square, Where } from "./fixtures/api.ts"
import { freePort, startPostgres } from "./support/postgres.ts"
import { sharding } from "./support/sharding.ts"

interface Runner {
  readonly pid: number
  readonly exited: Promise<{ readonly code: number | null; readonly signal: string | null }>
  readonly kill: (signal: NodeJS.Signals) => void
}

const spawnRunner = (pgPort: number, port: number): Promise<Runner> =>
  new Promise((resolve, reject) => {
    const child = ChildProcess.spawn(process.execPath, [new URL("./fixtures/runner.ts", import.meta.url).pathname], {
      env: { ...process.env, PG_PORT: String(pgPort), RUNNER_PORT: String(port) },
      stdio: ["ignore", "pipe", "inherit"]
    })
    const exited = new Promise<{ code: number | null; signal: string | null }>((done) =>
      child.once("exit", (code, signal) => done({ code, signal }))
    )
    child.once("error", reject)
    let out = ""
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString()
      if (out.includes("ready")) resolve({ pid: child.pid!, exited, kill: (signal) => child.kill(signal) })
    })
    void exited.then(({ code }) => reject(new Error(`runner exited before it was ready (${code}): ${out}`)))
  })

const cluster = Effect.acquireRelease(
  Effect.promise(async () => {
    const pg = await startPostgres()
    const runners: Array<Runner> = []
    try {
      for (let i = 0; i < 3; i++) runners.push(await spawnRunner(pg.port, await freePort()))
    } catch (error) {
      for (const runner of runners) runner.kill("SIGKILL")
      pg.stop()
      throw error
    }
    return { pg, runners }
  }),
  ({ pg, runners }) =>
    Effect.promise(async () => {
      for (const runner of runners) runner.kill("SIGKILL")
      await Promise.all(runners.map((runner) => runner.exited))
      pg.stop()
    })
)

/**
 * 3000 tasks of 2 ms, 64 at a time, over three runners; one runner gets `signal` a third of the way in. Every task
 * must settle exactly once at the caller, successfully, and all three runners must have served. Gives how long the
 * run took and its stall: the longest time after the signal with no task settling.
 */
const failover = (signal: "SIGTERM" | "SIGKILL") =>
  Effect.gen(function*() {
    const { pg, runners } = yield* cluster
    const total = 3000
    const settled = yield* Ref.make(new Map<number, number>())
    const settledAt: Array<number> = []
    const halfway = yield* Deferred.make<void>()
    const client = PgCluster.layerClient({
      postgres: { host: "127.0.0.1", port: pg.port, database: "postgres", username: "postgres" },
      sharding,
      runnerTimeout: "20 seconds"
    })
    const run = Effect.gen(function*() {
      // A typed failure crosses both hops between processes too.
      const error = yield* Effect.flip(ThreadPool.deferToThread(Square, -2))
      assert.instanceOf(error, Negative)
      return yield* Effect.forEach(
        Array.from({ length: total }, (_, id) => id),
        (id) =>
          ThreadPool.deferToThread(Where, { id, ms: 2 }).pipe(
            Effect.tap((result) =>
              Ref.update(settled, (map) => new Map(map).set(result.id, (map.get(result.id) ?? 0) + 1)).pipe(
                Effect.andThen(Ref.get(settled)),
                Effect.tap(() => Effect.sync(() => settledAt.push(Date.now()))),
                Effect.flatMap((map) => map.size === total / 3 ? Deferred.succeed(halfway, undefined) : Effect.void)
              )
            )
          ),
        { concurrency: 64 }
      )
    }).pipe(Effect.provide(client))
    const started = Date.now()
    const fiber = yield* Effect.forkChild(run)
    yield* Deferred.await(halfway)
    const victim = runners[0]!
    const signalled = Date.now()
    victim.kill(signal)
    const results = yield* Fiber.join(fiber)
    const elapsed = Date.now() - started
    const exit = yield* Effect.promise(() => victim.exited)

    const counts = yield* Ref.get(settled)
    assert.strictEqual(counts.size, total)
    assert.isTrue([...counts.values()].every((count) => count === 1), "a task settled more than once")
    assert.deepStrictEqual(results.map((r) => r.id), Array.from({ length: total }, (_, id) => id))
    const byRunner = new Map<number, number>()
    for (const r of results) byRunner.set(r.pid, (byRunner.get(r.pid) ?? 0) + 1)
    assert.strictEqual(byRunner.size, 3, `served by ${JSON.stringify([...byRunner])}`)
    let stall = 0
    let previous = signalled
    for (const at of settledAt) {
      if (at < signalled) continue
      stall = Math.max(stall, at - previous)
      previous = at
    }
    console.log(
      `${signal}: ${total} tasks in ${elapsed} ms, stall ${stall} ms, over runners ${JSON.stringify([...byRunner])};`,
      `victim exit`,
      exit
    )
    return { elapsed, stall, exit }
  }).pipe(Effect.scoped)

describe("ClusterThreadPool over Postgres, three runner processes", () => {
  it.live(
    "thousands of tasks, a runner stopped with SIGTERM mid-run: every task settles once",
    () =>
      Effect.gen(function*() {
        const { exit } = yield* failover("SIGTERM")
        // The runner shut down by itself (runMain's exit code for an interrupted main is 130).
        assert.strictEqual(exit.signal, null)
      }),
    120_000
  )

  it.live(
    "thousands of tasks, a runner killed with SIGKILL mid-run: every task settles once, after its locks expire",
    () =>
      Effect.gen(function*() {
        const { elapsed, exit } = yield* failover("SIGKILL")
        assert.strictEqual(exit.signal, "SIGKILL")
        // Its calls are sent again once its shard locks expire (4 s here): the run ends well within a minute.
        assert.isBelow(elapsed, 60_000)
      }),
    120_000
  )
})

describe("ClusterThreadPool over Postgres, no runner", () => {
  it.live(
    "a call fails with ThreadStartFailed after runnerTimeout instead of waiting forever",
    () =>
      Effect.gen(function*() {
        const pg = yield* Effect.acquireRelease(Effect.promise(startPostgres), (pg) => Effect.sync(pg.stop))
        const client = PgCluster.layerClient({
          postgres: { host: "127.0.0.1", port: pg.port, database: "postgres", username: "postgres" },
          sharding,
          runnerTimeout: "1 second"
        })
        const started = Date.now()
        const error = yield* Effect.flip(ThreadPool.deferToThread(Square, 3).pipe(Effect.provide(client)))
        const waited = Date.now() - started
        assert.strictEqual(error._tag, "ThreadStartFailed")
        assert.include(error.message, "no cluster runner is up")
        assert.isBelow(waited, 10_000)
      }).pipe(Effect.scoped),
    30_000
  )
})
