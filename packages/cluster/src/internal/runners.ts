// A caller's view of the cluster's runners: a call waits for one to be up before it is sent (at most runnerTimeout),
// and the calls in flight fail once none has been up for runnerTimeout, instead of waiting for one forever.
import * as ThreadError from "@effect-threads/core/ThreadError"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"

/**
 * @internal
 * A call sent came back interrupted though its caller did not interrupt it: the cluster did (a runner stops its
 * entities when it cannot refresh its shard locks, e.g. the database is out of its reach, and answers the calls
 * they ran with an interruption). The calls send it again; it never reaches a user.
 */
export class ClusterInterrupted extends Data.TaggedError("ClusterInterrupted")<{}> {}

/** @internal */
export interface RunnerWatch {
  /** Before a call is sent: waits until a runner is up, at most `runnerTimeout`, else `ThreadStartFailed`. */
  readonly ready: Effect.Effect<void, ThreadError.ThreadStartFailed>
  /**
   * Runs a call that is sent; when every runner has been gone for `runnerTimeout` while it waits for its outcome,
   * interrupts it and fails with `ThreadCrashed` (the task may have run: its runner is gone). A call that ends
   * interrupted while its caller was not fails with `ClusterInterrupted` instead.
   */
  readonly guard: <A, E>(
    task: string,
    call: Effect.Effect<A, E>
  ) => Effect.Effect<A, E | ThreadError.ThreadCrashed | ClusterInterrupted>
  /**
   * As `guard`, for a durable call: on an outage the caller fails but the call is not interrupted (an interruption
   * would be stored as its outcome); it stays in storage and runs when a runner is back. Interrupting the caller
   * still interrupts the call.
   */
  readonly guardStored: <A, E>(
    task: string,
    call: Effect.Effect<A, E>
  ) => Effect.Effect<A, E | ThreadError.ThreadCrashed | ClusterInterrupted>
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

/** How often the count is read while calls wait for a runner; all of them share each reading. */
const pollEvery = Duration.millis(200)

/** A reading that takes longer than this (the database does not answer) counts as "no runner". */
const readingTimeout = Duration.seconds(5)

const unrequested = Exit.fail(new ClusterInterrupted())

/** A stream the cluster interrupted (its caller did not): it is not sent again, its elements so far were taken. */
const streamInterrupted = (task: string) =>
  new ThreadError.ThreadCrashed({
    task,
    message: "the stream ended interrupted on the cluster, and its caller did not interrupt it: a runner stops the " +
      "calls it runs when it cannot refresh its shard locks (the database out of its reach), or the task " +
      "interrupted itself. A stream is not sent again (its elements so far were taken)."
  })

const unwatched: RunnerWatch = {
  ready: Effect.void,
  guard: (_task, call) => call,
  guardStored: (_task, call) => call,
  guardStream: (_task, stream) => stream
}

/** @internal */
export const make = (options: WatchOptions): Effect.Effect<RunnerWatch, never, Scope.Scope> =>
  Effect.gen(function*() {
    const runnerCount = options.runnerCount
    if (runnerCount === undefined) return unwatched
    const scope = yield* Effect.scope
    const timeoutMs = Duration.toMillis(options.runnerTimeout)
    // Who waits on a call sent: each is told once when an outage is declared. `unreadable` is why the last reading
    // failed (the database did not answer, or answered with an error); `pending` how many readings are under way
    // (the poll's and the watch's overlap), and `unanswered` since when none of them has been answered.
    const state = {
      seenAt: -Infinity,
      noneSince: -1,
      waiting: new Set<() => void>(),
      unreadable: undefined as { readonly reason: string; readonly cause: unknown } | undefined,
      pending: 0,
      unanswered: -1
    }
    /** A reading ends: answered (or given up on), or interrupted, which answers nothing. */
    const settled = (answer: boolean) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.sync(() => {
          state.pending--
          if (state.pending === 0) state.unanswered = -1
          else if (answer) state.unanswered = now
        }))
    // A reading that fails counts as no runner, and says why.
    const read = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      if (state.pending++ === 0) state.unanswered = now
      return yield* runnerCount.pipe(
        Effect.timeoutOrElse({
          duration: readingTimeout,
          orElse: () => Effect.fail(`no answer within ${Duration.format(readingTimeout)}`)
        }),
        Effect.map((n) => {
          state.unreadable = undefined
          return n
        }),
        Effect.catch((cause) => {
          state.unreadable = { reason: ThreadError.describe(cause), cause }
          return Effect.succeed(0)
        }),
        Effect.onExit((exit) => settled(Exit.isSuccess(exit)))
      )
    })
    // Calls waiting for a runner share one reading per poll, not one query each.
    const count = yield* Effect.cachedWithTTL(read, pollEvery)
    const sawRunner = (now: number) => {
      state.seenAt = now
      state.noneSince = -1
    }
    /** Why the database could not be read, if it could not (or readings have gone unanswered for a while). */
    const unreadable = (now: number) =>
      state.unreadable ?? (state.unanswered >= 0 && now - state.unanswered >= Math.min(1000, timeoutMs / 2)
        ? { reason: `no answer for ${Duration.format(Duration.millis(now - state.unanswered))}`, cause: undefined }
        : undefined)

    const ready: Effect.Effect<void, ThreadError.ThreadStartFailed> = Effect.gen(function*() {
      if ((yield* Clock.currentTimeMillis) - state.seenAt < trustReadingFor) return
      yield* count.pipe(
        Effect.repeat({ until: (n) => n > 0, schedule: Schedule.spaced(pollEvery) }),
        Effect.timeoutOrElse({
          duration: options.runnerTimeout,
          orElse: () =>
            Effect.flatMap(Clock.currentTimeMillis, (now) => {
              const failed = unreadable(now)
              const within = Duration.format(options.runnerTimeout)
              return Effect.fail(
                failed === undefined
                  ? new ThreadError.ThreadStartFailed({
                    message: `no cluster runner is up: none registered within ${within}`
                  })
                  : new ThreadError.ThreadStartFailed({
                    message: `the cluster's database could not be read for ${within} (${failed.reason}): ` +
                      `whether a runner is up is unknown; nothing was sent`,
                    cause: failed.cause
                  })
              )
            })
        })
      )
      sawRunner(yield* Clock.currentTimeMillis)
    })

    // While calls are in flight, read the count every so often; when it has said none (or could not be read) for
    // runnerTimeout, an outage is declared: every call waiting then is told (and fails), the calls sent later wait
    // for the next one.
    const check = Effect.gen(function*() {
      if (options.inFlight() === 0) {
        state.noneSince = -1
        return
      }
      const n = yield* read
      const now = yield* Clock.currentTimeMillis
      if (n > 0) return sawRunner(now)
      if (state.noneSince < 0) state.noneSince = now
      if (now - state.noneSince < timeoutMs) return
      const waiting = state.waiting
      state.waiting = new Set()
      state.noneSince = -1
      for (const tell of waiting) tell()
    })
    const every = Duration.millis(Math.max(100, Math.min(1000, timeoutMs / 4)))
    yield* Effect.forkScoped(Effect.repeat(check, Schedule.spaced(every)))

    /** The failure of a call told of an outage: no runner up, or a database that could not be read. */
    const crashed = (task: string, what: string) => {
      const failed = state.unreadable
      const within = Duration.format(options.runnerTimeout)
      return new ThreadError.ThreadCrashed({
        task,
        message: failed === undefined
          ? `every cluster runner is gone: none was up for ${within} while the call waited for its outcome (${what})`
          : `the cluster's database could not be read for ${within} (${failed.reason}) while the call waited for ` +
            `its outcome: whether its runner is up is unknown (${what})`,
        ...(failed?.cause === undefined ? {} : { cause: failed.cause })
      })
    }
    const mayHaveRun = "the task may have run"
    const stored = "the call stays stored and runs when a runner is up: call again with its id for its outcome"

    /** Fails when the next outage is declared. */
    const lost = (error: () => ThreadError.ThreadCrashed): Effect.Effect<never, ThreadError.ThreadCrashed> =>
      Effect.callback((resume) => {
        const tell = () => resume(Effect.fail(error()))
        state.waiting.add(tell)
        return Effect.sync(() => void state.waiting.delete(tell))
      })

    /**
     * Runs `call` in a fiber of its own (started at once: no scheduling hop, and no second fiber as `raceFirst` would
     * make; that cost 150-250 µs a call here) and waits for it, or fails with `error` when an outage is declared
     * first. The call's fiber is interrupted when its caller is, and on an outage if `interruptOnOutage`.
     */
    const guardWith = <A, E>(
      call: Effect.Effect<A, E>,
      error: () => ThreadError.ThreadCrashed,
      fork: (call: Effect.Effect<A, E>) => Effect.Effect<Fiber.Fiber<A, E>>,
      interruptOnOutage: boolean
    ): Effect.Effect<A, E | ThreadError.ThreadCrashed | ClusterInterrupted> =>
      Effect.uninterruptibleMask((restore) =>
        Effect.flatMap(fork(call), (fiber) => {
          let outage = false
          const wait = Effect.callback<A, E | ThreadError.ThreadCrashed | ClusterInterrupted>((resume) => {
            const tell = () => {
              outage = true
              resume(Effect.fail(error()))
            }
            state.waiting.add(tell)
            const stop = fiber.addObserver((exit) => {
              state.waiting.delete(tell)
              // Interrupting the caller stops this observer before the call's fiber is interrupted: an interruption
              // seen here is the cluster's own.
              resume(Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause) ? unrequested : exit)
            })
            return Effect.sync(() => {
              state.waiting.delete(tell)
              stop()
            })
          })
          return restore(wait).pipe(
            Effect.onExit((exit) =>
              Exit.isSuccess(exit) || (outage && !interruptOnOutage) ? Effect.void : Fiber.interrupt(fiber)
            )
          )
        })
      )

    return {
      ready,
      guard: (task, call) =>
        guardWith(call, () =>
          crashed(task, mayHaveRun), (effect) =>
          Effect.forkChild(effect, { startImmediately: true }), true),
      guardStored: (task, call) =>
        guardWith(
          call,
          () =>
            crashed(task, stored),
          (effect) =>
            Effect.forkIn(effect, scope, { startImmediately: true }),
          false
        ),
      guardStream: (task, stream) =>
        Stream.interruptWhen(stream, lost(() => crashed(task, mayHaveRun))).pipe(
          // Its caller's own interruption is not caught here: an interruption that is, is the cluster's.
          Stream.catchCause((cause) =>
            Cause.hasInterruptsOnly(cause) ? Stream.fail(streamInterrupted(task)) : Stream.failCause(cause)
          )
        )
    }
  })
