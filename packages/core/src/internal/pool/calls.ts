/**
 * The pool's calls, Twisted's `deferToThread`, `callInThread`, `callInThreadWithCallback` and
 * `callMultipleInThread`, over its synchronous section. `deferToThread` is the hot path: on the caller's fiber it
 * encodes the payload, makes a ticket and places it in one synchronous step, and waits on one callback, which the
 * section resumes with the task's `Exit` (decoded already). No fiber, no Deferred, no lock per task.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Tracer from "effect/Tracer"
import { AlreadyQuit } from "../../AlreadyQuit.ts"
import * as Task from "../../Task.ts"
import { type InvalidLimit, type InvalidPayload, TaskNotImplemented } from "../../ThreadError.ts"
import type { Call } from "../../ThreadPool.ts"
import type { RunOptions } from "../../ThreadPoolOptions.ts"
import * as Codec from "../wire/codec.ts"
import * as Protocol from "../wire/protocol.ts"
import * as Placing from "./placing.ts"
import * as Section from "./section.ts"
import * as Threads from "./threads.ts"
import * as Ticket from "./ticket.ts"

const alreadyQuit = Exit.fail(new AlreadyQuit())

/**
 * A streaming task given to a call that runs a plain task (from code the type check did not see): it fails at once,
 * where its handler would never end.
 */
const streamingTask = (task: Task.Any): Exit.Exit<never, TaskNotImplemented> =>
  Exit.fail(
    new TaskNotImplemented({
      task: task._tag,
      message: `${task._tag} is a streaming task (Task.stream): run it with ThreadPool.stream`
    })
  )

/** The caller's span, sent along so that the thread's span is its child. */
export const traceOf = (fiber: Fiber.Fiber<unknown, unknown>): Protocol.Trace | undefined => {
  const span = Context.getOrUndefined(fiber.context, Tracer.ParentSpan)
  return span === undefined ? undefined : [span.traceId, span.spanId, span.sampled]
}

/**
 * Runs `go` with the limit it may create threads up to: `maxThreads` at once, or, when a dynamic limit is set and
 * placing now would need a new thread, that limit read first (on the caller's fiber, so its failure is the caller's).
 */
const withLimit = <A, E>(
  self: Section.Section,
  go: (limit: number) => Effect.Effect<A, E>
): Effect.Effect<A, E | InvalidLimit> =>
  self.options.readLimit !== undefined && Section.needsThread(self)
    ? Effect.flatMap(self.options.readLimit, go)
    : go(self.maxThreads)

/** Where a ticket's outcome goes. */
type Settle = (exit: Exit.Exit<unknown, unknown>, release: (() => void) | undefined) => void

/** A ticket of a run with `options`: its place in the waiting order, its key, and where its outcome goes. */
const runTicket = (
  self: Section.Section,
  task: Task.Any,
  payload: unknown,
  options: RunOptions | undefined,
  trace: Protocol.Trace | undefined,
  holds: boolean,
  onSettle: Settle,
  onSent?: ((millis: number) => void) | undefined,
  made?: ((ticket: Section.PoolTicket) => void) | undefined
): Section.PoolTicket => {
  const ticket = Section.ticket(self, {
    task,
    payload,
    transfer: options?.transfer,
    trace,
    priority: options?.priority ?? 0,
    whenFull: options?.whenBacklogFull ?? self.options.whenBacklogFull,
    key: options?.key,
    sticky: false,
    holds,
    onSettle,
    onSent
  })
  made?.(ticket)
  return ticket
}

/**
 * Runs a task and gives its outcome: the hot path. With the limit known (`maxThreads`) and tracing off, it is one
 * `Effect.callback`: encode, make the ticket, place it, wait. `made` is given the task's ticket when the pool makes it,
 * before it is placed (a bulk call's batch counts its elements from then on, and may be sent ahead: `batches.ts`).
 */
export const deferToThread = <T extends Task.Any>(
  self: Section.Section,
  task: T,
  payload: Task.Payload<T>,
  options: RunOptions | undefined,
  made?: ((ticket: Section.PoolTicket) => void) | undefined
): Effect.Effect<Task.Success<T>, unknown> => {
  if (self.options.tracing || self.options.readLimit !== undefined) return general(self, task, payload, options, made)
  return Effect.callback<Task.Success<T>, unknown>((resume) => {
    if (self.quitting) return resume(alreadyQuit)
    if (Task.isStream(task)) return resume(streamingTask(task))
    const encoded = Codec.encodePayload(task, payload)
    if (Exit.isFailure(encoded)) return resume(encoded)
    const fiber = Fiber.getCurrent()
    const trace = fiber === undefined ? undefined : traceOf(fiber)
    const ticket = runTicket(self, task, encoded.value, options, trace, false, resume as Settle, undefined, made)
    Placing.placeNew(self, ticket, self.maxThreads)
    return cancel(self, ticket)
  })
}

/** `deferToThread` with a dynamic limit to read, or with tracing. */
const general = <T extends Task.Any>(
  self: Section.Section,
  task: T,
  payload: Task.Payload<T>,
  options: RunOptions | undefined,
  made: ((ticket: Section.PoolTicket) => void) | undefined
): Effect.Effect<Task.Success<T>, unknown> =>
  Effect.withFiber((fiber) => {
    if (self.quitting) return alreadyQuit
    if (Task.isStream(task)) return streamingTask(task)
    const encoded = Codec.encodePayload(task, payload)
    if (Exit.isFailure(encoded)) return encoded
    if (self.options.tracing) return traced(self, task, encoded.value, options, made)
    const trace = traceOf(fiber)
    return withLimit(self, (limit) => wait(self, task, encoded.value, options, trace, limit, undefined, made))
  }) as Effect.Effect<Task.Success<T>, unknown>

/** Places a ticket and waits for its outcome; an interrupt cancels it. */
const wait = (
  self: Section.Section,
  task: Task.Any,
  payload: unknown,
  options: RunOptions | undefined,
  trace: Protocol.Trace | undefined,
  limit: number,
  onSent: ((millis: number) => void) | undefined,
  made?: ((ticket: Section.PoolTicket) => void) | undefined
): Effect.Effect<unknown, unknown> =>
  Effect.callback<unknown, unknown>((resume) => {
    if (self.quitting) return resume(alreadyQuit)
    const ticket = runTicket(self, task, payload, options, trace, false, resume as Settle, onSent, made)
    Placing.placeNew(self, ticket, limit)
    return cancel(self, ticket)
  })

/** `deferToThread` with a span for the task and a child span for its time in the queue, ended when it is sent. */
const traced = (
  self: Section.Section,
  task: Task.Any,
  payload: unknown,
  options: RunOptions | undefined,
  made: ((ticket: Section.PoolTicket) => void) | undefined
): Effect.Effect<unknown, unknown> =>
  Effect.withSpan(
    Effect.flatMap(Effect.orDie(Effect.currentSpan), (span) =>
      Effect.flatMap(Effect.makeSpan("effect-threads.queued", { parent: span }), (queued) => {
        let open = true
        const end = (nanos: bigint) => {
          if (open) {
            queued.end(nanos, Exit.void)
          }
          open = false
        }
        const trace: Protocol.Trace = [span.traceId, span.spanId, span.sampled]
        return withLimit(self, (limit) =>
          wait(self, task, payload, options, trace, limit, (millis) =>
            end(BigInt(millis) * 1_000_000n), made)).pipe(
            Effect.onExit(() =>
              Effect.clockWith((clock) =>
                Effect.sync(() =>
                  end(clock.currentTimeNanosUnsafe())
                )
              )
            )
          )
      })),
    `effect-threads.task ${task._tag}`,
    {
      kind: "client",
      captureStackTrace: false,
      attributes: { "effect-threads.pool": self.options.name, "effect-threads.task": task._tag }
    }
  )

/**
 * Submits a ticket whose outcome goes to `onSettle` instead of a waiting caller; the thread stays with it until
 * `onSettle` calls `release`.
 */
const submit = (
  self: Section.Section,
  task: Task.Any,
  payload: unknown,
  options: RunOptions | undefined,
  onSettle: (exit: Exit.Exit<unknown, unknown>, release: (() => void) | undefined) => void
): Effect.Effect<void, AlreadyQuit | InvalidPayload | InvalidLimit> =>
  Effect.withFiber<void, AlreadyQuit | InvalidPayload | InvalidLimit>((fiber) => {
    if (self.quitting) return alreadyQuit
    // Its outcome, a failure, goes where any outcome of this call goes.
    if (Task.isStream(task)) return Effect.sync(() => onSettle(streamingTask(task), undefined))
    const encoded = Codec.encodePayloadChecked(task, payload)
    if (Exit.isFailure(encoded)) return encoded
    const trace = traceOf(fiber)
    return withLimit(self, (limit) =>
      Effect.sync(() => {
        Placing.placeNew(self, runTicket(self, task, encoded.value, options, trace, true, onSettle), limit)
      }))
  })

/** Runs a task and hands its outcome to `onResult`, on the main thread, before the thread takes other work. */
export const callInThreadWithCallback = <T extends Task.Any>(
  self: Section.Section,
  onResult: (exit: Exit.Exit<Task.Success<T>, unknown>) => Effect.Effect<void>,
  task: T,
  payload: Task.Payload<T>,
  options: RunOptions | undefined
): Effect.Effect<void, AlreadyQuit | InvalidPayload | InvalidLimit> =>
  submit(self, task, payload, options, (exit, release) =>
    self.run(
      onResult(exit as Exit.Exit<Task.Success<T>, unknown>).pipe(
        Effect.catchCause(self.options.logException),
        Effect.ensuring(Effect.sync(() => release?.()))
      )
    ))

/** Runs a task without waiting; a failure goes to `logException` before the thread takes other work. */
export const callInThread = <T extends Task.Any>(
  self: Section.Section,
  task: T,
  payload: Task.Payload<T>,
  options: RunOptions | undefined
): Effect.Effect<void, AlreadyQuit | InvalidPayload | InvalidLimit> =>
  submit(self, task, payload, options, (exit, release) => {
    // Success, or the pool closed under it (interrupted): nothing to report.
    if (Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause)) return release?.()
    self.run(
      Effect.ensuring(
        Effect.catchCause(self.options.logException(exit.cause), () => Effect.void),
        Effect.sync(() => release?.())
      )
    )
  })

/** Runs the calls in order on one thread; the first failure stops the rest and goes to `logException`. */
export const callMultipleInThread = (
  self: Section.Section,
  calls: ReadonlyArray<Call>
): Effect.Effect<void, AlreadyQuit | InvalidPayload | InvalidLimit> =>
  Effect.withFiber<void, AlreadyQuit | InvalidPayload | InvalidLimit>((fiber) => {
    if (self.quitting) return alreadyQuit
    const encoded: Array<unknown> = []
    for (const call of calls) {
      const one = Codec.encodePayloadChecked(call.task, call.payload)
      if (Exit.isFailure(one)) return one
      encoded.push(one.value)
    }
    if (calls.length === 0) return Effect.void
    const trace = traceOf(fiber)
    const onSettle = (exit: Exit.Exit<unknown, unknown>) => {
      // The first failure is logged; the rest of the sequence, not run, settles as interrupted and is not.
      if (Exit.isFailure(exit) && !Cause.hasInterruptsOnly(exit.cause)) {
        self.run(Effect.catchCause(self.options.logException(exit.cause), () => Effect.void))
      }
    }
    // A streaming task in the sequence: the sequence would stop at it, so none of it runs; its failure is logged.
    const streaming = calls.find((call) => Task.isStream(call.task))
    if (streaming !== undefined) return Effect.sync(() => onSettle(streamingTask(streaming.task)))
    return withLimit(self, (limit) =>
      Effect.sync(() => {
        const tickets = calls.map((call, i) =>
          Section.ticket(self, {
            task: call.task,
            payload: encoded[i],
            transfer: undefined,
            trace,
            priority: 0,
            whenFull: self.options.whenBacklogFull,
            sticky: true,
            holds: false,
            onSettle
          })
        )
        Ticket.sequence(tickets)
        Placing.place(self, tickets[0]!, limit)
      }))
  })

const awaitSettled = (ticket: Section.PoolTicket): Effect.Effect<void> =>
  Effect.callback<void>((resume) => {
    Ticket.whenSettled(ticket, () => resume(Effect.void))
  })

/**
 * The ticket's caller is interrupted: a ticket not sent yet leaves the backlog at once and settles as interrupted;
 * a sent one is interrupted in its thread, and if it has not ended within the grace period its thread is doomed
 * (decided synchronously, so an answer that came first wins) and terminated. Waits until the ticket has settled.
 */
export const cancel = (self: Section.Section, ticket: Section.PoolTicket): Effect.Effect<void> =>
  Effect.suspend(() => {
    Ticket.cancelling(ticket)
    switch (ticket.state) {
      case Ticket.WAITING:
      case Ticket.BACKLOGGED: {
        Section.drop(self, ticket, Exit.interrupt())
        return Effect.void
      }
      case Ticket.SETTLED:
        return Effect.void
    }
    const thread = ticket.thread!
    Section.postTo(self, thread, [Protocol.INTERRUPT, ticket.id])
    return awaitSettled(ticket).pipe(
      Effect.timeoutOption(self.options.interruptGracePeriod),
      Effect.flatMap((ended) => {
        if (ended._tag === "Some" || Ticket.isSettled(ticket)) return Effect.void
        Threads.doom(self, thread)
        return awaitSettled(ticket)
      })
    )
  })

/**
 * Runs a task once on every thread that can take work now (a thread still starting included), and gives one `Exit`
 * per thread, in the order of the threads. A thread that leaves before it ran its ticket gives `ThreadCrashed`.
 */
export const broadcast = <T extends Task.Any>(
  self: Section.Section,
  task: T,
  payload: Task.Payload<T>
): Effect.Effect<ReadonlyArray<Exit.Exit<Task.Success<T>, unknown>>, AlreadyQuit | InvalidPayload> =>
  Effect.callback<ReadonlyArray<Exit.Exit<Task.Success<T>, unknown>>, AlreadyQuit | InvalidPayload>((resume) => {
    if (self.quitting) return resume(alreadyQuit)
    if (Task.isStream(task)) {
      const failed = streamingTask(task)
      return resume(Exit.succeed(Array.from({ length: Placing.takers(self) }, () => failed)))
    }
    const encoded = Codec.encodePayloadChecked(task, payload)
    if (Exit.isFailure(encoded)) return resume(Exit.fail(Cause.squash(encoded.cause) as InvalidPayload))
    const fiber = Fiber.getCurrent()
    const trace = fiber === undefined ? undefined : traceOf(fiber)
    const exits: Array<Exit.Exit<Task.Success<T>, unknown>> = []
    let pending = 1
    const done = () => {
      if (--pending === 0) resume(Exit.succeed(exits))
    }
    const tickets = Placing.broadcast(self, (thread) => {
      const at = exits.length
      exits.push(Exit.interrupt())
      pending++
      return Section.ticket(self, {
        task,
        payload: encoded.value,
        transfer: undefined,
        trace,
        priority: 0,
        whenFull: "wait",
        only: thread,
        sticky: false,
        holds: false,
        onSettle: (exit) => {
          exits[at] = exit as Exit.Exit<Task.Success<T>, unknown>
          done()
        },
        onSent: undefined
      })
    })
    done()
    return Effect.forEach(tickets, (ticket) => cancel(self, ticket), { discard: true, concurrency: "unbounded" })
  })
