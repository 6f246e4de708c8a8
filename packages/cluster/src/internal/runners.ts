// A caller's view of the cluster's runners: a call waits for one to be up before it is sent (at most runnerTimeout),
// and the calls in flight fail once none has been up for runnerTimeout, instead of waiting for one forever.
import * as ThreadError from "@effect-threads/core/ThreadError"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"

/** @internal */
export interface RunnerWatch {
  /** Before a call is sent: waits until a runner is up, at most `runnerTimeout`, else `ThreadStartFailed`. */
  readonly ready: Effect.Effect<void, ThreadError.ThreadStartFailed>
  /**
   * Runs a call that is sent; when every runner has been gone for `runnerTimeout` while it waits for its outcome,
   * interrupts it and fails with `ThreadCrashed` (the task may have run: its runner is gone).
   */
  readonly guard: <A, E>(task: string, call: Effect.Effect<A, E>) => Effect.Effect<A, E | ThreadError.ThreadCrashed>
  /** As `guard`, for a stream. */
  readonly guardStream: <A, E>(
    task: string,
    stream: Stream.Stream<A, E>
  ) => Stream.Stream<A, E | ThreadError.ThreadCrashed>
}

/** @internal */
export interface WatchOptions {
  /** How many runners are up and healthy; without it (the embedded cluster) calls are never held or failed. */
  readonly runnerCount: Effect.Effect<number, unknown> | undefined
  readonly runnerTimeout: Duration.Duration
  /** How many calls are in flight: the runners are watched only while some are. */
  readonly inFlight: () => number
}

/** A reading that says some runner is up is trusted this long before a call reads again. */
const trustReadingFor = 1000

/** @internal */
export const make = (options: WatchOptions): Effect.Effect<RunnerWatch, never, Scope.Scope> =>
  Effect.gen(function*() {
    const runnerCount = options.runnerCount
    if (runnerCount === undefined) {
      return { ready: Effect.void, guard: (_task, call) => call, guardStream: (_task, stream) => stream }
    }
    const timeoutMs = Duration.toMillis(options.runnerTimeout)
    const count = Effect.orElseSucceed(runnerCount, () => 0)
    const state = { seenAt: -Infinity, noneSince: -1, outage: yield* Deferred.make<void>() }

    const ready: Effect.Effect<void, ThreadError.ThreadStartFailed> = Effect.suspend(() => {
      if (Date.now() - state.seenAt < trustReadingFor) return Effect.void
      return count.pipe(
        Effect.repeat({ until: (n) => n > 0, schedule: Schedule.spaced("200 millis") }),
        Effect.timeoutOrElse({
          duration: options.runnerTimeout,
          orElse: () =>
            Effect.fail(
              new ThreadError.ThreadStartFailed({
                message: `no cluster runner is up: none registered within ${Duration.format(options.runnerTimeout)}`
              })
            )
        }),
        Effect.andThen(Effect.sync(() => void (state.seenAt = Date.now())))
      )
    })

    // While calls are in flight, read the count every so often; when it has said none for runnerTimeout, the
    // current outage signal fires (failing the calls that hold it) and the next calls get a fresh one.
    const check = Effect.gen(function*() {
      if (options.inFlight() === 0) {
        state.noneSince = -1
        return
      }
      const n = yield* count
      const now = yield* Clock.currentTimeMillis
      if (n > 0) {
        state.noneSince = -1
        state.seenAt = now
        return
      }
      if (state.noneSince < 0) state.noneSince = now
      if (now - state.noneSince < timeoutMs) return
      const outage = state.outage
      state.outage = yield* Deferred.make<void>()
      state.noneSince = -1
      yield* Deferred.succeed(outage, undefined)
    })
    const every = Duration.millis(Math.max(100, Math.min(1000, timeoutMs / 4)))
    yield* Effect.forkScoped(Effect.repeat(check, Schedule.spaced(every)))

    /** Fails once the current outage signal fires (taken when the call starts). */
    const lost = (task: string): Effect.Effect<never, ThreadError.ThreadCrashed> =>
      Effect.andThen(
        Deferred.await(state.outage),
        Effect.fail(
          new ThreadError.ThreadCrashed({
            task,
            message: `every cluster runner is gone: none was up for ${
              Duration.format(options.runnerTimeout)
            } while the call waited for its outcome (the task may have run)`
          })
        )
      )
    return {
      ready,
      guard: (task, call) => Effect.raceFirst(call, lost(task)),
      guardStream: (task, stream) => Stream.interruptWhen(stream, lost(task))
    }
  })
