/**
 * The pool's synchronous section: the Team's algorithm (`team.ts`) run over threads and tickets, with no Effect on
 * the path of a task. A task is placed in one synchronous step (an idle thread's outbox, a new thread, a thread with
 * room, or the backlog); a thread's batch is received in one pass that takes each answered ticket off its thread,
 * makes the team's completion notices (which send backlogged tickets on), and only then resumes the callers, so a
 * caller that submits again from its continuation finds the section consistent: Twisted's `LockWorker` rule, that
 * work submitted from inside running work waits for the current step, holds because every step is synchronous and
 * callers run between steps. Whatever a turn posted leaves at its end, one message per thread.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import type { AlreadyQuit } from "../AlreadyQuit.ts"
import * as ThreadError from "../ThreadError.ts"
import type * as ThreadPlatform from "../ThreadPlatform.ts"
import * as Backlog from "./backlog.ts"
import * as Meters from "./meters.ts"
import * as Payload from "./payload.ts"
import * as Protocol from "./protocol.ts"
import * as Team from "./team.ts"
import * as Thread from "./thread.ts"
import * as Ticket from "./ticket.ts"

/** A ticket of this pool. */
export type PoolTicket = Ticket.Ticket<Thread.Thread>

/** What a section is made with. */
export interface Config {
  readonly platform: ThreadPlatform.ThreadPlatformShape
  readonly capacity: number
  readonly startTimeout: Duration.Duration
  readonly interruptGracePeriod: Duration.Duration
  readonly meters: Meters.Meters
  readonly millis: () => number
  /** Forks an effect into the pool's scope. */
  readonly run: <A, E>(effect: Effect.Effect<A, E>) => Fiber.Fiber<A, E>
  /** Answers a thread's call to the main thread. */
  readonly onCall: (thread: Thread.Thread, id: number, tag: string, payload: unknown) => void
  /** Whether the pool paces threads above its minimum (the adaptive policy's token). */
  readonly adaptive: boolean
  /** A thread left the team without finishing (died, doomed): the pool replenishes for its backlog. */
  readonly threadLeft: () => void
  /** The most tickets the backlog holds (`Infinity`: no bound). */
  readonly maxBacklog: number
}

/** The section's state. Touched only by this module's functions. */
export interface Section {
  readonly config: Config
  readonly team: Team.Team<Thread.Thread, PoolTicket>
  /** Threads not dead yet. */
  readonly threads: Set<Thread.Thread>
  /** Tickets waiting for room in a full backlog (`maxBacklog`), in the order they will be admitted. */
  readonly room: Backlog.Backlog<PoolTicket>
  /** The most tickets the backlog holds. */
  maxBacklog: number
  /** The lanes of the keys in use: the thread a key is bound to, whether a task of it is out, what waits. */
  readonly lanes: Map<string, Lane>
  minThreads: number
  maxThreads: number
  started: boolean
  /** `stop` was called, or the scope is closing: nothing new is accepted. */
  quitting: boolean
  closing: boolean
  /** The team has quit and its last busy thread has finished. */
  teamQuit: boolean
  /** The adaptive policy's creation token. */
  token: boolean
  onTokenTaken: () => void
  nextThreadId: number
  nextTicketId: number
  threadsStarted: number
  threadsCrashed: number
  inFlight: number
  dirty: Array<Thread.Thread>
  flushScheduled: boolean
  /** The time of this turn, read once per turn; -1 when not read yet. */
  now: number
  /** Woken when the last thread is gone, or the team has quit. */
  changed: Array<() => void>
  readonly flushBound: () => void
  /** What the section does with what a thread says (`inbox.ts`). */
  readonly events: Events
}

/** How a section hears from its threads, and what it does when a keyed ticket ends or a thread leaves. */
export interface Events {
  readonly receive: (self: Section, thread: Thread.Thread, batch: Protocol.FromThreadBatch) => void
  readonly exited: (self: Section, thread: Thread.Thread, exit: ThreadPlatform.ThreadExit) => void
  /** A ticket with a key ended: the next of its key may go (`lanes.ts`). */
  readonly keyDone: (self: Section, key: string) => void
  /** A thread takes no more work: its keys are unbound and its pinned work goes elsewhere (`lanes.ts`). */
  readonly left: (self: Section, thread: Thread.Thread) => void
}

/** A key's lane: the tasks of one key run on one thread, in order, one at a time. */
export interface Lane {
  readonly key: string
  /** The thread the key is bound to, once a task of it was sent; unbound when that thread leaves. */
  thread: Thread.Thread | undefined
  /** A task of the key is placed and has not ended. */
  busy: boolean
  /** The key's tasks that wait for the one before them. */
  readonly queue: Backlog.Backlog<PoolTicket>
}

/** Makes a section; no thread starts until `started` is set and work or `grow` needs one. */
export const make = (config: Config, events: Events, minThreads: number, maxThreads: number): Section => {
  const self: Section = {
    config,
    team: undefined as unknown as Team.Team<Thread.Thread, PoolTicket>,
    threads: new Set(),
    room: Backlog.make(),
    maxBacklog: config.maxBacklog,
    lanes: new Map(),
    minThreads,
    maxThreads,
    started: false,
    quitting: false,
    closing: false,
    teamQuit: false,
    token: true,
    onTokenTaken: () => {},
    nextThreadId: 1,
    nextTicketId: 0,
    threadsStarted: 0,
    threadsCrashed: 0,
    inFlight: 0,
    dirty: [],
    flushScheduled: false,
    now: -1,
    changed: [],
    flushBound: () => flushAll(self),
    events
  }
  ;(self as { team: Team.Team<Thread.Thread, PoolTicket> }).team = Team.make<Thread.Thread, PoolTicket>({
    dispatch: (thread, ticket) => dispatch(self, thread, ticket),
    quitWorker: (thread) => retire(self, thread),
    quitCoordinator: () => {
      self.teamQuit = true
      wake(self)
    },
    now: () => config.millis(),
    reserved: (thread) => Backlog.take(thread.reserved)?.value
  }, config.capacity)
  return self
}

/** The time of the current turn, in milliseconds. */
export const now = (self: Section): number => {
  if (self.now < 0) {
    self.now = self.config.millis()
    scheduleFlush(self)
  }
  return self.now
}

export const wake = (self: Section): void => {
  const waiters = self.changed
  self.changed = []
  for (const waiter of waiters) waiter()
}

export const scheduleFlush = (self: Section): void => {
  if (self.flushScheduled) return
  self.flushScheduled = true
  Protocol.queueMicrotask(self.flushBound)
}

const markDirty = (self: Section, thread: Thread.Thread): void => {
  if (!thread.dirty) {
    thread.dirty = true
    self.dirty.push(thread)
  }
  scheduleFlush(self)
}

/** Posts a message that carries no ticket (INTERRUPT, RECALL, REPLY, CLOSE). */
export const postTo = (self: Section, thread: Thread.Thread, message: Protocol.ToThread): void => {
  Thread.post(thread, message)
  markDirty(self, thread)
}

/** The end of a turn: every outbox leaves as one message; metrics catch up. */
export const flushAll = (self: Section): void => {
  self.flushScheduled = false
  while (self.dirty.length > 0) {
    const threads = self.dirty
    self.dirty = []
    for (const thread of threads) {
      thread.dirty = false
      Thread.flush(thread, (ticket, error) => unsendable(self, thread, ticket, error))
    }
  }
  self.now = -1
  flushMeters(self)
}

/** A ticket's message could not be cloned: it never left; it fails with InvalidPayload and frees its place. */
const unsendable = (self: Section, thread: Thread.Thread, ticket: PoolTicket, error: unknown): void => {
  if (thread.held.get(ticket.id) !== ticket) return
  thread.held.delete(ticket.id)
  finishOn(self, thread)
  settle(self, ticket, Exit.fail(Payload.unsendable(ticket.task, ticket.payload, error)))
}

/** The books of a ticket about to settle: no longer in flight, its failure counted, its run time observed. */
const account = (self: Section, ticket: PoolTicket, exit: Exit.Exit<unknown, unknown>): void => {
  self.inFlight--
  if (ticket.turn) self.events.keyDone(self, ticket.key!)
  if (Exit.isFailure(exit)) self.config.meters.pending.failures++
  if (ticket.thread !== undefined) {
    Meters.observe(self.config.meters, self.config.meters.runTime, now(self) - ticket.sentAt)
  }
}

export const flushMeters = (self: Section): void =>
  Meters.flush(self.config.meters, backlogged(self), self.team.busy, self.team.idle.length)

/** Settles a ticket, once, keeping the count of tasks in flight. */
export const settle = (
  self: Section,
  ticket: PoolTicket,
  exit: Exit.Exit<unknown, unknown>,
  release?: (() => void) | undefined
): void => {
  if (Ticket.isSettled(ticket)) return
  // The books first: settling resumes the caller, which may read the statistics at once.
  account(self, ticket, exit)
  Ticket.settle(ticket, exit, release)
}

/**
 * Settles the tickets of one pass: all the books first, the metrics brought up to date, then the callers resumed,
 * so that a caller who reads the statistics or the metrics at once reads the state after the whole pass.
 */
export const settleAll = (
  self: Section,
  tickets: ReadonlyArray<PoolTicket>,
  exits: ReadonlyArray<Exit.Exit<unknown, unknown>>,
  releases?: ReadonlyArray<(() => void) | undefined>
): void => {
  for (let i = 0; i < tickets.length; i++) {
    const ticket = tickets[i]!
    if (!Ticket.isSettled(ticket)) account(self, ticket, exits[i]!)
  }
  flushMeters(self)
  for (let i = 0; i < tickets.length; i++) Ticket.settle(tickets[i]!, exits[i]!, releases?.[i])
}

// ---- placing work ----

/** The hook of the team's `dispatch`: the ticket goes into the thread's outbox. */
export const dispatch = (self: Section, thread: Thread.Thread, ticket: PoolTicket): void => {
  const at = now(self)
  Ticket.sent(ticket, thread, at)
  thread.held.set(ticket.id, ticket)
  if (ticket.key !== undefined) bind(self, ticket.key, thread)
  Meters.observe(self.config.meters, self.config.meters.queueWait, at - ticket.madeAt)
  Thread.post(thread, Thread.runMessage(ticket), ticket)
  markDirty(self, thread)
}

/** Binds `key` to `thread`: the key's next tasks are pinned to it. */
const bind = (self: Section, key: string, thread: Thread.Thread): void => {
  const lane = self.lanes.get(key)
  if (lane === undefined || lane.thread === thread) return
  lane.thread = thread
  thread.keys.add(key)
}

/**
 * Pins a ticket to `thread`: it goes to it at once if it is idle or has room, else it is reserved for it and the
 * thread takes it before the backlog.
 */
export const pin = (self: Section, thread: Thread.Thread, ticket: PoolTicket): void => {
  if (Team.placeOn(self.team, thread, ticket)) return scheduleFlush(self)
  Ticket.backlogged(ticket, thread.reserved, Backlog.append(thread.reserved, ticket, ticket.priority))
}

/** A new ticket, counted in flight. */
export const ticket = (self: Section, init: Ticket.Init<Thread.Thread>): PoolTicket => {
  self.inFlight++
  self.config.meters.pending.tasks++
  return Ticket.make(init, self.nextTicketId++, now(self))
}

/** Whether placing a ticket now would need a thread that does not exist yet (so a dynamic limit must be read). */
export const needsThread = (self: Section): boolean => self.team.idle.length === 0 && self.started

/**
 * Places a ticket: an idle thread, else a new thread while the pool is under `limit`, else a thread with room, else
 * the backlog, at its priority. A full backlog (`maxBacklog`) makes the ticket wait for room, behind those already
 * waiting, or fail with `BacklogFull`, as it asks.
 */
export const place = (self: Section, ticket: PoolTicket, limit: number): void => {
  if (ticket.state === Ticket.SETTLED) return
  if (Team.placeIdle(self.team, ticket)) return
  const created = create(self, limit)
  if (created === undefined && self.team.partial.length === 0 && isFull(self)) return full(self, ticket)
  const node = Team.placeCreated(self.team, ticket, created, ticket.priority)
  if (node !== undefined) Ticket.backlogged(ticket, self.team.backlog, node)
  scheduleFlush(self)
}

/** Whether a ticket that needs the backlog must wait: it is full, or others wait for room before it. */
const isFull = (self: Section): boolean => self.team.backlog.length >= self.maxBacklog || self.room.length > 0

const full = (self: Section, ticket: PoolTicket): void => {
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
  for (let rest = ticket.after; rest !== undefined; rest = rest.after) settle(self, rest, Exit.interrupt())
  settle(self, ticket, refused)
}

/**
 * Tickets waiting for room come in, oldest first (highest priority first), while the backlog has room or a thread
 * can take them. Called after every pass that may have made room.
 */
export const admit = (self: Section): void => {
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
const create = (self: Section, limit: number): Thread.Thread | undefined => {
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
const spawn = (self: Section): Thread.Thread => {
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
export const grow = (self: Section, n: number, limit: number): Array<Thread.Thread> => {
  const created: Array<Thread.Thread> = []
  for (let i = 0; i < n; i++) {
    const thread = create(self, limit)
    if (thread === undefined) break
    created.push(thread)
    Team.add(self.team, thread)
  }
  admit(self)
  scheduleFlush(self)
  return created
}

/** After threads left: the backlog gets new threads while the pool may have them. */
export const replenish = (self: Section, limit: number): void => {
  if (self.team.backlog.length > 0) grow(self, self.team.backlog.length, limit)
}

/** The team finished with one of the thread's tickets. */
export const finishOn = (self: Section, thread: Thread.Thread): void => {
  if (thread.inTeam) Team.finish(self.team, thread)
}

/** An idle thread leaves the team and closes (the pool closes). */
export const dismiss = (self: Section, thread: Thread.Thread): void => {
  if (thread.inTeam) Team.remove(self.team, thread)
  retire(self, thread)
}

/** The hook of the team's `quitWorker`: the thread closes, gracefully, and is terminated if it does not. */
const retire = (self: Section, thread: Thread.Thread): void => {
  thread.inTeam = false
  if (thread.state === Thread.DEAD) return
  self.events.left(self, thread)
  thread.state = Thread.LEAVING
  self.config.meters.pending.threadsReleased++
  postTo(self, thread, [Protocol.CLOSE])
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
export const doom = (self: Section, thread: Thread.Thread): void => {
  if (thread.state === Thread.DEAD) return
  thread.state = Thread.LEAVING
  if (thread.inTeam) {
    thread.inTeam = false
    Team.remove(self.team, thread)
  }
  self.events.left(self, thread)
  thread.handle?.terminate()
  self.config.threadLeft()
}

// ---- the whole pool ----

/** Every ticket not settled: backlogged, waiting, held by threads, and the unsent rest of their sequences. */
export const unsettled = (self: Section): Array<PoolTicket> => {
  const all: Array<PoolTicket> = []
  const add = (ticket: PoolTicket | undefined) => {
    for (let t = ticket; t !== undefined; t = t.after) if (!Ticket.isSettled(t)) all.push(t)
  }
  for (const level of self.team.backlog.levels) {
    for (let node = level.head; node !== undefined; node = node.next) add(node.value)
  }
  for (const level of self.room.levels) {
    for (let node = level.head; node !== undefined; node = node.next) add(node.value)
  }
  for (const thread of self.threads) {
    for (const ticket of thread.held.values()) add(ticket)
    for (const ticket of Backlog.toArray(thread.reserved)) add(ticket)
  }
  for (const lane of self.lanes.values()) for (const ticket of Backlog.toArray(lane.queue)) add(ticket)
  return all
}

/** The statistics, read off the state. */
export const statistics = (self: Section) => ({
  ...Team.statistics(self.team),
  backloggedWorkCount: backlogged(self),
  workerCount: Team.size(self.team),
  threadsStarted: self.threadsStarted,
  threadsCrashed: self.threadsCrashed,
  tasksInFlight: self.inFlight,
  waitingForRoom: self.room.length
})

/** Tasks waiting for a thread: the team's backlog and the work reserved for threads. */
export const backlogged = (self: Section): number => {
  let count = self.team.backlog.length
  for (const thread of self.threads) count += thread.reserved.length
  return count
}

/** Waits until `done` holds, checking it whenever a thread leaves or the team quits. */
export const awaitUntil = (self: Section, done: () => boolean): Effect.Effect<void> =>
  Effect.callback<void>((resume) => {
    const check = () => {
      if (done()) resume(Effect.void)
      else self.changed.push(check)
    }
    check()
  })

/** Settles a ticket that is not running, taking it out of the backlog if it is there. */
export const drop = (self: Section, ticket: PoolTicket, exit: Exit.Exit<unknown, unknown>): void => {
  Ticket.unlist(ticket)
  settle(self, ticket, exit)
  admit(self)
  scheduleFlush(self)
}

/** Fails the tickets that no thread will run with `error` (after `stop`, with no thread left). */
export const abandon = (self: Section, error: AlreadyQuit): void => {
  const failed = Exit.fail(error)
  for (const ticket of unsettled(self)) if (ticket.state !== Ticket.SENT) drop(self, ticket, failed)
}
