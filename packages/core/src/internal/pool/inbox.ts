/**
 * What threads say to the pool, heard by the section: a batch of answers (each answered ticket leaves its thread
 * and the team is told in one pass, then the callers resume), READY, the heap in use, a stream's elements, and calls
 * to the main thread (answered here, by the pool's `mainHandlers`). Work stealing is decided here, where threads
 * become free. A thread's exit is `threads.ts`'s.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Codec from "../wire/codec.ts"
import * as Protocol from "../wire/protocol.ts"
import * as Placing from "./placing.ts"
import * as Section from "./section.ts"
import * as Thread from "./thread.ts"
import * as Threads from "./threads.ts"
import * as Ticket from "./ticket.ts"

type PoolTicket = Section.PoolTicket
type Sec = Section.Section

/** A batch from a thread: every answered ticket leaves its thread and the team is told, then the callers resume. */
export const receive = (self: Sec, thread: Thread.Thread, batch: Protocol.FromThreadBatch): void => {
  // The first answer stays in these; arrays are made only for a second one (one answer a batch is the common case).
  let first: PoolTicket | undefined
  let firstExit: Exit.Exit<unknown, unknown> | undefined
  let firstRelease: (() => void) | undefined
  let answered: Array<PoolTicket> | undefined
  let exits: Array<Exit.Exit<unknown, unknown>> | undefined
  let releases: Array<(() => void) | undefined> | undefined
  for (const message of batch) {
    switch (message[0]) {
      case Protocol.RESULT: {
        const ticket = thread.held.get(message[1])
        if (ticket === undefined) break
        thread.held.delete(message[1])
        if (message[2] === Protocol.RECALLED) {
          thread.recalls--
          Ticket.recalled(ticket)
          Section.finishOn(self, thread)
          if (ticket.cancelling || self.closing) Section.settle(self, ticket, Exit.interrupt())
          else Placing.place(self, ticket, 0)
          break
        }
        // A RECALL that came after it had started: the thread ran it, and no longer counts as recalling it.
        if (ticket.recalling) thread.recalls--
        thread.completed++
        const exit = Codec.resultToExit(ticket.task, message)
        let release: (() => void) | undefined
        if (ticket.sticky && continueSequence(self, thread, ticket, exit)) {
          // The sequence goes on, on this thread: the thread stays with it.
        } else if (ticket.holds) {
          release = releaser(self, thread)
        } else if (thread.completed >= self.options.recycleAfterTasks) {
          // Its share of tasks is done: it leaves the team instead of taking the next task.
          Threads.recycleIfDue(self, thread)
        } else {
          Section.finishOn(self, thread)
        }
        if (first === undefined) {
          first = ticket
          firstExit = exit
          firstRelease = release
        } else {
          ;(answered ??= [first]).push(ticket)
          ;(exits ??= [firstExit!]).push(exit)
          ;(releases ??= [firstRelease]).push(release)
        }
        break
      }
      case Protocol.CALL: {
        answerCall(self, thread, message[1], message[2], message[3])
        break
      }
      case Protocol.READY: {
        Threads.ready(thread)
        break
      }
      case Protocol.HEAP: {
        thread.heap = message[1]
        break
      }
      case Protocol.CHUNK: {
        thread.held.get(message[1])?.onChunk?.(message[2])
        break
      }
    }
  }
  if (thread.recycling || self.options.recycleAboveHeap !== Infinity) Threads.recycleIfDue(self, thread)
  if (self.room.length > 0) Placing.admit(self)
  if (self.options.capacity > 1 || self.team.ahead.size > 0) steal(self)
  if (answered !== undefined) Section.settleAll(self, answered, exits!, releases)
  else if (first !== undefined) Section.settleOne(self, first, firstExit!, firstRelease)
}

/** Gives a released thread back to the team once; does nothing if it left meanwhile. */
const releaser = (self: Sec, thread: Thread.Thread): () => void => {
  let done = false
  return () => {
    if (done) return
    done = true
    Section.finishOn(self, thread)
    if (thread.recycling || thread.completed >= self.options.recycleAfterTasks) Threads.recycleIfDue(self, thread)
    Section.scheduleFlush(self)
  }
}

/**
 * A ticket of a `callMultipleInThread` sequence ended: on success the next one goes to the same thread (which stays
 * busy); otherwise the rest of the sequence will not run. Gives whether the sequence goes on.
 */
const continueSequence = (
  self: Sec,
  thread: Thread.Thread,
  ticket: PoolTicket,
  exit: Exit.Exit<unknown, unknown>
): boolean => {
  const next = ticket.after
  if (next === undefined) return false
  if (Exit.isSuccess(exit) && !self.closing && Thread.isUsable(thread)) {
    Placing.dispatch(self, thread, next)
    return true
  }
  for (let rest: PoolTicket | undefined = next; rest !== undefined; rest = rest.after) {
    Section.settle(self, rest, Exit.interrupt())
  }
  return false
}

// ---- stealing ----

/** Whether a ticket may be taken back from its thread: not a sequence's, a key's, a broadcast's or a stream's. */
const isMovable = (ticket: PoolTicket): boolean =>
  !ticket.recalling && !ticket.sticky && ticket.key === undefined && ticket.only === undefined &&
  ticket.onChunk === undefined

/**
 * Work stealing, when tasks are sent ahead (a pipelined pool's, a bulk call's batch): while threads are idle and
 * nothing is backlogged, each idle thread takes back one task that a busy thread holds and has not started (the newest
 * of the thread that holds the most), so no task waits behind a slow one while a thread is free. Decided only here,
 * after a batch, where threads become free.
 */
const steal = (self: Sec): void => {
  const team = self.team
  if (team.idle.length === 0 || team.backlog.length > 0) return
  let budget = team.idle.length
  for (const thread of self.threads) budget -= thread.recalls
  while (budget > 0) {
    let most: Thread.Thread | undefined
    let ahead = 0
    for (const thread of self.threads) {
      if (thread.state !== Thread.READY) continue
      const unstarted = thread.held.size - 1 - thread.recalls
      if (unstarted > ahead) {
        most = thread
        ahead = unstarted
      }
    }
    if (most === undefined) return
    let newest: PoolTicket | undefined
    for (const ticket of most.held.values()) {
      if (isMovable(ticket)) newest = ticket
    }
    if (newest === undefined) return
    Ticket.recalling(newest)
    most.recalls++
    Section.postTo(self, most, [Protocol.RECALL, newest.id])
    budget--
  }
}

// ---- calls to the main thread ----

/** Answers a thread's call to a task implemented on the main thread (`ThreadRunner.callMain`). */
const answerCall = (self: Sec, thread: Thread.Thread, id: number, tag: string, payload: unknown): void => {
  const reply = (outcome: Protocol.Outcome) =>
    Section.postTo(self, thread, [Protocol.REPLY, id, ...outcome] as unknown as Protocol.ToThread)
  const handler = self.options.mainHandlers.get(tag)
  if (handler === undefined) return reply([Protocol.NOT_IMPLEMENTED])
  const decoded = Codec.of(handler.task).decodePayload(payload)
  if (Exit.isFailure(decoded)) return reply(Codec.invalidOutcome(decoded))
  self.run(Effect.flatMap(
    Effect.exit(handler.handle(decoded.value as never)),
    (exit) => Effect.sync(() => reply(Codec.encodeOutcome(handler.task, exit)))
  ))
}
