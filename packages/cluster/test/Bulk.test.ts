/**
 * The bulk calls (`ThreadPool.forEach`, `ThreadPool.mapStream`) over the cluster's executor: typed as on a pool.
 * Both send their elements to runners in batches (`RunBatch`, through the executor's `runBatch`): results in
 * order, the first failure fails the call, `mode: "exit"` gives every element's Exit (a task's own failure an
 * instance of its class, a payload that does not fit its `InvalidPayload`, a thread that died its `ThreadCrashed`);
 * interrupting the call interrupts its batches on the runner.
 */
import { ThreadError, ThreadPool } from "@effect-threads/core"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber, Stream } from "effect"
import * as NodeCluster from "../src/NodeCluster.ts"
import { Crash, Hang, Negative, Square, tasks } from "./fixtures/api.ts"
import { waitFor, withEvents } from "./support/events.ts"

const Embedded = NodeCluster.layerEmbedded({
  tasks,
  entry: new URL("./fixtures/tasks.ts", import.meta.url),
  minThreads: 1,
  maxThreads: 2
})

describe("bulk calls on the cluster", () => {
  it.live(
    "forEach and mapStream (in batches) give a pool's results",
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

  it.live(
    "runBatch: one request a batch, each element's outcome decoded as a single call's",
    () =>
      Effect.gen(function*() {
        const executor = yield* ThreadPool.Executor
        assert.isFunction(executor.runBatch)
        const exits = yield* executor.runBatch!(Square, [3, -2, "x" as unknown as number, 4], { failFast: false })
        assert.deepStrictEqual(exits[0], Exit.succeed(9))
        assert.deepStrictEqual(exits[1], Exit.fail(new Negative({ n: -2 })))
        assert.isTrue(Exit.isFailure(exits[1]!) && Cause.squash(exits[1].cause) instanceof Negative)
        assert.isTrue(Exit.isFailure(exits[2]!) && Cause.squash(exits[2].cause) instanceof ThreadError.InvalidPayload)
        assert.deepStrictEqual(exits[3], Exit.succeed(16))
        // failFast: the batch's first failure is the request's
        const failed = yield* Effect.flip(executor.runBatch!(Square, [1, -5, 2], { failFast: true }))
        assert.deepStrictEqual(failed, new Negative({ n: -5 }))
        // a thread that dies: its elements fail with ThreadCrashed, the call goes on
        const crashed = yield* ThreadPool.forEach(Crash, [7], { mode: "exit" })
        assert.isTrue(
          Exit.isFailure(crashed[0]!) && Cause.squash(crashed[0].cause) instanceof ThreadError.ThreadCrashed
        )
        const after = yield* ThreadPool.forEach(Square, [5, 6], { batchSize: 1 })
        assert.deepStrictEqual(after, [25, 36])
      }).pipe(Effect.provide(Embedded)),
    { timeout: 60_000 }
  )

  it.live(
    "interrupting forEach interrupts its batches on the runner, in their threads",
    () =>
      withEvents((events) =>
        Effect.gen(function*() {
          const fiber = yield* Effect.forkChild(ThreadPool.forEach(Hang, ["a", "b"], { batchSize: 1 }))
          yield* waitFor(events, "started a")
          yield* waitFor(events, "started b")
          yield* Fiber.interrupt(fiber)
          yield* waitFor(events, "stopped a")
          yield* waitFor(events, "stopped b")
          assert.isTrue(Exit.hasInterrupts(yield* Fiber.await(fiber)))
        })
      ),
    30_000
  )
})
