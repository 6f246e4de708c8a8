/**
 * The pool's handle on one platform thread: its state, the tickets it holds, and its outbox. Messages posted to a
 * thread in one turn leave together, as one `post` of the platform, when the pool flushes.
 *
 * A thread is `STARTING` until it says it is ready, `READY` while it takes work, `LEAVING` once it may take no more
 * (retired, or doomed to be terminated), and `DEAD` once the platform reported its exit. A thread that dies is not
 * brought back: the pool creates a new one when work needs it, so a broken entry fails each request once and is
 * never respawned on a timer.
 *
 * @internal
 */
import type * as ThreadError from "../../ThreadError.ts"
import type * as ThreadPlatform from "../../ThreadPlatform.ts"
import * as Backlog from "../backlog.ts"
import * as Describe from "../describe.ts"
import * as Protocol from "../wire/protocol.ts"
import type * as Ticket from "./ticket.ts"

/** Spawned; it has not said it is ready. Work may be sent: the runner queues it. */
export const STARTING = 0
/** Ready: it runs what it is sent. */
export const READY = 1
/** It takes no more work: retired (asked to close) or doomed (being terminated). */
export const LEAVING = 2
/** Its exit was reported. */
export const DEAD = 3

/**
 * One platform thread. Its life (`handle`, `state`, `inTeam`, `timer`, `startFailure`, `recycling`, `doomed`,
 * `onReady` when it is ready or gone) is written by `threads.ts`; what it holds by the modules that send to it and hear
 * from it, as each field says.
 */
export interface Thread {
  readonly id: number
  handle: ThreadPlatform.ThreadHandle | undefined
  state: typeof STARTING | typeof READY | typeof LEAVING | typeof DEAD
  /** Whether the team counts it (idle or busy). */
  inTeam: boolean
  /**
   * Tickets sent to it and not answered, in the order they were sent: added by `placing.ts` (dispatch), removed by
   * `inbox.ts` (an answer), `section.ts` (a message that could not be sent) and `threads.ts` (its exit).
   */
  readonly held: Map<number, Ticket.Ticket<Thread>>
  /** What leaves at the next flush: written by this module's {@link post} and {@link flush}. */
  outbox: Array<Protocol.ToThread>
  outTickets: Array<Ticket.Ticket<Thread> | undefined>
  transfers: Array<unknown>
  /** Whether it is in the pool's list of threads to flush (`section.ts`). */
  dirty: boolean
  /** RECALLs on their way to it (`inbox.ts`: sent when it steals, counted back when a recalled ticket returns). */
  recalls: number
  /** Called when it is ready or could not start: added to by whoever waits for it (`lifecycle.ts`'s `start`). */
  onReady: Array<(error: ThreadError.ThreadStartFailed | undefined) => void>
  /** Why it failed to start, when the pool decided so (a start timeout) before the platform reported the exit. */
  startFailure: string | undefined
  /** Its start timer, or the timer that terminates it if it does not close in time. */
  timer: { readonly interruptUnsafe: () => void } | undefined
  /** Work pinned to it (a key's next task, a broadcast), taken before the backlog (`placing.ts`). */
  readonly reserved: Backlog.Backlog<Ticket.Ticket<Thread>>
  /** The keys whose tasks run on it (`placing.ts`). */
  readonly keys: Set<string>
  /** Tasks it has answered, and its heap in use as it last said (when the pool watches heaps): `inbox.ts`. */
  completed: number
  heap: number
  /** It is being recycled: it finishes what it holds, takes nothing new, then closes. */
  recycling: boolean
  /** The pool decided to terminate it (it ignored an interrupt past the grace period, or never became ready). */
  doomed: boolean
}

/** A thread record, before its platform thread is spawned. */
export const make = (id: number): Thread => ({
  id,
  handle: undefined,
  state: STARTING,
  inTeam: false,
  held: new Map(),
  outbox: [],
  outTickets: [],
  transfers: [],
  dirty: false,
  recalls: 0,
  onReady: [],
  startFailure: undefined,
  timer: undefined,
  reserved: Backlog.make(),
  keys: new Set(),
  completed: 0,
  heap: 0,
  recycling: false,
  doomed: false
})

/** Whether it can be given work. */
export const isUsable = (self: Thread): boolean => self.state === STARTING || self.state === READY

/**
 * Adds a message to the outbox (with the ticket it carries, whose transfer list goes along). Gives whether the
 * outbox was empty, i.e. the thread needs a flush.
 */
export const post = (self: Thread, message: Protocol.ToThread, ticket?: Ticket.Ticket<Thread>): boolean => {
  self.outTickets.push(ticket)
  if (ticket?.transfer !== undefined) {
    for (const value of ticket.transfer) self.transfers.push(value)
  }
  return self.outbox.push(message) === 1
}

/** The RUN message of a ticket. */
export const runMessage = (ticket: Ticket.Ticket<Thread>): Protocol.ToThread =>
  ticket.trace === undefined
    ? [Protocol.RUN, ticket.id, ticket.task._tag, ticket.payload]
    : [Protocol.RUN, ticket.id, ticket.task._tag, ticket.payload, ticket.trace]

/**
 * Sends the outbox as one message. If it cannot be cloned, sends message by message, and hands each ticket whose
 * message could not be sent to `unsendable` with the error: nothing of it reached the thread.
 */
export const flush = (
  self: Thread,
  unsendable: (ticket: Ticket.Ticket<Thread>, error: unknown) => void
): void => {
  const batch = self.outbox
  const tickets = self.outTickets
  const transfers = self.transfers
  self.outbox = []
  self.outTickets = []
  self.transfers = []
  const handle = self.handle
  if (batch.length === 0 || handle === undefined || self.state === DEAD) return
  try {
    handle.post(batch, transfers)
    return
  } catch {
    // Some value could not be cloned: below, one by one.
  }
  for (let i = 0; i < batch.length; i++) {
    const ticket = tickets[i]
    try {
      handle.post([batch[i]], ticket?.transfer ?? [])
    } catch (error) {
      if (ticket !== undefined) unsendable(ticket, error)
    }
  }
}

/** How a thread's exit reads, for the errors of the tickets it held. */
export interface Death {
  readonly message: string
  readonly exitCode?: number
  readonly cause?: unknown
}

/**
 * Describes an exit the platform reported. Total: whatever the thread died of (any object, `null`, a symbol, an
 * object whose `toString` throws, a `Proxy` that throws on every access) reads as a message, and it is kept as the
 * cause only if it can be read later.
 */
export const describeExit = (exit: ThreadPlatform.ThreadExit): Death => {
  const error = exit.error
  const what = error === undefined
    ? exit.terminated === true ? "it was terminated" : "it exited"
    : Describe.describe(error)
  const code = exit.exitCode === undefined ? "" : ` with code ${exit.exitCode}`
  return {
    message: `${what}${code}`,
    ...(exit.exitCode === undefined ? {} : { exitCode: exit.exitCode }),
    ...(error === undefined || !Describe.isReadable(error) ? {} : { cause: error })
  }
}
