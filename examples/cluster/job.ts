/**
 * The job: `total` tasks sent to the `ThreadPool` service, `concurrency` at a time, each recorded as it settles
 * (which runner served it), optionally with one runner stopped by a signal partway through. The live view reads
 * the same `Progress`.
 */
import { ThreadPool } from "@effect-threads/core"
import { Data, Effect } from "effect"
import { Job } from "./api.ts"
import type { Runner } from "./runners.ts"

export interface JobOptions {
  readonly total: number
  /** How long each task waits in its thread. */
  readonly ms: number
  readonly concurrency: number
  /** Stop `runner` with `signal` once `after` tasks have settled. */
  readonly fault?:
    | { readonly runner: Runner; readonly signal: "SIGKILL" | "SIGTERM"; readonly after: number }
    | undefined
}

/** A signal sent to a runner mid-run, and the longest time after it during which no task settled. */
export interface Fault {
  readonly runner: string
  readonly signal: "SIGKILL" | "SIGTERM"
  /** When it was sent, in ms since the job started, and how many tasks had settled then. */
  readonly at: number
  readonly done: number
  stall: number
}

/** The job so far: written as tasks settle, read by the live view. */
export interface Progress {
  readonly total: number
  readonly startedAt: number
  done: number
  /** Tasks served, by runner name. */
  readonly served: Map<string, number>
  lastSettledAt: number
  fault: Fault | undefined
  /** The runners' threads, all and busy, as the cluster's `statistics` last said. */
  threads: { readonly all: number; readonly busy: number } | undefined
}

export const makeProgress = (total: number): Progress => ({
  total,
  startedAt: performance.now(),
  done: 0,
  served: new Map(),
  lastSettledAt: performance.now(),
  fault: undefined,
  threads: undefined
})

/** A task settled a second time, or never: what the cluster promises not to do. */
export class NotSettledOnce extends Data.TaggedError("NotSettledOnce")<{ readonly message: string }> {}

/** The job's summary, once every task has settled. */
export interface Report {
  readonly total: number
  readonly ms: number
  readonly served: ReadonlyMap<string, number>
  readonly fault: Fault | undefined
}

export const run = (options: JobOptions, progress: Progress) =>
  Effect.gen(function*() {
    const settled = new Uint8Array(options.total)
    const record = (result: typeof Job.success.Type) =>
      Effect.suspend(() => {
        const now = performance.now()
        settled[result.id]! += 1
        progress.done += 1
        progress.served.set(result.runner, (progress.served.get(result.runner) ?? 0) + 1)
        const fault = progress.fault
        if (fault !== undefined) {
          const since = Math.max(progress.lastSettledAt, progress.startedAt + fault.at)
          fault.stall = Math.max(fault.stall, now - since)
        }
        progress.lastSettledAt = now
        return options.fault !== undefined && fault === undefined && progress.done >= options.fault.after
          ? sendFault(options.fault, progress)
          : Effect.void
      })
    yield* Effect.forEach(
      Array.from({ length: options.total }, (_, id) => id),
      (id) => Effect.flatMap(ThreadPool.deferToThread(Job, { id, ms: options.ms }), record),
      { concurrency: options.concurrency, discard: true }
    )
    const ms = performance.now() - progress.startedAt
    const wrong = [...settled.keys()].filter((id) => settled[id] !== 1)
    if (wrong.length > 0) {
      return yield* new NotSettledOnce({
        message: `${wrong.length} tasks did not settle exactly once: ${wrong.slice(0, 10).join(", ")}`
      })
    }
    return { total: options.total, ms, served: progress.served, fault: progress.fault } satisfies Report
  })

const sendFault = (fault: NonNullable<JobOptions["fault"]>, progress: Progress) =>
  Effect.andThen(
    Effect.sync(() => {
      progress.fault = {
        runner: fault.runner.name,
        signal: fault.signal,
        at: performance.now() - progress.startedAt,
        done: progress.done,
        stall: 0
      }
    }),
    fault.runner.kill(fault.signal)
  )
