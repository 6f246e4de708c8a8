/**
 * Metrics and tracing on real threads: the pool's metrics are read back from Effect's registry, and spans are
 * captured by recording tracers on both sides of the thread boundary.
 */
import { PoolMetrics, ThreadPool } from "@effect-threads/core"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import { NodeThreadPool } from "../src/index.ts"
import * as Api from "./fixtures/api.ts"
import { recordingTracer } from "./fixtures/recording-tracer.ts"
import { type RecordedSpan, Spans, Traced } from "./fixtures/tracing-api.ts"
import { entry, waitIdle } from "./helpers.ts"

const tracedEntry = new URL("./fixtures/traced.ts", import.meta.url)

type Recorded = typeof RecordedSpan.Type

const find = (spans: ReadonlyArray<Recorded>, name: string): Recorded => {
  const span = spans.find((s) => s.name === name)
  assert.isDefined(span, `a span named ${name}`)
  return span!
}

describe("Metrics", () => {
  it.live("the pool's metrics count tasks, failures, crashes and threads, tagged with the pool's name", () =>
    Effect.gen(function*() {
      const pool = yield* ThreadPool.ThreadPool
      for (let i = 0; i < 5; i++) yield* pool.deferToThread(Api.Add, { x: i, y: 1 })
      yield* Effect.flip(pool.deferToThread(Api.Fail, "no"))
      yield* Effect.flip(pool.deferToThread(Api.Exit, 3))
      yield* pool.deferToThread(Api.Add, { x: 1, y: 1 })
      yield* waitIdle(pool)
      const tagged = <I, S>(metric: Metric.Metric<I, S>) =>
        Metric.value(Metric.withAttributes(metric, { pool: "metrics-test" }))
      const tasks = yield* tagged(PoolMetrics.tasks)
      const failures = yield* tagged(PoolMetrics.failures)
      const crashes = yield* tagged(PoolMetrics.crashes)
      const started = yield* tagged(PoolMetrics.threadsStarted)
      const queueWait = yield* tagged(PoolMetrics.queueWait)
      const runTime = yield* tagged(PoolMetrics.runTime)
      assert.strictEqual(tasks.count, 8)
      assert.strictEqual(failures.count, 2)
      assert.strictEqual(crashes.count, 1)
      assert.strictEqual(started.count, 2)
      assert.strictEqual(queueWait.count, 8)
      assert.strictEqual(runTime.count, 8)
      const other = yield* Metric.value(Metric.withAttributes(PoolMetrics.tasks, { pool: "another-pool" }))
      assert.strictEqual(other.count, 0)
      const idle = yield* tagged(PoolMetrics.idle)
      const busy = yield* tagged(PoolMetrics.busy)
      const backlog = yield* tagged(PoolMetrics.backlog)
      assert.strictEqual(idle.value, 1)
      assert.strictEqual(busy.value, 0)
      assert.strictEqual(backlog.value, 0)
    }).pipe(
      Effect.provide(NodeThreadPool.layer({ entry, minThreads: 1, maxThreads: 1, name: "metrics-test" }))
    ))
})

describe("Tracing", () => {
  it.live("with tracing on: a task span, a queue span under it, and the thread's span under it, in one trace", () => {
    const main = recordingTracer()
    return Effect.gen(function*() {
      const pool = yield* ThreadPool.ThreadPool
      assert.strictEqual(yield* pool.deferToThread(Traced, 21), 42)
      const thread = yield* pool.deferToThread(Spans, undefined)
      const task = find(main.recorded, "effect-threads.task Traced")
      const queued = main.recorded.find((s) => s.name === "effect-threads.queued" && s.parent === task.spanId)
      assert.isDefined(queued, "a queue span under the task span")
      assert.strictEqual(queued!.traceId, task.traceId)
      const work = find(thread, "effect-threads.thread Traced")
      assert.strictEqual(work.parent, task.spanId)
      assert.strictEqual(work.traceId, task.traceId)
    }).pipe(
      Effect.provide(NodeThreadPool.layer({ entry: tracedEntry, minThreads: 1, maxThreads: 1, tracing: true })),
      Effect.withTracer(main.tracer)
    )
  })

  it.live("with tracing off: the thread's span is a child of the caller's own span", () => {
    const main = recordingTracer()
    return Effect.gen(function*() {
      const pool = yield* ThreadPool.ThreadPool
      yield* pool.deferToThread(Traced, 1).pipe(Effect.withSpan("caller"))
      const thread = yield* pool.deferToThread(Spans, undefined)
      const caller = find(main.recorded, "caller")
      assert.isUndefined(main.recorded.find((s) => s.name.startsWith("effect-threads.")))
      const work = find(thread, "effect-threads.thread Traced")
      assert.strictEqual(work.parent, caller.spanId)
      assert.strictEqual(work.traceId, caller.traceId)
    }).pipe(
      Effect.provide(NodeThreadPool.layer({ entry: tracedEntry, minThreads: 1, maxThreads: 1 })),
      Effect.withTracer(main.tracer)
    )
  })
})
