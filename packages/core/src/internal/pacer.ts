/**
 * The adaptive policy's pacer, written once for `ThreadPool` and `TeamPool` (spec 5.1, Twisted ticket 5298): one
 * creation token, given back after each delay of the `pacing` schedule (and then a worker for the backlog), and idle
 * workers released on the `release` schedule. The pool keeps the token where its creation decision reads it and says
 * when it was taken ({@link Signal}); the pacer only runs the two fibers.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"

/** The adaptive sizing policy (documented on its public name, `TeamPool.Adaptive`). */
export interface Policy {
  /** Workers kept once created: created without pacing, never released. Default 0. */
  readonly minWorkers?: number | undefined
  /** How long a worker must have been idle before it may be released. Default 10 seconds. */
  readonly keepAlive?: Duration.Input | undefined
  /** When to look for idle workers to release. Default `Schedule.spaced("1 second")`. */
  readonly release?: Schedule.Schedule<unknown> | undefined
  /** How many workers one look may release. Default 1. */
  readonly releaseAtMost?: number | undefined
  /** The delays between creations above `minWorkers`. Default `Schedule.spaced("100 millis")`. */
  readonly pacing?: Schedule.Schedule<unknown> | undefined
}

/** What the pacer asks of a pool. */
export interface Target {
  /** Waits until the creation token has been taken (at once if it is taken already). */
  readonly taken: Effect.Effect<void>
  /** The token is back: puts it back and, when work waits, creates a worker for it. */
  readonly giveBack: Effect.Effect<void, unknown>
  /** Quits at most `max` workers idle for `idleFor` milliseconds or longer, the longest idle first. */
  readonly releaseIdle: (
    releasing: { readonly idleFor: number; readonly max: number }
  ) => Effect.Effect<void, unknown>
}

/** A one-shot wake-up: {@link wait} resumes when `ready` holds, at once or at the next {@link notify}. */
export interface Signal {
  readonly notify: () => void
  readonly wait: Effect.Effect<void>
}

/** Makes a {@link Signal} on the condition `ready`. */
export const signal = (ready: () => boolean): Signal => {
  let waiter: (() => void) | undefined
  return {
    notify: () => {
      const wake = waiter
      waiter = undefined
      wake?.()
    },
    wait: Effect.callback<void>((resume) => {
      if (ready()) return resume(Effect.void)
      waiter = () => resume(Effect.void)
      return Effect.sync(() => {
        waiter = undefined
      })
    })
  }
}

/**
 * Runs the policy's two fibers in the current scope: the token's pacing and the release of idle workers. A fiber
 * whose step fails stops.
 */
export const run = (policy: Policy, target: Target): Effect.Effect<void, never, Scope.Scope> =>
  Effect.gen(function*() {
    const pace = yield* Schedule.toStepWithSleep(policy.pacing ?? Schedule.spaced(Duration.millis(100)))
    const refill = target.taken.pipe(
      Effect.andThen(pace(undefined)),
      Effect.andThen(target.giveBack),
      Effect.forever
    )
    yield* Effect.forkScoped(Effect.ignore(refill))
    const tick = yield* Schedule.toStepWithSleep(policy.release ?? Schedule.spaced(Duration.seconds(1)))
    const idleFor = Duration.toMillis(Duration.fromInputUnsafe(policy.keepAlive ?? Duration.seconds(10)))
    const max = policy.releaseAtMost ?? 1
    const release = tick(undefined).pipe(
      Effect.andThen(target.releaseIdle({ idleFor, max })),
      Effect.forever
    )
    yield* Effect.forkScoped(Effect.ignore(release))
  })
