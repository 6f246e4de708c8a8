/**
 * The pool's synchronous section: the Team's algorithm (`team.ts`) run over threads and tickets, with no Effect on
 * the path of a task. A task is placed in one synchronous step (an idle thread's outbox, a new thread, a thread with
 * room, or the backlog); a thread's batch is received in one pass that takes each answered ticket off its thread,
 * makes the team's completion notices (which send backlogged tickets on), and only then resumes the callers, so a
 * caller that submits again from its continuation finds the section consistent: Twisted's `LockWorker` rule, that
 * work submitted from inside running work waits for the current step, holds because every step is synchronous and
 * callers run between steps. Whatever a turn posted leaves at its end, one message per thread.
 *
 * The pool's state is one record, {@link Section}, made here in one step; its fields are grouped by the one module
 * that writes them (the lifecycle, the threads' lives, the placing of tickets, this module's books and turn). The
 * modules of the state machine call each other's functions directly.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import type { AlreadyQuit } from "../../AlreadyQuit.ts"
import type * as ThreadPlatform from "../../ThreadPlatform.ts"
import * as Backlog from "../backlog.ts"
import * as Pacer from "../pacer.ts"
import * as Team from "../team.ts"
import * as Codec from "../wire/codec.ts"
import * as Protocol from "../wire/protocol.ts"
import * as Meters from "./meters.ts"
import type * as PoolOptions from "./options.ts"
import * as Placing from "./placing.ts"
import * as Thread from "./thread.ts"
import * as Threads from "./threads.ts"
import * as Ticket from "./ticket.ts"

/** A ticket of this pool. */
export type PoolTicket = Ticket.Ticket<Thread.Thread>

/** What a section runs on, from the pool's scope. */
export interface Environment {
  readonly platform: ThreadPlatform.ThreadPlatformShape
  readonly meters: Meters.Meters
  /** The clock's time, in milliseconds. */
  readonly millis: () => number
  /** Forks an effect into the pool's scope. */
  readonly run: <A, E>(effect: Effect.Effect<A, E>) => Fiber.Fiber<A, E>
}

/**
 * The pool's state, one record: what it was made with, the team, the threads, the tickets' places, the turn. Each
 * field says which module writes it; every other module only reads it.
 */
export interface Section extends Environment {
  /** The options, resolved once when the pool was made. */
  readonly options: PoolOptions.Resolved
  /** Twisted's team over the threads and tickets; written only by `team.ts`'s transitions. */
  readonly team: Team.Team<Thread.Thread, PoolTicket>

  // ---- the pool's size and life: written by `lifecycle.ts` ----
  minThreads: number
  maxThreads: number
  /** `start` was called; the pool creates threads. */
  started: boolean
  /** `stop` was called, or the scope is closing: nothing new is accepted. */
  quitting: boolean
  /** The scope is closing: what threads give back or hold settles as interrupted. */
  closing: boolean

  // ---- the threads: written by `threads.ts` ----
  /** Threads not dead yet. */
  readonly threads: Set<Thread.Thread>
  nextThreadId: number
  threadsStarted: number
  threadsCrashed: number
  threadsTerminated: number
  threadsRecycled: number
  /** The adaptive policy's creation token: taken by a thread created above the minimum, given back by the pacer. */
  token: boolean
  /** Told when the token is taken (the adaptive policy's pacer waits on it). */
  readonly tokenTaken: Pacer.Signal

  // ---- where tickets wait: written by `placing.ts` ----
  /** Tickets waiting for room in a full backlog (`maxBacklog`), in the order they will be admitted. */
  readonly room: Backlog.Backlog<PoolTicket>
  /** The lanes of the keys in use: the thread a key is bound to, whether a task of it is out, what waits. */
  readonly lanes: Map<string, Lane>

  // ---- the books and the turn: written by this module ----
  nextTicketId: number
  inFlight: number
  /** The team has quit and its last busy thread has finished. */
  teamQuit: boolean
  /** Threads with messages to flush at the end of the turn. */
  dirty: Array<Thread.Thread>
  flushScheduled: boolean
  /** The time of this turn, read once per turn; -1 when not read yet. */
  now: number
  /** Woken when the last thread is gone, or the team has quit. */
  changed: Array<() => void>
  readonly flushBound: () => void
}

/** A key's lane: the tasks of one key run on one thread, in order, one at a time. Written by `placing.ts`. */
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
export const make = (options: PoolOptions.Resolved, environment: Environment): Section => {
  const self: Section = {
    platform: environment.platform,
    meters: environment.meters,
    millis: environment.millis,
    run: environment.run,
    options,
    // The team's decisions are the pool's transitions: a task goes into a thread's outbox, a thread closes.
    team: Team.make<Thread.Thread, PoolTicket>({
      dispatch: (thread, ticket) => Placing.dispatch(self, thread, ticket),
      quitWorker: (thread) => Threads.retire(self, thread),
      quitCoordinator: () => {
        self.teamQuit = true
        wake(self)
      },
      now: () => environment.millis(),
      reserved: (thread) => Placing.reservedFor(self, thread)
    }, options.capacity),
    minThreads: options.minThreads,
    maxThreads: options.maxThreads,
    started: false,
    quitting: false,
    closing: false,
    threads: new Set(),
    nextThreadId: 1,
    threadsStarted: 0,
    threadsCrashed: 0,
    threadsTerminated: 0,
    threadsRecycled: 0,
    token: true,
    tokenTaken: Pacer.signal(() => !self.token),
    room: Backlog.make(),
    lanes: new Map(),
    nextTicketId: 0,
    inFlight: 0,
    teamQuit: false,
    dirty: [],
    flushScheduled: false,
    now: -1,
    changed: [],
    flushBound: () => flushAll(self)
  }
  return self
}

/** The time of the current turn, in milliseconds. */
export const now = (self: Section): number => {
  if (self.now < 0) {
    self.now = self.millis()
    scheduleFlush(self)
  }
  return self.now
}

/** Wakes whoever waits for the pool to change (a thread gone, the team quit): {@link awaitUntil}. */
export const wake = (self: Section): void => {
  const waiters = self.changed
  self.changed = []
  for (const waiter of waiters) waiter()
}

/** Makes sure the turn ends with a flush ({@link flushAll}), one microtask per turn. */
export const scheduleFlush = (self: Section): void => {
  if (self.flushScheduled) return
  self.flushScheduled = true
  Protocol.queueMicrotask(self.flushBound)
}

/** `thread`'s outbox has something: it leaves at the end of the turn. */
export const markDirty = (self: Section, thread: Thread.Thread): void => {
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
  settle(self, ticket, Exit.fail(Codec.unsendable(ticket.task._tag, ticket.payload, error)))
}

/** The books of a ticket about to settle: no longer in flight, its failure counted, its run time observed. */
const account = (self: Section, ticket: PoolTicket, exit: Exit.Exit<unknown, unknown>): void => {
  self.inFlight--
  if (ticket.turn) Placing.keyDone(self, ticket.key!)
  if (Exit.isFailure(exit)) self.meters.pending.failures++
  if (ticket.thread !== undefined) {
    Meters.observe(self.meters, self.meters.runTime, now(self) - ticket.sentAt)
  }
}

/** Brings the metrics up to date with the state. */
export const flushMeters = (self: Section): void =>
  Meters.flush(self.meters, backlogged(self), self.team.busy, self.team.idle.length)

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

/** {@link settleAll} of one ticket. */
export const settleOne = (
  self: Section,
  ticket: PoolTicket,
  exit: Exit.Exit<unknown, unknown>,
  release: (() => void) | undefined
): void => {
  if (Ticket.isSettled(ticket)) return
  account(self, ticket, exit)
  flushMeters(self)
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

/** A new ticket, counted in flight. */
export const ticket = (self: Section, init: Ticket.Init<Thread.Thread>): PoolTicket => {
  self.inFlight++
  self.meters.pending.tasks++
  return Ticket.make(init, self.nextTicketId++, now(self))
}

/** Whether placing a ticket now would need a thread that does not exist yet (so a dynamic limit must be read). */
export const needsThread = (self: Section): boolean => self.team.idle.length === 0 && self.started

/** The team finished with one of the thread's tickets. */
export const finishOn = (self: Section, thread: Thread.Thread): void => {
  if (thread.inTeam) Team.finish(self.team, thread)
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
  threadsTerminated: self.threadsTerminated,
  threadsRecycled: self.threadsRecycled,
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
  Placing.admit(self)
  scheduleFlush(self)
}

/** Fails the tickets that no thread will run with `error` (after `stop`, with no thread left). */
export const abandon = (self: Section, error: AlreadyQuit): void => {
  const failed = Exit.fail(error)
  for (const ticket of unsettled(self)) if (ticket.state !== Ticket.SENT) drop(self, ticket, failed)
}
