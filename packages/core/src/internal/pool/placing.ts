/**
 * Where a ticket goes, in the pool's section: an idle thread, a new thread, a thread with room, a bulk call's batch
 * ahead to a busy thread, the backlog at its priority, or the waiting room of a full backlog; work pinned to a thread
 * (a key's next task, a broadcast); and the team's `dispatch`, which puts a ticket into a thread's outbox. This module
 * writes the places where tickets wait (the waiting room, the keys' lanes); the tickets themselves change only through
 * `ticket.ts`'s transitions.
 *
 * Keys: tasks given a key run on one thread, in submission order, one at a time, so that per-key state can live in
 * that thread; different keys still spread over the pool. A key's first task is placed like any other; the thread
 * it is sent to is the key's from then on, and each next task of the key waits for the one before it, then is pinned
 * to that thread (sent at once if the thread has room, else reserved for it, ahead of the backlog). A thread that
 * leaves (dies, is terminated, is released) unbinds its keys: their next tasks are placed like new ones. A broadcast
 * pins one ticket to each thread alive; one that leaves first fails its ticket.
 *
 * @internal
 */
import * as Exit from "effect/Exit"
import * as ThreadError from "../../ThreadError.ts"
import * as Backlog from "../backlog.ts"
import * as Team from "../team.ts"
import * as Protocol from "../wire/protocol.ts"
import * as Meters from "./meters.ts"
import * as Section from "./section.ts"
import * as Thread from "./thread.ts"
import * as Threads from "./threads.ts"
import * as Ticket from "./ticket.ts"

type Sec = Section.Section
type PoolTicket = Section.PoolTicket

/** Places a new ticket: by its key's lane if it has one, else as any other. */
export const placeNew = (self: Sec, ticket: PoolTicket, limit: number): void =>
  ticket.key === undefined ? place(self, ticket, limit) : placeKeyed(self, ticket, limit)

/**
 * Places a ticket: an idle thread, else a new thread while the pool is under `limit`, else a thread with room, else
 * the backlog, at its priority. A full backlog (`maxBacklog`) makes the ticket wait for room, behind those already
 * waiting, or fail with `BacklogFull`, as it asks.
 */
export const place = (self: Sec, ticket: PoolTicket, limit: number): void => {
  if (ticket.state === Ticket.SETTLED) return
  if (Team.placeIdle(self.team, ticket)) return
  const created = Threads.create(self, limit)
  if (created === undefined && self.team.partial.length === 0) {
    if (ticket.mayGoAhead && placeAhead(self, ticket)) return Section.scheduleFlush(self)
    if (isFull(self)) return full(self, ticket)
  }
  const node = Team.placeCreated(self.team, ticket, created, ticket.priority)
  if (node !== undefined) Ticket.backlogged(ticket, self.team.backlog, node)
  Section.scheduleFlush(self)
}

/**
 * A bulk call's short batch (`batches.ts`: expected to run at most `sizer.ts`' `aheadMillis`, or one of the first),
 * when no thread is free and nothing else waits (the backlog, its waiting room and the thread's reserved work are
 * empty): sent ahead to a thread whose last ticket is a batch of the same task and that holds none sent ahead, so the
 * thread starts it the moment it has answered the one before, with no round trip between them (a thread answers a
 * batch before it starts anything else: `runner/session.ts`). It waits there at most one batch; a thread that becomes
 * free takes it back if it has not started (`inbox.ts`' stealing). Gives whether it went.
 */
const placeAhead = (self: Sec, ticket: PoolTicket): boolean => {
  if (self.team.backlog.length > 0 || self.room.length > 0) return false
  // A thread recycled past a heap size is told so with an answer, after it may have started what was sent ahead: a
  // pool that recycles by heap sends nothing ahead (a retired thread never runs one batch more).
  if (self.options.recycleAboveHeap !== Infinity) return false
  for (const thread of self.threads) {
    if (thread.state !== Thread.READY || !thread.inTeam || thread.reserved.length > 0) continue
    // nor to a thread that retires once what it holds has run (`recycle.afterTasks`)
    if (thread.completed + thread.held.size >= self.options.recycleAfterTasks) continue
    let last: PoolTicket | undefined
    for (const held of thread.held.values()) last = held
    if (last === undefined || last.task !== ticket.task || last.recalling) continue
    if (!Team.placeAhead(self.team, thread, ticket)) continue
    Ticket.sentBehind(ticket, last)
    return true
  }
  return false
}

/** The hook of the team's `dispatch`: the ticket goes into the thread's outbox. */
export const dispatch = (self: Sec, thread: Thread.Thread, ticket: PoolTicket): void => {
  const at = Section.now(self)
  Ticket.sent(ticket, thread, at)
  thread.held.set(ticket.id, ticket)
  if (ticket.key !== undefined) bind(self, ticket.key, thread)
  Meters.observe(self.meters, self.meters.queueWait, at - ticket.madeAt)
  Thread.post(thread, Thread.runMessage(ticket), ticket)
  // A streaming ticket's credit goes with it, in the same batch, after its RUN.
  if (ticket.credit > 0) Thread.post(thread, [Protocol.PULL, ticket.id, Ticket.takeCredit(ticket)])
  Section.markDirty(self, thread)
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
 * The hook of the team's `reserved`: what a thread with room takes before the backlog. Its reserved work first; then
 * the ticket waiting for room in a full backlog, if its priority is above the backlog's highest: as if it had been
 * admitted into the backlog first, so no lower priority overtakes it.
 */
export const reservedFor = (self: Sec, thread: Thread.Thread): PoolTicket | undefined => {
  const reserved = Backlog.take(thread.reserved)
  if (reserved !== undefined) return reserved.value
  if (self.room.length === 0) return undefined
  const waiting = self.room.levels[0]!.priority
  const highest = self.team.backlog.levels[0]?.priority
  if (highest !== undefined && highest >= waiting) return undefined
  return Ticket.takeFirst(self.room)
}

// ---- the waiting room of a full backlog ----

/** Whether a ticket that needs the backlog must wait: it is full, or others wait for room before it. */
const isFull = (self: Sec): boolean => self.team.backlog.length >= self.options.maxBacklog || self.room.length > 0

const full = (self: Sec, ticket: PoolTicket): void => {
  if (ticket.whenFull === "wait") {
    return Ticket.waits(ticket, self.room, Backlog.append(self.room, ticket, ticket.priority))
  }
  const bound = self.options.maxBacklog
  const refused = Exit.fail(
    new ThreadError.BacklogFull({
      task: ticket.task._tag,
      limit: bound,
      message: `the backlog of the pool is full (maxBacklog: ${bound}): ${ticket.task._tag} was not taken`
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
    if (team.idle.length === 0 && team.partial.length === 0 && team.backlog.length >= self.options.maxBacklog) return
    const ticket = Ticket.takeFirst(self.room)!
    if (Team.placeIdle(team, ticket)) continue
    const placed = Team.placeCreated(team, ticket, undefined, ticket.priority)
    if (placed !== undefined) Ticket.backlogged(ticket, team.backlog, placed)
  }
}

// ---- keys ----

/** Places a ticket that has a key: behind the key's task in flight, or on the key's thread, or like any other. */
const placeKeyed = (self: Sec, ticket: PoolTicket, limit: number): void => {
  const key = ticket.key!
  let lane = self.lanes.get(key)
  if (lane === undefined) {
    lane = { key, thread: undefined, busy: false, queue: Backlog.make() }
    self.lanes.set(key, lane)
  }
  if (lane.busy) return Ticket.waits(ticket, lane.queue, Backlog.append(lane.queue, ticket))
  go(self, lane, ticket, limit)
}

const go = (self: Sec, lane: Section.Lane, ticket: PoolTicket, limit: number): void => {
  lane.busy = true
  Ticket.takesTurn(ticket)
  const thread = lane.thread
  if (thread !== undefined && thread.inTeam && Thread.isUsable(thread)) pin(self, thread, ticket)
  else place(self, ticket, limit)
}

/** Binds `key` to `thread`: the key's next tasks are pinned to it. */
const bind = (self: Sec, key: string, thread: Thread.Thread): void => {
  const lane = self.lanes.get(key)
  if (lane === undefined || lane.thread === thread) return
  lane.thread = thread
  thread.keys.add(key)
}

/** A task of `key` ended: the next one goes, or the lane rests (kept while bound, so the key keeps its thread). */
export const keyDone = (self: Sec, key: string): void => {
  const lane = self.lanes.get(key)
  if (lane === undefined) return
  lane.busy = false
  const ticket = Ticket.takeFirst(lane.queue)
  if (ticket !== undefined) {
    go(self, lane, ticket, 0)
    // Its thread left (it died, was recycled or terminated): placed like a new task, it may have found no thread, and
    // the pool may have none (minThreads 0). The pool grows for its backlog, as after any thread that left.
    if (ticket.list === self.team.backlog) Threads.replenish(self)
    return
  }
  if (lane.thread === undefined) self.lanes.delete(key)
}

/**
 * `thread` takes no more work: its keys are unbound (their next tasks go to other threads), and what was reserved
 * for it is placed elsewhere, except a broadcast's ticket, which fails: it was for this thread only.
 */
export const unbind = (self: Sec, thread: Thread.Thread): void => {
  for (const key of thread.keys) {
    const lane = self.lanes.get(key)
    if (lane === undefined || lane.thread !== thread) continue
    lane.thread = undefined
    if (!lane.busy && lane.queue.length === 0) self.lanes.delete(key)
  }
  thread.keys.clear()
  for (
    let ticket = Ticket.takeFirst(thread.reserved);
    ticket !== undefined;
    ticket = Ticket.takeFirst(thread.reserved)
  ) {
    if (ticket.only === undefined) place(self, ticket, 0)
    else {
      Section.settle(
        self,
        ticket,
        Exit.fail(
          new ThreadError.ThreadCrashed({
            task: ticket.task._tag,
            message: `thread ${thread.id} ended before it ran the broadcast of ${ticket.task._tag}`
          })
        )
      )
    }
  }
}

// ---- broadcasts ----

/** Whether a broadcast goes to `thread`: it can take work now. */
const takes = (thread: Thread.Thread): boolean => thread.inTeam && Thread.isUsable(thread)

/** How many threads a broadcast goes to now. */
export const takers = (self: Sec): number => {
  let count = 0
  for (const thread of self.threads) if (takes(thread)) count++
  return count
}

/** A broadcast's tickets, one per thread that can take work now, each pinned to its thread. */
export const broadcast = (self: Sec, make: (thread: Thread.Thread) => PoolTicket): Array<PoolTicket> => {
  const tickets: Array<PoolTicket> = []
  for (const thread of self.threads) {
    if (!takes(thread)) continue
    const ticket = make(thread)
    tickets.push(ticket)
    pin(self, thread, ticket)
  }
  return tickets
}
