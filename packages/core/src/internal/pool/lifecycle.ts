/**
 * A pool's lifecycle: Twisted's `start` (grow to the minimum, then by the backlog), `stop` (quit the team, let the
 * backlog drain through the threads there are, wait until every thread is gone), `adjustPoolsize`, and the adaptive
 * policy's two fibers (the creation token's pacing, the release of idle threads).
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { AlreadyQuit } from "../../AlreadyQuit.ts"
import type { InvalidLimit, ThreadStartFailed } from "../../ThreadError.ts"
import * as Pacer from "../pacer.ts"
import * as Team from "../team.ts"
import * as Placing from "./placing.ts"
import type * as Pool from "./pool.ts"
import * as Section from "./section.ts"
import * as Thread from "./thread.ts"

/** The limit to grow up to now. */
const limit = (pool: Pool.Pool): Effect.Effect<number, InvalidLimit> =>
  pool.readLimit ?? Effect.sync(() => pool.section.maxThreads)

/** Waits until `thread` is ready; fails if it could not start. */
const awaitReady = (thread: Thread.Thread): Effect.Effect<void, ThreadStartFailed> =>
  Effect.callback<void, ThreadStartFailed>((resume) => {
    if (thread.state !== Thread.STARTING) return resume(Effect.void)
    thread.onReady.push((error) => resume(error === undefined ? Effect.void : Effect.fail(error)))
  })

/** Grows a started pool to its minimum and shrinks it to its maximum. */
export const adjust = (pool: Pool.Pool): Effect.Effect<Array<Thread.Thread>, InvalidLimit> =>
  Effect.suspend(() => {
    const section = pool.section
    if (!section.started) return Effect.succeed([])
    const workers = Team.size(section.team)
    if (workers > section.maxThreads) Team.quitIdlers(section.team, workers - section.maxThreads)
    const now = Team.size(section.team)
    if (now >= section.minThreads) return Effect.succeed([])
    return Effect.map(limit(pool), (max) => Placing.grow(section, section.minThreads - now, max))
  })

/** Starts the pool: threads up to the minimum, then one per backlogged task as the limit allows; waits for them. */
export const start = (pool: Pool.Pool): Effect.Effect<void, AlreadyQuit | InvalidLimit | ThreadStartFailed> =>
  Effect.gen(function*() {
    const section = pool.section
    if (section.quitting) return yield* new AlreadyQuit()
    section.started = true
    const created = yield* adjust(pool)
    if (section.team.backlog.length > 0) {
      const max = yield* limit(pool)
      created.push(...Placing.grow(section, section.team.backlog.length, max))
    }
    yield* Effect.forEach(created, awaitReady, { discard: true })
  })

/** Quits the team and waits until the backlog has drained and every thread is gone; what no thread ran fails. */
export const stop = (pool: Pool.Pool): Effect.Effect<void, AlreadyQuit> =>
  Effect.suspend(() => {
    const section = pool.section
    if (section.quitting) return Effect.fail(new AlreadyQuit())
    section.quitting = true
    Team.quit(section.team)
    Section.flushAll(section)
    return Effect.andThen(
      Section.awaitUntil(section, () => section.teamQuit && section.threads.size === 0),
      Effect.sync(() => {
        section.started = false
        Section.abandon(section, new AlreadyQuit())
      })
    )
  })

/**
 * The adaptive policy (`Pacer.run`): the creation token is given back after each delay of `pacing` (and the backlog
 * grows a thread at once when it is), and idle threads beyond the minimum are released on the `release` schedule.
 */
export const adaptive = (pool: Pool.Pool, policy: Pacer.Policy): Effect.Effect<void, never, Scope.Scope> =>
  Effect.suspend(() => {
    const section = pool.section
    const taken = Pacer.signal(() => !section.token)
    section.onTokenTaken = taken.notify
    return Pacer.run(policy, {
      taken: taken.wait,
      giveBack: Effect.sync(() => {
        section.token = true
        if (section.team.backlog.length > 0 && section.started && !section.quitting) {
          pool.run(Effect.flatMap(limit(pool), (max) => Effect.sync(() => Placing.grow(section, 1, max))))
        }
      }),
      releaseIdle: ({ idleFor, max }) =>
        Effect.sync(() => {
          if (section.quitting) return
          Team.releaseIdle(section.team, { idleFor, max, keep: section.minThreads })
          Section.flushAll(section)
        })
    })
  })
