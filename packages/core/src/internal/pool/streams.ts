/**
 * Streaming tasks on the main side: `ThreadPool.stream` gives the caller a `Stream` of the elements a thread's
 * streaming handler produces. Backpressure crosses the thread by credit: the caller's side holds a bounded queue and
 * grants the thread one element of credit for each element the consumer takes out of it (`PULL`); the thread sends
 * (`CHUNK`) only within its credit and otherwise waits. So a slow consumer slows the producer, and memory stays
 * bounded on both sides. The end, a typed failure, a defect or an interruption comes as the ticket's outcome; a
 * consumer that stops early cancels the ticket, which interrupts the stream in its thread.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { AlreadyQuit } from "../../AlreadyQuit.ts"
import type * as Task from "../../Task.ts"
import type { StreamOptions } from "../../ThreadPoolOptions.ts"
import * as Codec from "../wire/codec.ts"
import * as Protocol from "../wire/protocol.ts"
import * as Calls from "./calls.ts"
import * as Placing from "./placing.ts"
import * as Section from "./section.ts"
import * as Ticket from "./ticket.ts"

/** Gives the ticket's thread `n` more elements of credit, now if it was sent, else with its RUN. */
const grant = (self: Section.Section, ticket: Section.PoolTicket, n: number): void => {
  if (ticket.state === Ticket.SENT && ticket.thread !== undefined) {
    Section.postTo(self, ticket.thread, [Protocol.PULL, ticket.id, n])
  } else if (ticket.state !== Ticket.SETTLED) {
    Ticket.addCredit(ticket, n)
  }
}

/** Runs a streaming task; its elements arrive as the thread produces them and the consumer takes them. */
export const stream = <T extends Task.AnyStream>(
  self: Section.Section,
  task: T,
  payload: Task.Payload<T>,
  options: StreamOptions | undefined
): Stream.Stream<Task.Element<T>, unknown> =>
  Stream.unwrap(
    Effect.gen(function*(): Effect.fn.Return<Stream.Stream<Task.Element<T>, unknown>, unknown, Scope.Scope> {
      if (self.quitting) return yield* new AlreadyQuit()
      const encoded = Codec.encodePayload(task, payload)
      if (Exit.isFailure(encoded)) return yield* Effect.failCause(encoded.cause)
      const window = Math.max(1, Math.floor(options?.bufferSize ?? 16))
      const queue = yield* Queue.bounded<Task.Element<T>, unknown>(window)
      const decode = Codec.of(task).decodeElement
      const fiber = Fiber.getCurrent()
      const ticket = Section.ticket(self, {
        task,
        payload: encoded.value,
        transfer: options?.transfer,
        trace: fiber === undefined ? undefined : Calls.traceOf(fiber),
        priority: options?.priority ?? 0,
        whenFull: options?.whenBacklogFull ?? self.options.whenBacklogFull,
        key: options?.key,
        sticky: false,
        holds: false,
        credit: window,
        onChunk: (elements) => {
          for (const element of elements) {
            const decoded = decode(element)
            if (Exit.isSuccess(decoded)) {
              Queue.offerUnsafe(queue, decoded.value as Task.Element<T>)
              continue
            }
            Queue.failCauseUnsafe(queue, decoded.cause)
            return
          }
        },
        onSettle: (exit) => {
          if (Exit.isSuccess(exit)) Queue.endUnsafe(queue)
          else Queue.failCauseUnsafe(queue, exit.cause)
        }
      })
      Placing.placeNew(self, ticket, self.maxThreads)
      // The consumer stops (early, or interrupted): the stream stops in its thread.
      yield* Effect.addFinalizer(() => Calls.cancel(self, ticket))
      return Stream.fromQueue(queue).pipe(
        Stream.mapArray((elements) => {
          grant(self, ticket, elements.length)
          return elements
        })
      )
    })
  )
