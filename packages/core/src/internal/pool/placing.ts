/**
 * Placing work and the threads' lives, in the pool's section: where a ticket goes (an idle thread, a new thread, a
 * thread with room, the backlog at its priority, or the waiting room of a full backlog), work pinned to a thread,
 * and creating, growing, retiring and dooming threads.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as ThreadError from "../../ThreadError.ts"
import * as Backlog from "../backlog.ts"
import * as Team from "../team.ts"
import * as Protocol from "../wire/protocol.ts"
import * as Meters from "./meters.ts"
import * as Section from "./section.ts"
import * as Thread from "./thread.ts"
import * as Ticket from "./ticket.ts"

type Sec = Section.Section
type PoolTicket = Section.PoolTicket

/** The hook of the team's `dispatch`: the ticket goes into the thread's outbox. */
export const dispatch = (self: Sec, thread: Thread.Thread, ticket: PoolTicket): void => {
  const at = Section.now(self)
  Ticket.sent(ticket, thread, at)
  thread.held.set(ticket.id, ticket)
  if (ticket.key !== undefined) bind(self, ticket.key, thread)
  Meters.observe(self.config.meters, self.config.meters.queueWait, at - ticket.madeAt)
  Thread.post(thread, Thread.runMessage(ticket), ticket)
  if (ticket.credit > 0) {
    // A streaming ticket's credit goes with it, in the same batch, after its RUN.
    Thread.post(thread, [Protocol.PULL, ticket.id, ticket.credit])
    ticket.credit = 0
  }
  Section.markDirty(self, thread)
}

/** Binds `key` to `thread`: the key's next tasks are pinned to it. */
const bind = (self: Sec, key: string, thread: Thread.Thread): void => {
  const lane = self.lanes.get(key)
  if (lane === undefined || lane.thread === thread) return
  lane.thread = thread
  thread.keys.add(key)
}

/**
 * Pins a ticket to `thread`: it goes to it at once if it is idle or has room, else it is reserved for it and the
 * thread takes it before the backlog.
 */
export const pin = (self: Sec, thread: Thread.Thread, ticket: PoolTicket): void => {
  if (Team.placeOn(self.team, thread, ticket)) return Section.scheduleFlush(self)
  Ticket.backlogged(ticket, thread.reserved, Backlog.append(thread.reserved, ticket, ticket.priority))
}

/**
 * Places a ticket: an idle thread, else a new thread while the pool is under `limit`, else a thread with room, else
 * the backlog, at its priority. A full backlog (`maxBacklog`) makes the ticket wait for room, behind those already
 * waiting, or fail with `BacklogFull`, as it asks.
 */
export const place = (self: Sec, ticket: PoolTicket, limit: number): void => {
  if (ticket.state === Ticket.SETTLED) return
  if (Team.placeIdle(self.team, ticket)) return
  const created = create(self, limit)
  if (created === undefined && self.team.partial.length === 0 && isFull(self)) return full(self, ticket)
  const node = Team.placeCreated(self.team, ticket, created, ticket.priority)
  if (node !== undefined) Ticket.backlogged(ticket, self.team.backlog, node)
  Section.scheduleFlush(self)
}

/** Whether a ticket that needs the backlog must wait: it is full, or others wait for room before it. */
const isFull = (self: Sec): boolean => self.team.backlog.length >= self.maxBacklog || self.room.length > 0

const full = (self: Sec, ticket: PoolTicket): void => {
  if (ticket.whenFull === "wait") {
    return Ticket.waits(ticket, self.room, Backlog.append(self.room, ticket, ticket.priority))
  }
  const refused = Exit.fail(
    new ThreadError.BacklogFull({
      task: ticket.task._tag,
      limit: self.maxBacklog,
      message: `the backlog of the pool is full (maxBacklog: ${self.maxBacklog}): ${ticket.task._tag} was not taken`
    })
  )
  // A sequence is refused whole.
  for (let rest = ticket.after; rest !== undefined; rest = rest.after) Section.settle(self, rest, Exit.interrupt())
  Section.settle(self, ticket, refused)
}

/**
 * Tickets waiting for room come in, oldest first (highest priority first), while the backlog has room or a thread
 * can take them. Called after every pass that may have made room.
 */
export const admit = (self: Sec): void => {
  const team = self.team
  while (self.room.length > 0) {
    if (team.idle.length === 0 && team.partial.length === 0 && team.backlog.length >= self.maxBacklog) return
    const ticket = Backlog.take(self.room)!.value
    ticket.list = undefined
    ticket.node = undefined
    if (Team.placeIdle(team, ticket)) continue
    const placed = Team.placeCreated(team, ticket, undefined, ticket.priority)
    if (placed !== undefined) Ticket.backlogged(ticket, team.backlog, placed)
  }
}

/** A new thread, counted by the team, if the pool may have one more now. */
const create = (self: Sec, limit: number): Thread.Thread | undefined => {
  if (!self.started || self.quitting) return undefined
  const size = Team.size(self.team)
  if (size >= limit) return undefined
  if (self.config.adaptive && size >= self.minThreads) {
    if (!self.token) return undefined
    self.token = false
    self.onTokenTaken()
  }
  return spawn(self)
}

/** Spawns a platform thread. A spawn that throws is the thread's start failure, reported like an exit. */
const spawn = (self: Sec): Thread.Thread => {
  const thread = Thread.make(self.nextThreadId++)
  thread.inTeam = true
  self.threads.add(thread)
  self.threadsStarted++
  self.config.meters.pending.threadsStarted++
  try {
    thread.handle = self.config.platform.spawn(thread.id, {
      onBatch: (batch) => self.events.receive(self, thread, batch as Protocol.FromThreadBatch),
      onExit: (exit) => self.events.exited(self, thread, exit)
    })
  } catch (error) {
    Protocol.queueMicrotask(() => self.events.exited(self, thread, { error }))
    return thread
  }
  if (self.config.recycleAboveHeap !== Infinity) Section.postTo(self, thread, [Protocol.WATCH_HEAP])
  thread.timer = self.config.run(Effect.andThen(
    Effect.sleep(self.config.startTimeout),
    Effect.sync(() => {
      if (thread.state !== Thread.STARTING) return
      thread.startFailure = `it did not become ready within ${Duration.format(self.config.startTimeout)}`
      doom(self, thread)
    })
  ))
  return thread
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
  admit(self)
  Section.scheduleFlush(self)
  return created
}

/** After threads left: the backlog gets new threads while the pool may have them. */
export const replenish = (self: Sec, limit: number): void => {
  if (self.team.backlog.length > 0) grow(self, self.team.backlog.length, limit)
}

/** An idle thread leaves the team and closes (the pool closes). */
export const dismiss = (self: Sec, thread: Thread.Thread): void => {
  if (thread.inTeam) Team.remove(self.team, thread)
  retire(self, thread)
}

/** The hook of the team's `quitWorker`: the thread closes, gracefully, and is terminated if it does not. */
export const retire = (self: Sec, thread: Thread.Thread): void => {
  thread.inTeam = false
  if (thread.state === Thread.DEAD) return
  self.events.left(self, thread)
  thread.state = Thread.LEAVING
  self.config.meters.pending.threadsReleased++
  Section.postTo(self, thread, [Protocol.CLOSE])
  thread.timer?.interruptUnsafe()
  thread.timer = self.config.run(Effect.andThen(
    Effect.sleep(self.config.interruptGracePeriod),
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
  self.events.left(self, thread)
  thread.handle?.terminate()
  self.config.threadLeft()
  if (serving) restoreMinimum(self)
}

/** Whether `thread` is due for recycling: it has run its share of tasks, or its heap has passed the bound. */
const recycleDue = (self: Sec, thread: Thread.Thread): boolean =>
  thread.completed >= self.config.recycleAfterTasks || thread.heap > self.config.recycleAboveHeap

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
    self.events.left(self, thread)
    self.config.threadLeft()
    restoreMinimum(self)
  }
  if (thread.recycling && thread.held.size === 0 && thread.state !== Thread.LEAVING && thread.state !== Thread.DEAD) {
    retire(self, thread)
  }
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
