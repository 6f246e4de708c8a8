/**
 * The metrics of thread pools, as Effect `Metric`s: what piscina and poolifier keep in process objects, exported to
 * whatever metrics system the program wires to Effect's registry.
 *
 * Every pool updates these metrics with the attribute `pool` set to its name, so several pools share the metric
 * names and are told apart by that attribute. Read them with `Metric.value(PoolMetrics.busy.pipe(
 * Metric.withAttributes({ pool: "my-pool" })))`, or all at once with `Metric.snapshot`.
 *
 * @since 0.1.0
 */
import * as Metric from "effect/Metric"

/**
 * Tasks waiting in the pool's backlog (not yet given to a thread).
 *
 * @stability experimental
 * @category metrics
 * @since 0.1.0
 */
export const backlog = Metric.gauge("effect_threads_backlog", { description: "tasks waiting for a thread" })

/**
 * Threads holding at least one task.
 *
 * @stability experimental
 * @category metrics
 * @since 0.1.0
 */
export const busy = Metric.gauge("effect_threads_busy", { description: "threads holding a task" })

/**
 * Threads holding no task.
 *
 * @stability experimental
 * @category metrics
 * @since 0.1.0
 */
export const idle = Metric.gauge("effect_threads_idle", { description: "threads holding no task" })

/**
 * Tasks submitted.
 *
 * @stability experimental
 * @category metrics
 * @since 0.1.0
 */
export const tasks = Metric.counter("effect_threads_tasks_total", { description: "tasks submitted" })

/**
 * Tasks that ended in a typed failure, a defect or a thread error.
 *
 * @stability experimental
 * @category metrics
 * @since 0.1.0
 */
export const failures = Metric.counter("effect_threads_task_failures_total", { description: "tasks that failed" })

/**
 * Threads that died on their own (an exit, an uncaught exception, out of memory) while they held a task. Threads the
 * pool terminated are counted in {@link threadsTerminated}.
 *
 * @stability experimental
 * @category metrics
 * @since 0.1.0
 */
export const crashes = Metric.counter("effect_threads_thread_crashes_total", { description: "threads that died" })

/**
 * Threads the pool terminated while they held a task, because a task ignored its interrupt past the grace period.
 *
 * @stability experimental
 * @category metrics
 * @since 0.4.0
 */
export const threadsTerminated = Metric.counter("effect_threads_threads_terminated_total", {
  description: "threads terminated for ignoring an interrupt"
})

/**
 * Threads started, replacements included.
 *
 * @stability experimental
 * @category metrics
 * @since 0.1.0
 */
export const threadsStarted = Metric.counter("effect_threads_threads_started_total", {
  description: "threads started"
})

/**
 * Threads released (quit by a shrink, the adaptive release, a stop or a crash).
 *
 * @stability experimental
 * @category metrics
 * @since 0.1.0
 */
export const threadsReleased = Metric.counter("effect_threads_threads_released_total", {
  description: "threads released"
})

const boundaries = Metric.exponentialBoundaries({ start: 0.01, factor: 2, count: 24 })

/**
 * How long tasks waited before they were sent to a thread, in milliseconds.
 *
 * @stability experimental
 * @category metrics
 * @since 0.1.0
 */
export const queueWait = Metric.histogram("effect_threads_queue_wait_ms", {
  description: "time from submission to a thread, in milliseconds",
  boundaries
})

/**
 * How long tasks took from being sent to a thread to their answer, in milliseconds.
 *
 * @stability experimental
 * @category metrics
 * @since 0.1.0
 */
export const runTime = Metric.histogram("effect_threads_run_time_ms", {
  description: "time from a thread getting a task to its answer, in milliseconds",
  boundaries
})
