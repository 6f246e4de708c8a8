// Database outages under load: a private Postgres and two runner processes with the README's tuned sharding settings,
// one of them reaching Postgres through a proxy the test pauses. First that runner is cut off from the database for
// 3 s, then Postgres itself is stopped for 5 s, each while plain and durable calls are in flight. Every caller's
// outcome is counted: each settles exactly once, none is an interruption (nobody interrupted a caller).
import { ThreadPool } from "@effect-threads/core"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Layer, Stream } from "effect"
import * as ClusterThreadPool from "../src/ClusterThreadPool.ts"
import * as PgCluster from "../src/PgCluster.ts"
import { Count, Slow, Square, Where } from "./fixtures/api.ts"
import { startProxy } from "./support/faults.ts"
import type { Proxy } from "./support/faults.ts"
import { freePort, startPostgres } from "./support/postgres.ts"
import type { Postgres } from "./support/postgres.ts"
import { spawnRunner } from "./support/runners.ts"
import type { Runner } from "./support/runners.ts"
import { sharding } from "./support/sharding.ts"

interface Setup {
  readonly pg: Postgres
  readonly proxy: Proxy
  /** `runners[0]` reaches Postgres through `proxy`; `runners[1]` directly. */
  readonly runners: ReadonlyArray<Runner>
}

const setup = Effect.acquireRelease(
  Effect.promise(async (): Promise<Setup> => {
    const pg = await startPostgres()
    const proxy = await startProxy(pg.port)
    const runners: Array<Runner> = []
    try {
      runners.push(await spawnRunner(proxy.port, await freePort()))
      runners.push(await spawnRunner(pg.port, await freePort()))
    } catch (error) {
      for (const runner of runners) runner.kill("SIGKILL")
      await proxy.close()
      pg.stop()
      throw error
    }
    return { pg, proxy, runners }
  }),
  ({ pg, proxy, runners }) =>
    Effect.promise(async () => {
      for (const runner of runners) runner.kill("SIGKILL")
      await Promise.all(runners.map((runner) => runner.exited))
      await proxy.close()
      pg.stop()
    })
)

/** What the callers of one round got: how many settled how, and how many times each task ran on the runners. */
interface Round {
  readonly settled: ReadonlyMap<string, number>
  readonly outcomes: ReadonlyMap<string, number>
  readonly runs: ReadonlyMap<string, number>
}

const describeExit = (exit: Exit.Exit<unknown, { readonly _tag: string }>): string => {
  if (Exit.isSuccess(exit)) return "success"
  if (Cause.hasInterruptsOnly(exit.cause)) return "interrupted"
  const error = Cause.findErrorOption(exit.cause)
  return error._tag === "Some"
    ? `failed: ${error.value._tag}: ${(error.value as { readonly message?: string }).message}`
    : `died: ${Cause.pretty(exit.cause).split("\n")[0]}`
}

/**
 * 12 durable calls, 30 plain ones and 4 streams, all in flight at once (each call runs 500 ms on a runner of two
 * threads, each stream 8 elements 250 ms apart); once a durable call runs on `runners[0]`, `fault` runs (it makes an
 * outage and ends it). Counts each caller's outcome and each call's runs (every run prints its id on its runner).
 */
const round = (setup: Setup, name: string, fault: Effect.Effect<void>) =>
  Effect.gen(function*() {
    const settled = new Map<string, number>()
    const outcomes = new Map<string, number>()
    const count = (kind: string, id: string) => (exit: Exit.Exit<unknown, { readonly _tag: string }>) =>
      Effect.sync(() => {
        settled.set(id, (settled.get(id) ?? 0) + 1)
        const outcome = `${kind} ${describeExit(exit)}`
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1)
      })
    const base = name === "cut off" ? 0 : 1000
    const durableIds = Array.from({ length: 12 }, (_, i) => `${name}-${i}`.replace(" ", "-"))
    const plain = Array.from({ length: 30 }, (_, i) => base + i).map((id) =>
      ThreadPool.deferToThread(Where, { id, ms: 500 }).pipe(Effect.exit, Effect.flatMap(count("plain", `${id}`)))
    )
    const durable = durableIds.map((id) =>
      ClusterThreadPool.deferOnce(Slow, { id, ms: 500 }, { id }).pipe(Effect.exit, Effect.flatMap(count("durable", id)))
    )
    const streams = Array.from({ length: 4 }, (_, i) =>
      Stream.runCollect(ThreadPool.stream(Count, { n: 8, ms: 250 })).pipe(
        Effect.exit,
        Effect.flatMap(count("stream", `stream-${name}-${i}`))
      ))
    // The fault comes once a durable call runs on runners[0] (or, should none land there, once all have started).
    const startedOn = (runner: Runner, id: string) =>
      runner.printed(`started ${id}`)
    const durableRuns = () =>
      Promise.race([
        Promise.race(durableIds.map((id) =>
          startedOn(setup.runners[0]!, id)
        )),
        Promise.all(durableIds.map((id) => Promise.race(setup.runners.map((runner) => startedOn(runner, id)))))
      ])
    yield* Effect.all([
      Effect.all([...durable, ...plain, ...streams], { concurrency: "unbounded", discard: true }),
      Effect.promise(durableRuns).pipe(Effect.andThen(fault))
    ], { concurrency: "unbounded", discard: true })
    const runs = new Map<string, number>()
    for (const runner of setup.runners) {
      for (const [, id] of runner.output().matchAll(/^(?:ran|started) (.+)$/gm)) {
        runs.set(id!, (runs.get(id!) ?? 0) + 1)
      }
    }
    const twice = [...settled.keys()].filter((id) => (runs.get(id) ?? 0) > 1)
    const durableTwice = twice.filter((id) => durableIds.includes(id))
    console.log(
      `${name}: outcomes ${JSON.stringify([...outcomes])}; ran twice: ${twice.length - durableTwice.length} of 30`,
      `plain, ${durableTwice.length} of 12 durable`
    )
    return { settled, outcomes, runs } satisfies Round
  })

describe("ClusterThreadPool over Postgres: database outages", () => {
  it.live(
    "a runner cut off from Postgres, then Postgres stopped: every caller settles once, none is interrupted",
    () =>
      Effect.gen(function*() {
        const cluster = yield* setup
        const client = PgCluster.layerClient({
          postgres: { host: "127.0.0.1", port: cluster.pg.port, database: "postgres", username: "postgres" },
          sharding
        })
        const cutOff = Effect.sync(cluster.proxy.pause).pipe(
          Effect.andThen(Effect.sleep("3 seconds")),
          Effect.andThen(Effect.sync(cluster.proxy.resume))
        )
        const stopped = Effect.sync(cluster.pg.halt).pipe(
          Effect.andThen(Effect.sleep("5 seconds")),
          Effect.andThen(Effect.sync(cluster.pg.restart))
        )
        const rounds = yield* Effect.all([round(cluster, "cut off", cutOff), round(cluster, "stopped", stopped)]).pipe(
          Effect.provide(client)
        )
        for (const { outcomes, settled } of rounds) {
          assert.strictEqual(settled.size, 46)
          assert.isTrue([...settled.values()].every((n) => n === 1), "a caller settled more than once")
          // The outages are shorter than runnerTimeout (30 s): every call succeeds, the ones cut short sent again; a
          // stream the cluster cut short is not sent again: it fails with ThreadCrashed.
          const expected = (outcome: string) =>
            outcome.endsWith(" success") ||
            outcome.startsWith("stream failed: ThreadCrashed: the stream ended interrupted on the cluster")
          assert.deepStrictEqual([...outcomes].filter(([outcome]) => !expected(outcome)), [])
        }
      }).pipe(Effect.scoped),
    120_000
  )
})

describe("ClusterThreadPool over Postgres: a database the client cannot read", () => {
  it.live(
    "a call fails with ThreadStartFailed saying the database could not be read, not that no runner is up",
    () =>
      Effect.gen(function*() {
        const pg = yield* Effect.acquireRelease(Effect.promise(startPostgres), (pg) => Effect.sync(pg.stop))
        const runner = yield* Effect.acquireRelease(
          Effect.promise(async () => spawnRunner(pg.port, await freePort())),
          (runner) => Effect.promise(() => (runner.kill("SIGKILL"), runner.exited))
        )
        const proxy = yield* Effect.acquireRelease(
          Effect.promise(() => startProxy(pg.port)),
          (proxy) => Effect.promise(proxy.close)
        )
        // The client reaches Postgres through the proxy; once it is up, the proxy holds everything.
        const context = yield* Layer.build(PgCluster.layerClient({
          postgres: { host: "127.0.0.1", port: proxy.port, database: "postgres", username: "postgres" },
          sharding,
          runnerTimeout: "1 second"
        }))
        proxy.pause()
        const error = yield* Effect.flip(ThreadPool.deferToThread(Square, 3)).pipe(Effect.provide(context))
        proxy.resume()
        assert.strictEqual(error._tag, "ThreadStartFailed")
        assert.include(error.message, "the cluster's database could not be read")
        // The runner was up all along: it serves a client that can read the database.
        assert.include(runner.output(), "ready")
        const direct = PgCluster.layerClient({
          postgres: { host: "127.0.0.1", port: pg.port, database: "postgres", username: "postgres" },
          sharding
        })
        assert.strictEqual(yield* ThreadPool.deferToThread(Square, 3).pipe(Effect.provide(direct)), 9)
      }).pipe(Effect.scoped),
    60_000
  )
})
