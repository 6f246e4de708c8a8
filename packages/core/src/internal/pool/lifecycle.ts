/**
 * A pool's lifecycle: Twisted's `start` (grow to the minimum, then by the backlog), `stop` (quit the team, let the
 * backlog drain through the threads there are, wait until every thread is gone), `adjustPoolsize`, closing with its
 * scope, and the adaptive policy's two fibers (the creation token's pacing, the release of idle threads). This module
 * writes the section's size and life (`minThreads`, `maxThreads`, `started`, `quitting`, `closing`).
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Scope from "effect/Scope"
import { AlreadyQuit } from "../../AlreadyQuit.ts"
import type { InvalidLimit, ThreadStartFailed } from "../../ThreadError.ts"
import * as Pacer from "../pacer.ts"
import * as Team from "../team.ts"
import * as Section from "./section.ts"
import * as Thread from "./thread.ts"
import * as Threads from "./threads.ts"
import * as Ticket from "./ticket.ts"

type Sec = Section.Section

/** The limit to grow up to now. */
const limit = (self: Sec): Effect.Effect<number, InvalidLimit> =>
  self.options.readLimit ?? Effect.sync(() => self.maxThreads)

/** Waits until `thread` is ready; fails if it could not start. */
const awaitReady = (thread: Thread.Thread): Effect.Effect<void, ThreadStartFailed> =>
  Effect.callback<void, ThreadStartFailed>((resume) => {
    if (thread.state !== Thread.STARTING) return resume(Effect.void)
    thread.onReady.push((error) => resume(error === undefined ? Effect.void : Effect.fail(error)))
  })

/** Grows a started pool to its minimum and shrinks it to its maximum. */
const adjust = (self: Sec): Effect.Effect<Array<Thread.Thread>, InvalidLimit> =>
  Effect.suspend(() => {
    if (!self.started) return Effect.succeed([])
    const workers = Team.size(self.team)
    if (workers > self.maxThreads) Team.quitIdlers(self.team, workers - self.maxThreads)
    const now = Team.size(self.team)
    if (now >= self.minThreads) return Effect.succeed([])
    return Effect.map(limit(self), (max) => Threads.grow(self, self.minThreads - now, max))
  })

/** `adjustPoolsize`, its bounds checked already: the new size, then the pool grown or shrunk to it if started. */
export const resize = (self: Sec, minThreads: number, maxThreads: number): Effect.Effect<void, InvalidLimit> =>
  Effect.suspend(() => {
    self.minThreads = minThreads
    self.maxThreads = maxThreads
    return Effect.asVoid(adjust(self))
  })

/** Starts the pool: threads up to the minimum, then one per backlogged task as the limit allows; waits for them. */
export const start = (self: Sec): Effect.Effect<void, AlreadyQuit | InvalidLimit | ThreadStartFailed> =>
  Effect.gen(function*() {
    if (self.quitting) return yield* new AlreadyQuit()
    self.started = true
    const created = yield* adjust(self)
    if (self.team.backlog.length > 0) {
      const max = yield* limit(self)
      created.push(...Threads.grow(self, self.team.backlog.length, max))
    }
    yield* Effect.forEach(created, awaitReady, { discard: true })
  })

/** Quits the team and waits until the backlog has drained and every thread is gone; what no thread ran fails. */
export const stop = (self: Sec): Effect.Effect<void, AlreadyQuit> =>
  Effect.suspend(() => {
    if (self.quitting) return Effect.fail(new AlreadyQuit())
    self.quitting = true
    Team.quit(self.team)
    Section.flushAll(self)
    return Effect.andThen(
      Section.awaitUntil(self, () => self.teamQuit && self.threads.size === 0),
      Effect.sync(() => {
        self.started = false
        Section.abandon(self, new AlreadyQuit())
      })
    )
  })

/**
 * Closing the scope: nothing more is accepted, every task in flight settles as interrupted, threads holding work
 * are terminated at once and idle ones asked to close (and terminated if they do not); it returns when no thread is
 * left.
 */
export const close = (self: Sec): Effect.Effect<void> =>
  Effect.suspend(() => {
    self.quitting = true
    self.closing = true
    self.started = false
    const busy = new Set<Thread.Thread>()
    for (const ticket of Section.unsettled(self)) {
      if (ticket.state === Ticket.SENT && ticket.thread !== undefined) busy.add(ticket.thread)
      Section.drop(self, ticket, Exit.interrupt())
    }
    for (const thread of Array.from(self.threads)) {
      if (busy.has(thread) || thread.state === Thread.STARTING) Threads.doom(self, thread)
      else if (thread.state === Thread.READY) Threads.dismiss(self, thread)
    }
    Section.flushAll(self)
    return Section.awaitUntil(self, () => self.threads.size === 0)
  })

/**
 * The adaptive policy (`Pacer.run`): the creation token is given back after each delay of `pacing` (and the backlog
 * grows a thread at once when it is), and idle threads beyond the minimum are released on the `release` schedule.
 */
export const adaptive = (self: Sec, policy: Pacer.Policy): Effect.Effect<void, never, Scope.Scope> =>
  Pacer.run(policy, {
    taken: self.tokenTaken.wait,
    giveBack: Effect.sync(() => Threads.giveBackToken(self)),
    releaseIdle: ({ idleFor, max }) =>
      Effect.sync(() => {
        if (self.quitting) return
        Team.releaseIdle(self.team, { idleFor, max, keep: self.minThreads })
        Section.flushAll(self)
      })
  })
