/**
 * The bulk calls (`ThreadPool.forEach`, `ThreadPool.mapStream`) over the cluster's executor: typed as on a pool, and
 * run element by element over the cluster's calls (a batch that crosses to a runner is not there yet): results in
 * order, the first failure fails the call, `mode: "exit"` gives every element's Exit, the stream stage in order.
 */
import { ThreadPool } from "@effect-threads/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Stream } from "effect"
import * as NodeCluster from "../src/NodeCluster.ts"
import { Negative, Square, tasks } from "./fixtures/api.ts"

const Embedded = NodeCluster.layerEmbedded({
  tasks,
  entry: new URL("./fixtures/tasks.ts", import.meta.url),
  minThreads: 1,
  maxThreads: 2
})

describe("bulk calls on the cluster", () => {
  it.live(
    "forEach and mapStream run element by element over the cluster's calls, with a pool's results",
    () =>
      Effect.gen(function*() {
        const inputs = Array.from({ length: 100 }, (_, i) => i)
        assert.deepStrictEqual(yield* ThreadPool.forEach(Square, inputs), inputs.map((n) => n * n))
        const failed = yield* Effect.flip(ThreadPool.forEach(Square, [1, -2, 3]))
        assert.deepStrictEqual(failed, new Negative({ n: -2 }))
        const exits = yield* ThreadPool.forEach(Square, [2, -1], { mode: "exit" })
        assert.deepStrictEqual(exits[0], Exit.succeed(4))
        assert.isTrue(Exit.isFailure(exits[1]!))
        const streamed = yield* Stream.fromIterable(inputs).pipe(ThreadPool.mapStream(Square), Stream.runCollect)
        assert.deepStrictEqual(streamed, inputs.map((n) => n * n))
      }).pipe(Effect.provide(Embedded)),
    { timeout: 60_000 }
  )
})
