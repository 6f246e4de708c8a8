// The service a cluster provides: `ThreadPool.Executor` (what runs tasks), never `ThreadPool.ThreadPool` (a pool
// that owns its threads). A program that needs the pool's own members does not compile against a cluster's layers:
// the `@ts-expect-error` lines below are checked by `pnpm typecheck`, which fails if one of them compiles. At run
// time the cluster's executor has the executor's members, each of which does what it says, and nothing else.
import { ThreadPool } from "@effect-threads/core"
import * as NodeThreadPool from "@effect-threads/node/NodeThreadPool"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Logger, Option, Queue, Stream } from "effect"
import * as ClusterThreadPool from "../src/ClusterThreadPool.ts"
import * as NodeCluster from "../src/NodeCluster.ts"
import * as PgCluster from "../src/PgCluster.ts"
import { Count, Square, tasks } from "./fixtures/api.ts"

const entry = new URL("./fixtures/tasks.ts", import.meta.url)

const Embedded = NodeCluster.layerEmbedded({ tasks, entry, minThreads: 1, maxThreads: 1, cluster: { name: "edge" } })

/** `true` when `A` and `B` are the same type. */
type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false

const clientLayer = PgCluster.layerClient({ postgres: { url: "postgres://localhost/threads" } })

// What each layer provides: the cluster's, the executor and the durable calls; a local pool's, both services.
type ClusterServices = ThreadPool.Executor | ClusterThreadPool.DurableCalls
const embeddedProvides: Equals<Layer.Success<typeof Embedded>, ClusterServices> = true
const clientProvides: Equals<Layer.Success<typeof clientLayer>, ClusterServices> = true
const callerProvides: Equals<Layer.Success<ReturnType<typeof ClusterThreadPool.layer>>, ClusterServices> = true
const localProvides: Equals<
  Layer.Success<ReturnType<typeof NodeThreadPool.layer>>,
  ThreadPool.ThreadPool | ThreadPool.Executor
> = true

/** Type-level checks: what compiles against each layer. Never run. */
export const typeChecks = () => {
  // Runs tasks: compiles against every layer.
  const runs: Effect.Effect<number, unknown> = ThreadPool.deferToThread(Square, 2).pipe(Effect.provide(Embedded))
  const runsOnClient: Effect.Effect<number, unknown> = ThreadPool.deferToThread(Square, 2).pipe(
    Effect.provide(clientLayer)
  )
  const streams: Stream.Stream<unknown, unknown> = ThreadPool.stream(Count, { n: 1, ms: 0 }).pipe(
    Stream.provide(Embedded)
  )
  const local = NodeThreadPool.layer({ entry })
  const broadcastsLocally: Effect.Effect<unknown, unknown> = ThreadPool.broadcast(Square, 2).pipe(
    Effect.provide(local)
  )
  const resizesLocally: Effect.Effect<unknown, unknown> = ThreadPool.ThreadPool.use((pool) =>
    pool.adjustPoolsize({ maxThreads: 2 })
  ).pipe(Effect.provide(local))
  // Owns threads: does not compile against a cluster.
  // @ts-expect-error ThreadPool.broadcast needs ThreadPool.ThreadPool, which a cluster does not provide
  const broadcasts: Effect.Effect<unknown, unknown> = ThreadPool.broadcast(Square, 2).pipe(Effect.provide(Embedded))
  // @ts-expect-error ThreadPool.broadcast needs ThreadPool.ThreadPool, which a cluster's client does not provide
  const clientBroadcasts: Effect.Effect<unknown, unknown> = ThreadPool.broadcast(Square, 2).pipe(
    Effect.provide(clientLayer)
  )
  // @ts-expect-error adjustPoolsize is a member of ThreadPool.ThreadPool, which a cluster does not provide
  const resizes: Effect.Effect<unknown, unknown> = ThreadPool.ThreadPool.use((pool) =>
    pool.adjustPoolsize({ maxThreads: 2 })
  ).pipe(Effect.provide(Embedded))
  const executorOnly = ThreadPool.Executor.use((executor) =>
    // @ts-expect-error the executor has no broadcast: only a pool that owns its threads has
    executor.broadcast(Square, 2)
  )
  return [
    embeddedProvides,
    clientProvides,
    callerProvides,
    localProvides,
    runs,
    runsOnClient,
    streams,
    broadcastsLocally,
    resizesLocally,
    broadcasts,
    clientBroadcasts,
    resizes,
    executorOnly
  ]
}

describe("ClusterThreadPool: the service it provides", () => {
  it.live("the executor, and no ThreadPool: no member that owns threads, none that dies", () =>
    Effect.gen(function*() {
      assert.isTrue(Option.isNone(yield* Effect.serviceOption(ThreadPool.ThreadPool)))
      const executor = yield* ThreadPool.Executor
      for (const member of ["broadcast", "adjustPoolsize", "start", "size", "started"]) {
        assert.isFalse(member in executor, `the cluster's executor has ${member}`)
      }
      assert.strictEqual(executor.name, "edge")
    }).pipe(Effect.provide(Embedded)), 30_000)

  it.live("each member runs on the cluster: calls, streams, statistics, dumpStats, stop", () => {
    const lines: Array<string> = []
    const logger = Logger.make(({ message }) => {
      lines.push(Array.isArray(message) ? message.map(String).join(" ") : String(message))
    })
    return Effect.gen(function*() {
      const executor = yield* ThreadPool.Executor
      assert.strictEqual(yield* ThreadPool.deferToThread(Square, 7), 49)
      assert.strictEqual(yield* ThreadPool.deferToThreadPool(executor, Square, 8), 64)
      const done = yield* Queue.unbounded<number>()
      yield* executor.callInThreadWithCallback(
        (exit) => Queue.offer(done, exit._tag === "Success" ? exit.value : -1).pipe(Effect.asVoid),
        Square,
        9
      )
      assert.strictEqual(yield* Queue.take(done), 81)
      const counted = yield* Stream.runCollect(ThreadPool.stream(Count, { n: 3, ms: 0 }))
      assert.deepStrictEqual(counted.map((element) => element.i), [0, 1, 2])
      // The one runner's pool is this process's: one thread, started.
      const statistics = yield* ThreadPool.statistics
      assert.strictEqual(statistics.workerCount, 1)
      assert.strictEqual(statistics.tasksInFlight, 0)
      yield* executor.dumpStats
      const dumped = lines.find((line) => line.startsWith("edge: "))
      assert.isDefined(dumped)
      assert.strictEqual(JSON.parse(dumped!.slice("edge: ".length)).workerCount, 1)
      yield* executor.stop
      assert.strictEqual((yield* Effect.flip(ThreadPool.deferToThread(Square, 2)))._tag, "AlreadyQuit")
    }).pipe(Effect.provide(Embedded), Effect.provide(Logger.layer([logger])))
  }, 30_000)
})
