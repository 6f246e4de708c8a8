// The rest of the ThreadPool.Executor service over an embedded cluster (callInThread and friends, stop), and what a caller
// does when its runners go away under a durable call, with a runner count the test controls.
import { ThreadPool } from "@effect-threads/core"
import * as Task from "@effect-threads/core/Task"
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Queue, Ref } from "effect"
import * as ClusterThreadPool from "../src/ClusterThreadPool.ts"
import * as NodeCluster from "../src/NodeCluster.ts"
import { Slow, Square, Started, tasks } from "./fixtures/api.ts"

const entry = new URL("./fixtures/tasks.ts", import.meta.url)

/** An embedded cluster whose runs report their start (`Slow`) to `started`, and whose runner count is `runners`. */
const probed = (started: Queue.Queue<string>, runners?: Ref.Ref<number>) =>
  NodeCluster.layerEmbedded({
    tasks,
    entry,
    minThreads: 1,
    maxThreads: 2,
    mainHandlers: [Task.implement(Started, (id) => Effect.asVoid(Queue.offer(started, id)))],
    cluster: runners === undefined ? undefined : { runnerCount: Ref.get(runners), runnerTimeout: "300 millis" }
  })

/** Runs `body` over {@link probed}, with the queue its runs report their start to. */
const withProbe = <A, E>(
  body: (started: Queue.Queue<string>) => Effect.Effect<A, E, ThreadPool.Executor | ClusterThreadPool.DurableCalls>,
  runners?: Ref.Ref<number>
) =>
  Effect.gen(function*() {
    const started = yield* Queue.unbounded<string>()
    return yield* body(started).pipe(Effect.provide(probed(started, runners)))
  })

describe("ClusterThreadPool: callInThread, callMultipleInThread, stop", () => {
  it.live(
    "callInThreadWithCallback gets the outcome; callMultipleInThread runs its calls in order on one runner",
    () =>
      withProbe((started) =>
        Effect.gen(function*() {
          const pool = yield* ThreadPool.Executor
          const outcome = yield* Deferred.make<Exit.Exit<number, unknown>>()
          yield* pool.callInThreadWithCallback((exit) => Deferred.succeed(outcome, exit), Square, 6)
          assert.deepStrictEqual(yield* Deferred.await(outcome), Exit.succeed(36))
          const ids = ["a", "b", "c", "d"]
          yield* pool.callMultipleInThread(ids.map((id) => ThreadPool.call(Slow, { id, ms: 20 })))
          const order = yield* Effect.forEach(ids, () => Queue.take(started))
          assert.deepStrictEqual(order, ids)
        })
      ),
    30_000
  )

  it.live(
    "stop refuses new calls and waits for the ones in flight; a second stop is AlreadyQuit",
    () =>
      withProbe((started) =>
        Effect.gen(function*() {
          const pool = yield* ThreadPool.Executor
          const running = yield* Effect.forkChild(pool.deferToThread(Slow, { id: "last", ms: 300 }))
          assert.strictEqual(yield* Queue.take(started), "last")
          yield* pool.stop
          // stop returned: nothing is in flight any more, and the call it waited for ran to its end (a success, not
          // an interruption).
          assert.strictEqual((yield* ThreadPool.statistics).tasksInFlight, 0)
          assert.isTrue(Exit.isSuccess(yield* Fiber.await(running)), "the call stop waited for succeeded")
          assert.strictEqual((yield* Effect.flip(ThreadPool.deferToThread(Square, 2)))._tag, "AlreadyQuit")
          assert.strictEqual((yield* Effect.flip(pool.stop))._tag, "AlreadyQuit")
        })
      ),
    30_000
  )
})

describe("ClusterThreadPool: every runner gone under a durable call", () => {
  it.live(
    "the caller fails with ThreadCrashed, the stored call goes on, and a repeat of its id gets its outcome",
    () =>
      Effect.gen(function*() {
        const runners = yield* Ref.make(1)
        yield* withProbe((started) =>
          Effect.gen(function*() {
            const once = { id: "report", ms: 1500 }
            const first = yield* Effect.forkChild(ClusterThreadPool.deferOnce(Slow, once, { id: "report" }))
            const plain = yield* Effect.forkChild(ThreadPool.deferToThread(Slow, { id: "plain", ms: 60_000 }))
            const both = yield* Effect.forEach([1, 2], () => Queue.take(started))
            assert.sameMembers(both, ["report", "plain"])
            // The runner count says none from now on: after runnerTimeout both callers fail.
            yield* Ref.set(runners, 0)
            const error = yield* Effect.flip(Fiber.join(first))
            assert.strictEqual(error._tag, "ThreadCrashed")
            assert.include(error.message, "stays stored")
            assert.strictEqual((yield* Effect.flip(Fiber.join(plain)))._tag, "ThreadCrashed")
            // The durable call was not interrupted: with a runner back, its id gives the outcome of that one run: no
            // run of it starts again (each run reports its start to `started`).
            yield* Ref.set(runners, 1)
            yield* ClusterThreadPool.deferOnce(Slow, once, { id: "report" })
            assert.strictEqual(yield* Queue.size(started), 0)
          }), runners)
      }),
    30_000
  )
})

describe("ClusterThreadPool: a runnerCount that fails with a value of any kind", () => {
  /** The caller's error when every reading of the runner count fails with `failure`. */
  const failingWith = (failure: unknown) =>
    Effect.flip(ThreadPool.deferToThread(Square, 3)).pipe(
      Effect.provide(NodeCluster.layerEmbedded({
        tasks,
        entry,
        minThreads: 1,
        maxThreads: 1,
        cluster: { runnerCount: Effect.fail(failure), runnerTimeout: "300 millis" }
      }))
    )

  it.live(
    "a failure with no prototype (whose String() throws) reads as the database unreadable, with its text",
    () =>
      Effect.gen(function*() {
        const failure: Record<string, unknown> = Object.create(null)
        failure["reason"] = "connection refused"
        const error = yield* failingWith(failure)
        assert.strictEqual(error._tag, "ThreadStartFailed")
        assert.include(error.message, "could not be read")
        assert.include(error.message, "connection refused")
      }),
    30_000
  )

  it.live(
    "a Proxy whose every trap throws reads as the database unreadable",
    () =>
      Effect.gen(function*() {
        const trap = () => {
          throw new Error("trap")
        }
        const hostile = new Proxy({}, { get: trap, getPrototypeOf: trap, ownKeys: trap, has: trap })
        const error = yield* failingWith(hostile)
        assert.strictEqual(error._tag, "ThreadStartFailed")
        assert.include(error.message, "could not be read")
        assert.include(error.message, "(an object that cannot be read)")
      }),
    30_000
  )
})
