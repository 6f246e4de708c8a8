/**
 * The job's live view. On a terminal it is a few lines that `log-update` redraws in place ten times a second;
 * without one (a pipe, a CI log, the test) it prints a plain line every half second, and a line when a runner is
 * sent a signal.
 */
import { ThreadPool } from "@effect-threads/core"
import { Effect, Schedule } from "effect"
import logUpdate from "log-update"
import type { Progress } from "./job.ts"
import type { Runner } from "./runners.ts"

export const isTerminal = process.stdout.isTTY === true

export const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`
const count = (n: number): string => n.toLocaleString("en")

const bar = (part: number, whole: number, width: number): string => {
  const full = whole === 0 ? 0 : Math.round((part / whole) * width)
  return "#".repeat(full) + "-".repeat(width - full)
}

/** Tasks per second over about the last second, from the samples the view takes at each tick. */
const rate = (samples: Array<{ readonly at: number; readonly done: number }>, progress: Progress): number => {
  const now = performance.now()
  samples.push({ at: now, done: progress.done })
  while (samples.length > 2 && now - samples[1]!.at >= 1000) samples.shift()
  const first = samples[0]!
  return now - first.at < 1 ? 0 : ((progress.done - first.done) * 1000) / (now - first.at)
}

/** Time since the last task settled, once a runner has been sent a signal and nothing has settled for 0.5 s. */
const stalled = (progress: Progress): number | undefined => {
  if (progress.fault === undefined || progress.done === progress.total) return undefined
  const idle = performance.now() - progress.lastSettledAt
  return idle >= 500 ? idle : undefined
}

/** The runners' threads as the cluster's statistics last said, e.g. `threads 5/6 busy`. */
const threads = (progress: Progress): string =>
  progress.threads === undefined ? "" : `  threads ${progress.threads.busy}/${progress.threads.all} busy`

const frame = (progress: Progress, runners: ReadonlyArray<Runner>, perSecond: number): string => {
  const elapsed = performance.now() - progress.startedAt
  const lines = [
    `[${bar(progress.done, progress.total, 30)}] ${count(progress.done).padStart(6)}/${count(progress.total)}` +
    `  ${count(Math.round(perSecond)).padStart(5)} tasks/s  ${seconds(elapsed)}${threads(progress)}`
  ]
  for (const runner of runners) {
    const served = progress.served.get(runner.name) ?? 0
    const fault = progress.fault?.runner === runner.name
      ? `  ${progress.fault.signal} at ${seconds(progress.fault.at)}`
      : ""
    lines.push(
      `  ${runner.name} (pid ${runner.pid})  ${count(served).padStart(6)}  ${bar(served, progress.total, 20)}${fault}`
    )
  }
  const idle = stalled(progress)
  if (idle !== undefined) lines.push(`  no task settled for ${seconds(idle)}: waiting for the shards to move`)
  return lines.join("\n")
}

const line = (progress: Progress, runners: ReadonlyArray<Runner>, perSecond: number): string => {
  const served = runners.map((runner) => `${runner.name} ${count(progress.served.get(runner.name) ?? 0)}`)
  const idle = stalled(progress)
  return `  ${seconds(performance.now() - progress.startedAt).padStart(6)}  ${count(progress.done)}/${
    count(progress.total)
  }  ${count(Math.round(perSecond))} tasks/s  ${served.join(", ")}${threads(progress)}` +
    (idle === undefined ? "" : `  (no task settled for ${seconds(idle)})`)
}

/** Shows `progress` live for the current scope; closing the scope draws the last frame. */
export const live = (progress: Progress, runners: ReadonlyArray<Runner>) =>
  Effect.gen(function*() {
    const samples: Array<{ at: number; done: number }> = []
    let faultShown = false
    const draw = Effect.sync(() => {
      const perSecond = rate(samples, progress)
      if (isTerminal) return logUpdate(frame(progress, runners, perSecond))
      const fault = progress.fault
      if (fault !== undefined && !faultShown) {
        faultShown = true
        console.log(`  ${seconds(fault.at).padStart(6)}  ${fault.signal} sent to ${fault.runner}`)
      }
      console.log(line(progress, runners, perSecond))
    })
    // finalizers run in reverse: the ticker stops first, then the last frame is drawn
    yield* Effect.addFinalizer(() => Effect.andThen(draw, Effect.sync(() => isTerminal && logUpdate.done())))
    yield* draw.pipe(Effect.repeat(Schedule.spaced(isTerminal ? "100 millis" : "500 millis")), Effect.forkScoped)
    // The runners' pools, added up by the cluster (each runner writes its statistics to Postgres every second).
    yield* ThreadPool.statistics.pipe(
      Effect.tap((stats) =>
        Effect.sync(() => void (progress.threads = { all: stats.workerCount, busy: stats.busyWorkerCount }))
      ),
      Effect.repeat(Schedule.spaced("500 millis")),
      Effect.ignore,
      Effect.forkScoped
    )
  })
