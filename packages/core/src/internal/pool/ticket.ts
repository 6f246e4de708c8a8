/**
 * A ticket: one task on its way through the pool, as a named state machine. Its transitions are this module's
 * functions and nobody else's (every field is `readonly` outside this module; the functions below write them): a
 * ticket is `WAITING` (made, not placed yet; or waiting for room in a full backlog, or for its key's turn), then
 * `BACKLOGGED` (in the team's backlog, or reserved for a thread) or `SENT` (in a thread's hands), possibly `WAITING`
 * and `SENT` again after a thread gave it back unstarted ({@link recalled}), and finally `SETTLED`, exactly once, by
 * {@link settle}.
 *
 * Settling calls the ticket's `onSettle` once, with the task's `Exit`: for `deferToThread` that resumes the caller's
 * fiber directly; there is no Deferred per task. A caller interrupted while it waits for a sent ticket to end waits
 * on `waiter`, set only then.
 *
 * @internal
 */
import type * as Exit from "effect/Exit"
import type * as Task from "../../Task.ts"
import * as Backlog from "../backlog.ts"
import type * as Protocol from "../wire/protocol.ts"

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
  readonly state: State
  /** The thread holding it, while `SENT`. */
  readonly thread: H | undefined
  /**
   * Its entry in the list it waits in: the team's backlog or a thread's reserved work (`BACKLOGGED`), the waiting
   * room of a full backlog or its key's lane (`WAITING`).
   */
  readonly node: Backlog.Node<Ticket<H>> | undefined
  readonly list: Backlog.Backlog<Ticket<H>> | undefined
  /** Its key: the tasks of one key run on one thread, in order, one at a time. */
  readonly key: string | undefined
  /** It is its key's task in flight (the others of the key wait for it). */
  readonly turn: boolean
  /** The thread it must run on (a broadcast): it runs there or nowhere. */
  readonly only: H | undefined
  /** Higher goes first among waiting tasks. */
  readonly priority: number
  /** When the backlog is full: wait for room, or fail. */
  readonly whenFull: "wait" | "fail"
  /** A RECALL is on its way for it. */
  readonly recalling: boolean
  /** Its caller is being interrupted: a ticket given back settles as interrupted instead of going out again. */
  readonly cancelling: boolean
  /** It may be sent ahead to a busy thread (a bulk call's short batch, `placing.ts`). */
  readonly mayGoAhead: boolean
  /**
   * The ticket it was sent ahead behind (a bulk call's batch, `placing.ts`), until it is given back: while that one
   * has not answered, this one has not started.
   */
  readonly behind: Ticket<H> | undefined
  /** Tickets of one `callMultipleInThread`: run after this one, on the same thread; never recalled. */
  readonly after: Ticket<H> | undefined
  /** Whether it belongs to a sequence (`after` chain): it stays on its thread. */
  readonly sticky: boolean
  /** When it was made and when it was sent, in milliseconds, for the queue-wait and run-time histograms. */
  readonly madeAt: number
  readonly sentAt: number
  /**
   * Whether the thread stays with it after its outcome until the caller's follow-up is done (the `onResult` of
   * `callInThreadWithCallback`): the pool then hands `onSettle` a `release` to call.
   */
  readonly holds: boolean
  /** Receives the outcome, once, and, for a ticket that `holds` its thread, the function that releases it. */
  readonly onSettle: (exit: Exit.Exit<unknown, unknown>, release: (() => void) | undefined) => void
  /** Woken when it settles, for a caller that waits for it to end after an interrupt. */
  readonly waiter: (() => void) | undefined
  /** Told when it is sent (each time), with the time: the end of the `queued` span when tracing. */
  readonly onSent: ((millis: number) => void) | undefined
  /** A streaming ticket's elements, as they come (encoded). */
  readonly onChunk: ((elements: ReadonlyArray<unknown>) => void) | undefined
  /** A streaming ticket's credit not yet given to its thread (it was not sent yet). */
  readonly credit: number
}

/** What makes a ticket, besides its id and time. */
export interface Init<H = unknown> {
  readonly task: Task.Any
  readonly payload: unknown
  readonly transfer: ReadonlyArray<unknown> | undefined
  readonly trace: Protocol.Trace | undefined
  readonly priority: number
  readonly whenFull: "wait" | "fail"
  readonly key?: string | undefined
  readonly only?: H | undefined
  readonly sticky: boolean
  readonly holds: boolean
  readonly onSettle: (exit: Exit.Exit<unknown, unknown>, release: (() => void) | undefined) => void
  readonly onSent?: ((millis: number) => void) | undefined
  readonly onChunk?: ((elements: ReadonlyArray<unknown>) => void) | undefined
  readonly credit?: number | undefined
}

/** A new ticket, `WAITING`. */
export const make = <H>(init: Init<H>, id: number, madeAt: number): Ticket<H> => ({
  id,
  task: init.task,
  payload: init.payload,
  transfer: init.transfer,
  trace: init.trace,
  state: WAITING,
  thread: undefined,
  node: undefined,
  list: undefined,
  key: init.key,
  turn: false,
  only: init.only,
  priority: init.priority,
  whenFull: init.whenFull,
  recalling: false,
  cancelling: false,
  mayGoAhead: false,
  behind: undefined,
  after: undefined,
  sticky: init.sticky,
  madeAt,
  sentAt: 0,
  holds: init.holds,
  onSettle: init.onSettle,
  waiter: undefined,
  onSent: init.onSent,
  onChunk: init.onChunk,
  credit: init.credit ?? 0
})

/** A ticket as this module's transitions see it: writable. */
type Writable<H> = { -readonly [K in keyof Ticket<H>]: Ticket<H>[K] }

/** It waits before it can be placed (for room in a full backlog, for its key's turn), at `node` of `list`. */
export const waits = <H>(self: Ticket<H>, list: Backlog.Backlog<Ticket<H>>, node: Backlog.Node<Ticket<H>>): void => {
  const ticket: Writable<H> = self
  ticket.state = WAITING
  ticket.list = list
  ticket.node = node
}

/** It waits for a thread, at `node` of `list` (the team's backlog, or a thread's reserved work). */
export const backlogged = <H>(
  self: Ticket<H>,
  list: Backlog.Backlog<Ticket<H>>,
  node: Backlog.Node<Ticket<H>>
): void => {
  const ticket: Writable<H> = self
  ticket.state = BACKLOGGED
  ticket.list = list
  ticket.node = node
}

/** Takes it out of the list it waits in, if any. */
export const unlist = <H>(self: Ticket<H>): void => {
  const ticket: Writable<H> = self
  if (ticket.list !== undefined && ticket.node !== undefined) Backlog.remove(ticket.list, ticket.node)
  ticket.list = undefined
  ticket.node = undefined
}

/** Takes the first ticket waiting in `list` (the highest priority's oldest) out of it, if any. */
export const takeFirst = <H>(list: Backlog.Backlog<Ticket<H>>): Ticket<H> | undefined => {
  const node = Backlog.take(list)
  if (node === undefined) return undefined
  const ticket: Writable<H> = node.value
  ticket.list = undefined
  ticket.node = undefined
  return node.value
}

/** It is its key's task in flight: the key's other tasks wait for it. */
export const takesTurn = <H>(self: Ticket<H>): void => {
  const ticket: Writable<H> = self
  ticket.turn = true
}

/** `tickets` are one sequence (`callMultipleInThread`): each runs after the one before it, on the same thread. */
export const sequence = <H>(tickets: ReadonlyArray<Ticket<H>>): void => {
  for (let i = 0; i + 1 < tickets.length; i++) {
    const ticket: Writable<H> = tickets[i]!
    ticket.after = tickets[i + 1]
  }
}

/** It goes to `thread` (taken out of whatever list it waited in). */
export const sent = <H>(self: Ticket<H>, thread: H, now: number): void => {
  const ticket: Writable<H> = self
  ticket.state = SENT
  ticket.thread = thread
  ticket.node = undefined
  ticket.list = undefined
  ticket.sentAt = now
  self.onSent?.(now)
}

/** It may be sent ahead to a busy thread. */
export const goesAhead = <H>(self: Ticket<H>): void => {
  const writable: Writable<H> = self
  writable.mayGoAhead = true
}

/** It was sent ahead, to run after `ticket` on the same thread. */
export const sentBehind = <H>(self: Ticket<H>, ticket: Ticket<H>): void => {
  const writable: Writable<H> = self
  writable.behind = ticket
}

/** A streaming ticket gets `n` more elements of credit, to give its thread when it is sent. */
export const addCredit = <H>(self: Ticket<H>, n: number): void => {
  const ticket: Writable<H> = self
  ticket.credit += n
}

/** Takes the credit it gathered before it was sent (it goes to the thread with its RUN). */
export const takeCredit = <H>(self: Ticket<H>): number => {
  const ticket: Writable<H> = self
  const credit = ticket.credit
  ticket.credit = 0
  return credit
}

/** A RECALL is on its way for it: its thread is asked to give it back unstarted. */
export const recalling = <H>(self: Ticket<H>): void => {
  const ticket: Writable<H> = self
  ticket.recalling = true
}

/** The thread gave it back unstarted: it is `WAITING` again, for the pool to place. */
export const recalled = <H>(self: Ticket<H>): void => {
  const ticket: Writable<H> = self
  ticket.state = WAITING
  ticket.thread = undefined
  ticket.recalling = false
  ticket.behind = undefined
}

/** Its caller is being interrupted: given back by its thread, it settles as interrupted instead of going out again. */
export const cancelling = <H>(self: Ticket<H>): void => {
  const ticket: Writable<H> = self
  ticket.cancelling = true
}

/** Calls `waiter` once it has settled (at once if it has): a caller that waits for it to end after an interrupt. */
export const whenSettled = <H>(self: Ticket<H>, waiter: () => void): void => {
  if (self.state === SETTLED) return waiter()
  const ticket: Writable<H> = self
  ticket.waiter = waiter
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
  const ticket: Writable<H> = self
  ticket.state = SETTLED
  ticket.thread = undefined
  ticket.node = undefined
  ticket.list = undefined
  ticket.behind = undefined
  self.onSettle(exit, release)
  const waiter = self.waiter
  if (waiter !== undefined) {
    ticket.waiter = undefined
    waiter()
  }
  return true
}

/** Whether it has ended. */
export const isSettled = <H>(self: Ticket<H>): boolean => self.state === SETTLED
