import { ThreadPool } from "@effect-threads/core"
import * as Task from "@effect-threads/core/Task"
import { ThreadCrashed } from "@effect-threads/core/ThreadError"
import { assert, describe, it } from "@effect/vitest"
import {
  Cause,
  Effect,
  Exit,
  Fiber,
  Layer,
  Logger,
  Option,
  Queue,
  References,
  Schedule,
  Scope,
  Stream,
  Tracer
} from "effect"
import * as ClusterThreadPool from "../src/ClusterThreadPool.ts"
import * as NodeCluster from "../src/NodeCluster.ts"
import { Count, Crash, Hang, Negative, Slow, Square, Stamp, Started, Stopped, tasks } from "./fixtures/api.ts"
import { waitFor, withEvents } from "./support/events.ts"

const Embedded = NodeCluster.layerEmbedded({
  tasks,
  entry: new URL("./fixtures/tasks.ts", import.meta.url),
  minThreads: 1,
  maxThreads: 4
})

describe("ClusterThreadPool, embedded", () => {
  {
    it.live("results come back from the runner's threads", () =>
      Effect.gen(function*() {
        const squares = yield* Effect.forEach(
          Array.from({ length: 200 }, (_, i) => i),
          (n) => ThreadPool.deferToThread(Square, n),
          { concurrency: "unbounded" }
        )
        assert.deepStrictEqual(squares, Array.from({ length: 200 }, (_, i) => i * i))
      }).pipe(Effect.provide(Embedded)), 30_000)

    it.live("a typed failure crosses both hops as an instance of its class", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(ThreadPool.deferToThread(Square, -3))
        assert.instanceOf(error, Negative)
        assert.strictEqual((error as Negative).n, -3)
      }).pipe(Effect.provide(Embedded)), 30_000)

    it.live("a task that crashes its thread gives ThreadCrashed; the next task runs", () =>
      Effect.gen(function*() {
        const exit = yield* Effect.exit(ThreadPool.deferToThread(Crash, 7))
        assert.isTrue(Exit.isFailure(exit))
        const error = yield* Effect.flip(ThreadPool.deferToThread(Crash, 7))
        assert.instanceOf(error, ThreadCrashed)
        assert.strictEqual((error as ThreadCrashed).exitCode, 7)
        assert.strictEqual(yield* ThreadPool.deferToThread(Square, 12), 144)
      }).pipe(Effect.provide(Embedded)), 30_000)

    it.live(
      "the calls of one key run one at a time, in the order they were sent",
      () =>
        withEvents((events) =>
          Effect.gen(function*() {
            // Each call hangs until its caller is interrupted; the log of starts and stops shows the next one starting
            // only once the one before it stopped.
            const ids = ["k-0", "k-1", "k-2", "k-3"]
            const fibers = yield* Effect.forEach(
              ids,
              (id) =>
                Effect.forkChild(ThreadPool.deferToThread(Hang, id, { key: "account-1" }), { startImmediately: true })
            )
            for (const [i, id] of ids.entries()) {
              yield* waitFor(events, `started ${id}`)
              yield* Fiber.interrupt(fibers[i]!)
              yield* waitFor(events, `stopped ${id}`)
            }
            assert.deepStrictEqual(events, ids.flatMap((id) => [`started ${id}`, `stopped ${id}`]))
          })
        ),
      30_000
    )

    it.live("calls without a key run concurrently", () =>
      withEvents((events) =>
        Effect.gen(function*() {
          // Two calls that hang until interrupted both start: they run at the same time, on two threads.
          const fibers = yield* Effect.forEach(["a", "b"], (id) => Effect.forkChild(ThreadPool.deferToThread(Hang, id)))
          yield* waitFor(events, "started a")
          yield* waitFor(events, "started b")
          yield* Fiber.interruptAll(fibers)
        })
      ), 30_000)

    it.live(
      "a trace crosses the cluster: the caller's span is the parent of the call's span on the runner",
      () =>
        Effect.gen(function*() {
          const spans: Array<{ readonly name: string; readonly id: string; readonly parent: string | undefined }> = []
          const tracer = Tracer.make({
            span(options) {
              const span = Tracer.nativeTracer.span(options)
              spans.push({ name: span.name, id: span.spanId, parent: Option.getOrUndefined(span.parent)?.spanId })
              return span
            }
          })
          yield* ThreadPool.deferToThread(Square, 3).pipe(Effect.withSpan("caller"), Effect.withTracer(tracer))
          const caller = spans.find((span) => span.name === "caller")!
          const sent = spans.find((span) => span.name === "effect-threads/Spread.client.Run")!
          const served = spans.find((span) => span.name === "effect-threads/Spread.Run")!
          assert.strictEqual(sent.parent, caller.id)
          assert.strictEqual(served.parent, sent.id)
        }).pipe(Effect.provide(Embedded)),
      30_000
    )

    it.live("an invalid payload fails at the caller, naming the task", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(ThreadPool.deferToThread(Square, "x" as never))
        assert.strictEqual(error._tag, "InvalidPayload")
      }).pipe(Effect.provide(Embedded)), 30_000)

    it.live(
      "statistics: the runner's pool (this process's), and the caller's calls in flight",
      () =>
        Effect.gen(function*() {
          const fiber = yield* Effect.forkChild(ThreadPool.deferToThread(Stamp, { ms: 200 }))
          const during = yield* ThreadPool.statistics.pipe(
            Effect.repeat({ until: (stats) => stats.busyWorkerCount === 1, schedule: Schedule.spaced("5 millis") })
          )
          assert.strictEqual(during.tasksInFlight, 1)
          assert.isAtLeast(during.workerCount, 1)
          yield* Fiber.join(fiber)
          const after = yield* ThreadPool.statistics
          assert.strictEqual(after.tasksInFlight, 0)
          assert.strictEqual(after.busyWorkerCount, 0)
          assert.isAtLeast(after.threadsStarted, 1)
        }).pipe(Effect.provide(Embedded)),
      30_000
    )

    it.live(
      "interrupting a caller interrupts its task in the runner's thread (with and without a key)",
      () =>
        Effect.gen(function*() {
          // The task tells the runner's main thread when it starts and when it is interrupted (mainHandlers).
          const started = yield* Queue.unbounded<string>()
          const stopped = yield* Queue.unbounded<string>()
          const probed = NodeCluster.layerEmbedded({
            tasks,
            entry: new URL("./fixtures/tasks.ts", import.meta.url),
            minThreads: 1,
            maxThreads: 4,
            mainHandlers: [
              Task.implement(Started, (id) => Effect.asVoid(Queue.offer(started, id))),
              Task.implement(Stopped, (id) => Effect.asVoid(Queue.offer(stopped, id)))
            ]
          })
          yield* Effect.gen(function*() {
            for (const key of [undefined, "account-2"]) {
              const id = key ?? "spread"
              const fiber = yield* Effect.forkChild(ThreadPool.deferToThread(Hang, id, { key }))
              assert.strictEqual(yield* Queue.take(started), id)
              yield* Fiber.interrupt(fiber)
              // The thread's own report (the test's timeout bounds the wait: it fails if the task kept running).
              assert.strictEqual(yield* Queue.take(stopped), id)
            }
            // A durable call too: interrupting its caller interrupts its task.
            const durable = yield* Effect.forkChild(ClusterThreadPool.deferOnce(Hang, "durable", { id: "hang-1" }))
            assert.strictEqual(yield* Queue.take(started), "durable")
            yield* Fiber.interrupt(durable)
            assert.strictEqual(yield* Queue.take(stopped), "durable")
            // Its stored outcome is that interruption: a repeat of its id is interrupted too, and runs nothing.
            const repeat = yield* Effect.exit(ClusterThreadPool.deferOnce(Hang, "durable", { id: "hang-1" }))
            assert.isTrue(Exit.isFailure(repeat) && Cause.hasInterruptsOnly(repeat.cause))
            assert.strictEqual(yield* Queue.size(started), 0)
            // The key is free again: its next call runs.
            assert.strictEqual(yield* ThreadPool.deferToThread(Square, 5, { key: "account-2" }), 25)
            assert.strictEqual((yield* ThreadPool.statistics).tasksInFlight, 0)
          }).pipe(Effect.provide(probed))
        }),
      30_000
    )

    it.live(
      "a streaming task streams from the runner's thread: elements, a typed failure, with and without a key",
      () =>
        Effect.gen(function*() {
          const elements = yield* Stream.runCollect(ThreadPool.stream(Count, { n: 50, ms: 0 }))
          assert.deepStrictEqual(elements.map((element) => element.i), Array.from({ length: 50 }, (_, i) => i))
          const keyed = yield* Stream.runCollect(ThreadPool.stream(Count, { n: 5, ms: 1 }, { key: "feed-1" }))
          assert.deepStrictEqual(keyed.map((element) => element.i), [0, 1, 2, 3, 4])
          const failed = yield* Effect.flip(Stream.runCollect(ThreadPool.stream(Count, { n: -2, ms: 0 })))
          assert.instanceOf(failed, Negative)
          // Taking the first elements ends the stream on the runner: its key is free for the next call.
          const firstTwo = yield* Stream.runCollect(
            Stream.take(ThreadPool.stream(Count, { n: 1_000_000, ms: 1 }, { key: "feed-2" }), 2)
          )
          assert.deepStrictEqual(firstTwo.map((element) => element.i), [0, 1])
          assert.strictEqual(yield* ThreadPool.deferToThread(Square, 9, { key: "feed-2" }), 81)
          assert.strictEqual((yield* ThreadPool.statistics).tasksInFlight, 0)
        }).pipe(Effect.provide(Embedded)),
      30_000
    )

    it.live(
      "deferOnce: one run per id; a repeat gets the stored outcome, success or typed failure",
      () =>
        Effect.gen(function*() {
          // Stamp's outcome is when it ran: a second run would give other times.
          const first = yield* ClusterThreadPool.deferOnce(Stamp, { ms: 5 }, { id: "order-1" })
          const again = yield* ClusterThreadPool.deferOnce(Stamp, { ms: 5 }, { id: "order-1" })
          assert.deepStrictEqual(again, first)
          // Another id is another run, with its own outcome.
          const other = yield* ClusterThreadPool.deferOnce(Stamp, { ms: 5 }, { id: "order-2" })
          assert.notDeepEqual(other, first)
          // Calls with one id at the same time: one run, one outcome for all.
          const together = yield* Effect.forEach(
            [1, 2, 3, 4],
            () => ClusterThreadPool.deferOnce(Stamp, { ms: 50 }, { id: "order-3" }),
            { concurrency: "unbounded" }
          )
          for (const stamp of together) assert.deepStrictEqual(stamp, together[0])
          // A typed failure is stored as well, and comes back as an instance of its class each time.
          for (let i = 0; i < 2; i++) {
            const error = yield* Effect.flip(ClusterThreadPool.deferOnce(Square, -4, { id: "square-1" }))
            assert.instanceOf(error, Negative)
          }
          // With a key: one at a time, in order, and still once per id.
          const keyed = yield* Effect.forEach(
            [0, 1, 2, 0, 1],
            (n) => ClusterThreadPool.deferOnce(Stamp, { ms: 3 }, { id: `step-${n}`, key: "job-7" })
          )
          assert.deepStrictEqual(keyed[3], keyed[0])
          assert.deepStrictEqual(keyed[4], keyed[1])
          assert.notDeepEqual(keyed[1], keyed[0])
          assert.notDeepEqual(keyed[2], keyed[1])
        }).pipe(Effect.provide(Embedded)),
      30_000
    )

    it.live("deferOnce: an invalid payload fails at the caller and stores nothing", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(ClusterThreadPool.deferOnce(Square, "x" as never, { id: "bad" }))
        assert.strictEqual(error._tag, "InvalidPayload")
        assert.strictEqual(yield* ClusterThreadPool.deferOnce(Square, 6, { id: "bad" }), 36)
      }).pipe(Effect.provide(Embedded)), 30_000)
  }

  it.live("the runner's logs name this process, not effect/cluster's default address", () => {
    const runners: Array<string> = []
    const logger = Logger.make((log) => {
      const runner = log.fiber.getRef(References.CurrentLogAnnotations)["runner"]
      if (runner !== undefined) runners.push(String(runner))
    })
    return Effect.gen(function*() {
      const started = yield* Queue.unbounded<string>()
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(
        NodeCluster.layerEmbedded({
          tasks,
          entry: new URL("./fixtures/tasks.ts", import.meta.url),
          minThreads: 1,
          maxThreads: 1,
          mainHandlers: [Task.implement(Started, (id) => Effect.asVoid(Queue.offer(started, id)))]
        }),
        scope
      )
      // A call in flight when the cluster shuts down (issue 19 saw the address then); at Debug, the runner also logs
      // with its address as it registers and leaves.
      yield* Effect.forkChild(Effect.provide(ThreadPool.deferToThread(Slow, { id: "last", ms: 200 }), context))
      assert.strictEqual(yield* Queue.take(started), "last")
      yield* Scope.close(scope, Exit.void)
      assert.isNotEmpty(runners)
      for (const runner of runners) assert.strictEqual(runner, `RunnerAddress(embedded-${process.pid}:0)`)
    }).pipe(Effect.provide(Logger.layer([logger])), Effect.provideService(References.MinimumLogLevel, "Debug"))
  }, 30_000)
})
