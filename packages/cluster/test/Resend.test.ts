// A call whose run ends interrupted on the cluster, though its caller did not interrupt it (over Postgres, a runner
// that cannot refresh its shard locks stops its calls so: test/Outage.test.ts), is sent again, a bounded number of
// times, then fails with a typed error that says so; a stream is not sent again. Here the task interrupts itself, on
// the embedded cluster with a runner count (so the caller watches its runners, as over Postgres).
import { ThreadPool } from "@effect-threads/core"
import * as Task from "@effect-threads/core/Task"
import { ThreadCrashed } from "@effect-threads/core/ThreadError"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Ref, Stream } from "effect"
import * as NodeCluster from "../src/NodeCluster.ts"
import { Quit, QuitStream, tasks, Tried } from "./fixtures/quit-api.ts"

const embedded = (tries: Ref.Ref<number>) =>
  NodeCluster.layerEmbedded({
    tasks,
    entry: new URL("./fixtures/quit-tasks.ts", import.meta.url),
    maxThreads: 1,
    mainHandlers: [Task.implement(Tried, () => Ref.update(tries, (n) => n + 1))],
    cluster: { runnerCount: Effect.succeed(1), runnerTimeout: "5 seconds" }
  })

describe("ClusterThreadPool: a call the cluster ends interrupted", () => {
  it.live(
    "is sent again 5 times, then fails with ThreadCrashed saying so; never an interruption",
    () =>
      Effect.gen(function*() {
        const tries = yield* Ref.make(0)
        const error = yield* Effect.flip(ThreadPool.deferToThread(Quit, 1)).pipe(Effect.provide(embedded(tries)))
        assert.instanceOf(error, ThreadCrashed)
        assert.include(error.message, "ended interrupted on the cluster 6 times")
        assert.strictEqual(yield* Ref.get(tries), 6)
      }),
    30_000
  )

  it.live(
    "a stream is not sent again: ThreadCrashed after the elements it gave",
    () =>
      Effect.gen(function*() {
        const tries = yield* Ref.make(0)
        const taken: Array<number> = []
        const error = yield* Stream.runForEach(
          ThreadPool.stream(QuitStream, 3),
          (n) => Effect.sync(() => taken.push(n))
        )
          .pipe(Effect.flip, Effect.provide(embedded(tries)))
        assert.instanceOf(error, ThreadCrashed)
        assert.include(error.message, "the stream ended interrupted on the cluster")
        assert.deepStrictEqual(taken, [0, 1, 2])
      }),
    30_000
  )
})
