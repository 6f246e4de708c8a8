/**
 * A ticket: one task on its way through the pool, as a named state machine. Its transitions are this module's
 * functions and nobody else's: a ticket is `WAITING` (made, not placed yet: the pool reads its limit), then
 * `BACKLOGGED` (in the team's backlog) or `SENT` (in a thread's hands), possibly `SENT` again after a thread gave it
 * back unstarted (`recalled`), and finally `SETTLED`, exactly once, by {@link settle}.
 *
 * Settling calls the ticket's `onSettle` once, with the task's `Exit`: for `deferToThread` that resumes the caller's
 * fiber directly; there is no Deferred per task. A caller interrupted while it waits for a sent ticket to end waits
 * on `waiter`, set only then.
 *
 * @internal
 */
import * as Exit from "effect/Exit"
import type * as Task from "../Task.ts"
import type * as Backlog from "./backlog.ts"
import type * as Protocol from "./protocol.ts"

/** Made; the pool is deciding where it goes. */
export const WAITING = 0
/** In the team's backlog. */
export const BACKLOGGED = 1
/** Given to a thread. */
export const SENT = 2
/** Ended; it will not change again. */
export const SETTLED = 3

/** A ticket's state. */
export type State = typeof WAITING | typeof BACKLOGGED | typeof SENT | typeof SETTLED

/** One task on its way. `H` is the pool's handle on a thread. */
export interface Ticket<H> {
  readonly id: number
  readonly task: Task.Any
  /** The encoded payload. */
  readonly payload: unknown
  readonly transfer: ReadonlyArray<unknown> | undefined
  readonly trace: Protocol.Trace | undefined
  state: State
  /** The thread holding it, while `SENT`. */
  thread: H | undefined
  /** Its backlog entry, while `BACKLOGGED`; its entry in the waiting room, while `WAITING` for room. */
  node: Backlog.Node<Ticket<H>> | undefined
  /** Higher goes first among waiting tasks. */
  readonly priority: number
  /** When the backlog is full: wait for room, or fail. */
  readonly whenFull: "wait" | "fail"
  /** A RECALL is on its way for it. */
  recalling: boolean
  /** Its caller is being interrupted: a ticket given back settles as interrupted instead of going out again. */
  cancelling: boolean
  /** Tickets of one `callMultipleInThread`: run after this one, on the same thread; never recalled. */
  after: Ticket<H> | undefined
  /** Whether it belongs to a sequence (`after` chain): it stays on its thread. */
  readonly sticky: boolean
  /** When it was made and when it was sent, in milliseconds, for the queue-wait and run-time histograms. */
  readonly madeAt: number
  sentAt: number
  /**
   * Whether the thread stays with it after its outcome until the caller's follow-up is done (the `onResult` of
   * `callInThreadWithCallback`): the pool then hands `onSettle` a `release` to call.
   */
  readonly holds: boolean
  /** Receives the outcome, once, and, for a ticket that `holds` its thread, the function that releases it. */
  readonly onSettle: (exit: Exit.Exit<unknown, unknown>, release: (() => void) | undefined) => void
  /** Woken when it settles, for a caller that waits for it to end after an interrupt. */
  waiter: (() => void) | undefined
  /** Told when it is sent (each time), with the time: the end of the `queued` span when tracing. */
  readonly onSent: ((millis: number) => void) | undefined
}

/** What makes a ticket, besides its id and time. */
export interface Init {
  readonly task: Task.Any
  readonly payload: unknown
  readonly transfer: ReadonlyArray<unknown> | undefined
  readonly trace: Protocol.Trace | undefined
  readonly priority: number
  readonly whenFull: "wait" | "fail"
  readonly sticky: boolean
  readonly holds: boolean
  readonly onSettle: (exit: Exit.Exit<unknown, unknown>, release: (() => void) | undefined) => void
  readonly onSent?: ((millis: number) => void) | undefined
}

/** A new ticket, `WAITING`. */
export const make = <H>(init: Init, id: number, madeAt: number): Ticket<H> => ({
  id,
  task: init.task,
  payload: init.payload,
  transfer: init.transfer,
  trace: init.trace,
  state: WAITING,
  thread: undefined,
  node: undefined,
  priority: init.priority,
  whenFull: init.whenFull,
  recalling: false,
  cancelling: false,
  after: undefined,
  sticky: init.sticky,
  madeAt,
  sentAt: 0,
  holds: init.holds,
  onSettle: init.onSettle,
  waiter: undefined,
  onSent: init.onSent
})

/** The backlog is full: it waits for room, at `node` of the waiting room. */
export const waitsForRoom = <H>(self: Ticket<H>, node: Backlog.Node<Ticket<H>>): void => {
  self.state = WAITING
  self.node = node
}

/** It waits in the backlog, at `node`. */
export const backlogged = <H>(self: Ticket<H>, node: Backlog.Node<Ticket<H>>): void => {
  self.state = BACKLOGGED
  self.node = node
}

/** It goes to `thread`. */
export const sent = <H>(self: Ticket<H>, thread: H, now: number): void => {
  self.state = SENT
  self.thread = thread
  self.node = undefined
  self.sentAt = now
  self.onSent?.(now)
}

/** The thread gave it back unstarted: it is `WAITING` again, for the pool to place. */
export const recalled = <H>(self: Ticket<H>): void => {
  self.state = WAITING
  self.thread = undefined
  self.recalling = false
}

/**
 * Ends it with `exit`, once; later calls do nothing. Gives whether this call settled it. `release` goes to a ticket
 * that holds its thread.
 */
export const settle = <H>(
  self: Ticket<H>,
  exit: Exit.Exit<unknown, unknown>,
  release?: (() => void) | undefined
): boolean => {
  if (self.state === SETTLED) return false
  self.state = SETTLED
  self.thread = undefined
  self.node = undefined
  self.onSettle(exit, release)
  const waiter = self.waiter
  if (waiter !== undefined) {
    self.waiter = undefined
    waiter()
  }
  return true
}

const interrupted: Exit.Exit<never> = Exit.interrupt()

/** Ends it as interrupted. */
export const settleInterrupted = <H>(self: Ticket<H>): boolean => settle(self, interrupted)

/** Whether it has ended. */
export const isSettled = <H>(self: Ticket<H>): boolean => self.state === SETTLED
