/**
 * Keys and pinned work. Tasks given a key run on one thread, in submission order, one at a time, so that per-key
 * state can live in that thread; different keys still spread over the pool. A key's first task is placed like any
 * other; the thread it is sent to is the key's from then on, and each next task of the key waits for the one before
 * it, then is pinned to that thread (sent at once if the thread has room, else reserved for it, ahead of the
 * backlog). A thread that leaves (dies, is terminated, is released) unbinds its keys: their next tasks are placed
 * like new ones. A broadcast pins one ticket to each thread alive; one that leaves first fails its ticket.
 *
 * @internal
 */
import * as Exit from "effect/Exit"
import * as ThreadError from "../../ThreadError.ts"
import * as Backlog from "../backlog.ts"
import * as Placing from "./placing.ts"
import * as Section from "./section.ts"
import * as Thread from "./thread.ts"
import * as Ticket from "./ticket.ts"

type PoolTicket = Section.PoolTicket

/** Places a ticket that has a key: behind the key's task in flight, or on the key's thread, or like any other. */
export const place = (self: Section.Section, ticket: PoolTicket, limit: number): void => {
  const key = ticket.key!
  let lane = self.lanes.get(key)
  if (lane === undefined) {
    lane = { key, thread: undefined, busy: false, queue: Backlog.make() }
    self.lanes.set(key, lane)
  }
  if (lane.busy) return Ticket.waits(ticket, lane.queue, Backlog.append(lane.queue, ticket))
  go(self, lane, ticket, limit)
}

const go = (self: Section.Section, lane: Section.Lane, ticket: PoolTicket, limit: number): void => {
  lane.busy = true
  ticket.turn = true
  const thread = lane.thread
  if (thread !== undefined && thread.inTeam && Thread.isUsable(thread)) Placing.pin(self, thread, ticket)
  else Placing.place(self, ticket, limit)
}

/** A task of `key` ended: the next one goes, or the lane rests (kept while bound, so the key keeps its thread). */
export const keyDone = (self: Section.Section, key: string): void => {
  const lane = self.lanes.get(key)
  if (lane === undefined) return
  lane.busy = false
  const next = Backlog.take(lane.queue)
  if (next !== undefined) {
    const ticket = next.value
    ticket.list = undefined
    ticket.node = undefined
    go(self, lane, ticket, 0)
    // Its thread left (it died, was recycled or terminated): placed like a new task, it may have found no thread, and
    // the pool may have none (minThreads 0). The pool grows for its backlog, as after any thread that left.
    if (ticket.list === self.team.backlog) self.config.threadLeft()
    return
  }
  if (lane.thread === undefined) self.lanes.delete(key)
}

/**
 * `thread` takes no more work: its keys are unbound (their next tasks go to other threads), and what was reserved
 * for it is placed elsewhere, except a broadcast's ticket, which fails: it was for this thread only.
 */
export const left = (self: Section.Section, thread: Thread.Thread): void => {
  for (const key of thread.keys) {
    const lane = self.lanes.get(key)
    if (lane === undefined || lane.thread !== thread) continue
    lane.thread = undefined
    if (!lane.busy && lane.queue.length === 0) self.lanes.delete(key)
  }
  thread.keys.clear()
  for (let node = Backlog.take(thread.reserved); node !== undefined; node = Backlog.take(thread.reserved)) {
    const ticket = node.value
    ticket.list = undefined
    ticket.node = undefined
    if (ticket.only === undefined) Placing.place(self, ticket, 0)
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

/** Whether a broadcast goes to `thread`: it can take work now. */
const takes = (thread: Thread.Thread): boolean => thread.inTeam && Thread.isUsable(thread)

/** How many threads a broadcast goes to now. */
export const takers = (self: Section.Section): number => {
  let count = 0
  for (const thread of self.threads) if (takes(thread)) count++
  return count
}

/** A broadcast's tickets, one per thread that can take work now, each pinned to its thread. */
export const broadcast = (self: Section.Section, make: (thread: Thread.Thread) => PoolTicket): Array<PoolTicket> => {
  const tickets: Array<PoolTicket> = []
  for (const thread of self.threads) {
    if (!takes(thread)) continue
    const ticket = make(thread)
    tickets.push(ticket)
    Placing.pin(self, thread, ticket)
  }
  return tickets
}
