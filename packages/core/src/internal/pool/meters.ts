/**
 * A pool's metrics (the `PoolMetrics` of its name), updated per batch rather than per task: counters accumulate in
 * plain numbers and reach their metrics when the pool flushes, gauges are written only when their numbers changed,
 * and the two histograms take one observation per task.
 *
 * @internal
 */
import * as Context from "effect/Context"
import * as Metric from "effect/Metric"
import * as PoolMetrics from "../../PoolMetrics.ts"

/** The metrics of one pool, and what has not reached them yet. */
export interface Meters {
  readonly context: Context.Context<never>
  readonly backlog: Metric.Metric<number, unknown>
  readonly busy: Metric.Metric<number, unknown>
  readonly idle: Metric.Metric<number, unknown>
  readonly tasks: Metric.Metric<number, unknown>
  readonly failures: Metric.Metric<number, unknown>
  readonly crashes: Metric.Metric<number, unknown>
  readonly terminated: Metric.Metric<number, unknown>
  readonly threadsStarted: Metric.Metric<number, unknown>
  readonly threadsReleased: Metric.Metric<number, unknown>
  readonly queueWait: Metric.Metric<number, unknown>
  readonly runTime: Metric.Metric<number, unknown>
  /**
   * Counts not yet added to their counters, added to by whoever counts: the section's books (tasks, failures), the
   * threads' lives (`threads.ts`), a bulk call's batches (`batches.ts`: the elements of a batch); zeroed by {@link flush}.
   */
  readonly pending: {
    tasks: number
    failures: number
    crashes: number
    terminated: number
    threadsStarted: number
    threadsReleased: number
  }
  /** The gauges' last values. */
  readonly gauges: { backlog: number; busy: number; idle: number }
}

/**
 * The metrics of the pool `name`, updated in `context`. The pool's attribute is put in the context once, here (as
 * `Metric.withAttributes` would on every update, with a new key each time): each update then finds its series by
 * the cached key.
 */
export const make = (name: string, context: Context.Context<never>): Meters => {
  const attributes = { ...Context.get(context, Metric.CurrentMetricAttributes), pool: name }
  return {
    context: Context.add(context, Metric.CurrentMetricAttributes, attributes),
    backlog: PoolMetrics.backlog,
    busy: PoolMetrics.busy,
    idle: PoolMetrics.idle,
    tasks: PoolMetrics.tasks,
    failures: PoolMetrics.failures,
    crashes: PoolMetrics.crashes,
    terminated: PoolMetrics.threadsTerminated,
    threadsStarted: PoolMetrics.threadsStarted,
    threadsReleased: PoolMetrics.threadsReleased,
    queueWait: PoolMetrics.queueWait,
    runTime: PoolMetrics.runTime,
    pending: { tasks: 0, failures: 0, crashes: 0, terminated: 0, threadsStarted: 0, threadsReleased: 0 },
    gauges: { backlog: -1, busy: -1, idle: -1 }
  }
}

/** One observation of a histogram. */
export const observe = (self: Meters, histogram: Metric.Metric<number, unknown>, value: number): void =>
  histogram.updateUnsafe(value, self.context)

const add = (self: Meters, counter: Metric.Metric<number, unknown>, count: number): void => {
  if (count > 0) counter.updateUnsafe(count, self.context)
}

const gauge = (self: Meters, key: "backlog" | "busy" | "idle", value: number): void => {
  if (self.gauges[key] === value) return
  self.gauges[key] = value
  self[key].updateUnsafe(value, self.context)
}

/** Brings the counters and gauges up to date: once per batch. */
export const flush = (self: Meters, backlog: number, busy: number, idle: number): void => {
  const pending = self.pending
  add(self, self.tasks, pending.tasks)
  add(self, self.failures, pending.failures)
  add(self, self.crashes, pending.crashes)
  add(self, self.terminated, pending.terminated)
  add(self, self.threadsStarted, pending.threadsStarted)
  add(self, self.threadsReleased, pending.threadsReleased)
  pending.tasks = 0
  pending.failures = 0
  pending.crashes = 0
  pending.terminated = 0
  pending.threadsStarted = 0
  pending.threadsReleased = 0
  gauge(self, "backlog", backlog)
  gauge(self, "busy", busy)
  gauge(self, "idle", idle)
}
