/**
 * The threads' lives, in the pool's section: creating a thread (paced by the adaptive policy's token above the
 * minimum), its readiness, growing for the backlog and up to the minimum, retiring, dooming (terminating after an
 * interrupt's grace period or a start timeout), recycling, and its exit (what it held fails). This module writes the
 * section's set of threads and their counts, and the creation token.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as ThreadError from "../../ThreadError.ts"
import type * as ThreadPlatform from "../../ThreadPlatform.ts"
import * as Team from "../team.ts"
import * as Protocol from "../wire/protocol.ts"
import * as Inbox from "./inbox.ts"
import * as Placing from "./placing.ts"
import * as Section from "./section.ts"
import * as Thread from "./thread.ts"
import * as Ticket from "./ticket.ts"

type Sec = Section.Section
type PoolTicket = Section.PoolTicket

/** A new thread, counted by the team, if the pool may have one more now. */
export const create = (self: Sec, limit: number): Thread.Thread | undefined => {
  if (!self.started || self.quitting) return undefined
  const size = Team.size(self.team)
  if (size >= limit) return undefined
  if (self.options.adaptive !== undefined && size >= self.minThreads) {
    if (!self.token) return undefined
    self.token = false
    self.tokenTaken.notify()
  }
  return spawn(self)
}

/** Spawns a platform thread. A spawn that throws is the thread's start failure, reported like an exit. */
const spawn = (self: Sec): Thread.Thread => {
  const thread = Thread.make(self.nextThreadId++)
  thread.inTeam = true
  self.threads.add(thread)
  self.threadsStarted++
  self.meters.pending.threadsStarted++
  try {
    thread.handle = self.platform.spawn(thread.id, {
      onBatch: (batch) => Inbox.receive(self, thread, batch as Protocol.FromThreadBatch),
      onExit: (exit) => exited(self, thread, exit)
    })
  } catch (error) {
    Protocol.queueMicrotask(() => exited(self, thread, { error }))
    return thread
  }
  if (self.options.recycleAboveHeap !== Infinity) Section.postTo(self, thread, [Protocol.WATCH_HEAP])
  const startTimeout = self.options.startTimeout
  thread.timer = self.run(Effect.andThen(
    Effect.sleep(startTimeout),
    Effect.sync(() => {
      if (thread.state !== Thread.STARTING) return
      thread.startFailure = `it did not become ready within ${Duration.format(startTimeout)}`
      doom(self, thread)
    })
  ))
  return thread
}

/** The thread said it is ready: whoever waits for it (`start`) is told. */
export const ready = (thread: Thread.Thread): void => {
  if (thread.state !== Thread.STARTING) return
  thread.state = Thread.READY
  thread.timer?.interruptUnsafe()
  thread.timer = undefined
  const waiters = thread.onReady
  thread.onReady = []
  for (const waiter of waiters) waiter(undefined)
}

/** Creates up to `n` threads for the team (Twisted's `grow`); they take backlogged work at once. */
export const grow = (self: Sec, n: number, limit: number): Array<Thread.Thread> => {
  const created: Array<Thread.Thread> = []
  for (let i = 0; i < n; i++) {
    const thread = create(self, limit)
    if (thread === undefined) break
    created.push(thread)
    Team.add(self.team, thread)
  }
  Placing.admit(self)
  Section.scheduleFlush(self)
  return created
}

/**
 * Threads left (or work a thread would have taken went to the backlog): the backlog gets new threads, as the limit
 * allows; a dynamic limit is read first, in the pool's scope, and its failure goes to the log.
 */
export const replenish = (self: Sec): void => {
  if (self.team.backlog.length === 0 || !self.started || self.quitting) return
  const readLimit = self.options.readLimit
  if (readLimit === undefined) return void grow(self, self.team.backlog.length, self.maxThreads)
  self.run(Effect.matchCauseEffect(readLimit, {
    onFailure: self.options.logException,
    onSuccess: (limit) =>
      Effect.sync(() => {
        if (self.team.backlog.length > 0) grow(self, self.team.backlog.length, limit)
      })
  }))
}

/**
 * The adaptive policy's pacer gives the token back: the next thread above the minimum may be created, and one is
 * at once if work waits.
 */
export const giveBackToken = (self: Sec): void => {
  self.token = true
  if (self.team.backlog.length === 0 || !self.started || self.quitting) return
  const readLimit = self.options.readLimit
  if (readLimit === undefined) return void grow(self, 1, self.maxThreads)
  self.run(Effect.flatMap(readLimit, (max) => Effect.sync(() => grow(self, 1, max))))
}

/**
 * A thread that was serving left the team (it crashed, was terminated after an interrupt's grace period, or was
 * recycled): the pool grows back to `minThreads`, the threads it keeps once started. Never after a failed start, so a
 * broken entry is not respawned in a loop.
 */
export const restoreMinimum = (self: Sec): void => {
  const size = Team.size(self.team)
  if (self.started && !self.quitting && size < self.minThreads) grow(self, self.minThreads - size, self.maxThreads)
}

// ---- leaving ----

/** An idle thread leaves the team and closes (the pool closes). */
export const dismiss = (self: Sec, thread: Thread.Thread): void => {
  if (thread.inTeam) Team.remove(self.team, thread)
  retire(self, thread)
}

/** The hook of the team's `quitWorker`: the thread closes, gracefully, and is terminated if it does not. */
export const retire = (self: Sec, thread: Thread.Thread): void => {
  thread.inTeam = false
  if (thread.state === Thread.DEAD) return
  Placing.unbind(self, thread)
  thread.state = Thread.LEAVING
  self.meters.pending.threadsReleased++
  Section.postTo(self, thread, [Protocol.CLOSE])
  thread.timer?.interruptUnsafe()
  thread.timer = self.run(Effect.andThen(
    Effect.sleep(self.options.interruptGracePeriod),
    Effect.sync(() => thread.handle?.terminate())
  ))
}

/**
 * The thread is to be terminated (it ignored an interrupt past the grace period, or never became ready): from this
 * moment it takes no work (the team no longer counts it, so the work that would have gone to it goes to another
 * thread or a replacement), then it is terminated; its exit settles what it still holds.
 */
export const doom = (self: Sec, thread: Thread.Thread): void => {
  if (thread.state === Thread.DEAD) return
  const serving = thread.state === Thread.READY
  thread.state = Thread.LEAVING
  thread.doomed = true
  if (thread.inTeam) {
    thread.inTeam = false
    Team.remove(self.team, thread)
  }
  Placing.unbind(self, thread)
  thread.handle?.terminate()
  replenish(self)
  if (serving) restoreMinimum(self)
}

/** Whether `thread` is due for recycling: it has run its share of tasks, or its heap has passed the bound. */
const recycleDue = (self: Sec, thread: Thread.Thread): boolean =>
  thread.completed >= self.options.recycleAfterTasks || thread.heap > self.options.recycleAboveHeap

/**
 * After a batch from `thread`: a thread due for recycling leaves the team (it takes nothing new; a replacement is made
 * for the backlog and up to the minimum), and closes once it holds nothing: always between tasks, never during one.
 */
export const recycleIfDue = (self: Sec, thread: Thread.Thread): void => {
  if (thread.inTeam && !thread.recycling && recycleDue(self, thread)) {
    thread.recycling = true
    thread.inTeam = false
    Team.remove(self.team, thread)
    self.threadsRecycled++
    Placing.unbind(self, thread)
    replenish(self)
    restoreMinimum(self)
  }
  if (thread.recycling && thread.held.size === 0 && thread.state !== Thread.LEAVING && thread.state !== Thread.DEAD) {
    retire(self, thread)
  }
}

// ---- exits ----

/** The platform reported the thread's exit: what it held fails (a crash, or a start failure), then it is gone. */
export const exited = (self: Sec, thread: Thread.Thread, exit: ThreadPlatform.ThreadExit): void => {
  if (thread.state === Thread.DEAD) return
  const starting = thread.state === Thread.STARTING || thread.startFailure !== undefined
  thread.state = Thread.DEAD
  thread.timer?.interruptUnsafe()
  thread.timer = undefined
  self.threads.delete(thread)
  // Its keys go elsewhere and its reserved work too, before what it held settles (a key's next task must not be
  // pinned to it), and before the team hears of it: removing the last busy thread of a team that quit ends `stop`,
  // whose abandon runs at once and must find that work in the backlog (it is on no thread's list any more).
  Placing.unbind(self, thread)
  // A batch sent ahead behind one that has not answered had not started (`placing.ts`): it goes to another thread,
  // placed before the team hears of this one for the same reason (in the backlog of a pool that quit, `stop`'s
  // abandon finds it; placed after it, it waited there forever).
  for (const ticket of thread.held.values()) {
    if (ticket.behind === undefined || !thread.held.has(ticket.behind.id) || ticket.cancelling || self.closing) continue
    thread.held.delete(ticket.id)
    Ticket.recalled(ticket)
    Placing.place(self, ticket, 0)
  }
  const left = thread.inTeam
  if (left) {
    thread.inTeam = false
    Team.remove(self.team, thread)
  }
  const death = Thread.describeExit(exit)
  const startFailed = new ThreadError.ThreadStartFailed({
    message: `thread ${thread.id} could not start: ${thread.startFailure ?? death.message}`,
    ...(death.cause === undefined ? {} : { cause: death.cause })
  })
  const waiters = thread.onReady
  thread.onReady = []
  for (const waiter of waiters) waiter(startFailed)
  const held = Array.from(thread.held.values())
  thread.held.clear()
  if (!starting && held.length > 0 && !self.closing) {
    // Died on its own while it held work, or terminated by the pool because a task ignored its interrupt.
    if (thread.doomed) {
      self.threadsTerminated++
      self.meters.pending.terminated++
    } else {
      self.threadsCrashed++
      self.meters.pending.crashes++
    }
  }
  const tickets: Array<PoolTicket> = []
  const outcomes: Array<Exit.Exit<unknown, unknown>> = []
  for (const ticket of held) {
    for (let rest = ticket.after; rest !== undefined; rest = rest.after) {
      tickets.push(rest)
      outcomes.push(Exit.interrupt())
    }
    tickets.push(ticket)
    outcomes.push(
      ticket.cancelling || self.closing
        ? Exit.interrupt()
        : Exit.fail(starting ? startFailed : crashed(thread, ticket, death))
    )
  }
  // The pool is made whole (a replacement for the backlog and up to the minimum) before the callers resume: a caller
  // that reads the statistics at once sees the replacement.
  if (left) {
    replenish(self)
    if (!starting) restoreMinimum(self)
  }
  if (self.room.length > 0) Placing.admit(self)
  Section.settleAll(self, tickets, outcomes)
  Section.scheduleFlush(self)
  Section.wake(self)
}

/** What a ticket that `thread` held fails with when the thread died while it ran. */
const crashed = (thread: Thread.Thread, ticket: PoolTicket, death: Thread.Death): ThreadError.ThreadCrashed =>
  new ThreadError.ThreadCrashed({
    task: ticket.task._tag,
    message: `thread ${thread.id} died while running ${ticket.task._tag}: ${death.message}`,
    ...(death.exitCode === undefined ? {} : { exitCode: death.exitCode }),
    ...(death.cause === undefined ? {} : { cause: death.cause })
  })
