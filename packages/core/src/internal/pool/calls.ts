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
import * as Payload from "../wire/payload.ts"
import * as Protocol from "../wire/protocol.ts"
import * as Lanes from "./lanes.ts"
import * as Placing from "./placing.ts"
import type * as Pool from "./pool.ts"
import * as Section from "./section.ts"
import * as Ticket from "./ticket.ts"

/** Options of one run. */
export interface RunOptions {
  readonly transfer?: ReadonlyArray<unknown> | undefined
  readonly priority?: number | undefined
  readonly whenBacklogFull?: "wait" | "fail" | undefined
  readonly key?: string | undefined
}

/** Places a new ticket: by its key's lane if it has one, else as any other. */
export const placeNew = (section: Section.Section, ticket: Section.PoolTicket, limit: number): void =>
  ticket.key === undefined ? Placing.place(section, ticket, limit) : Lanes.place(section, ticket, limit)

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
  pool: Pool.Pool,
  go: (limit: number) => Effect.Effect<A, E>
): Effect.Effect<A, E | InvalidLimit> =>
  pool.readLimit !== undefined && Section.needsThread(pool.section)
    ? Effect.flatMap(pool.readLimit, go)
    : go(pool.section.maxThreads)

/** Where a ticket's outcome goes. */
type Settle = (exit: Exit.Exit<unknown, unknown>, release: (() => void) | undefined) => void

/** A ticket of a run with `options`: its place in the waiting order, its key, and where its outcome goes. */
const runTicket = (
  pool: Pool.Pool,
  task: Task.Any,
  payload: unknown,
  options: RunOptions | undefined,
  trace: Protocol.Trace | undefined,
  holds: boolean,
  onSettle: Settle,
  onSent?: ((millis: number) => void) | undefined
): Section.PoolTicket =>
  Section.ticket(pool.section, {
    task,
    payload,
    transfer: options?.transfer,
    trace,
    priority: options?.priority ?? 0,
    whenFull: options?.whenBacklogFull ?? pool.whenBacklogFull,
    key: options?.key,
    sticky: false,
    holds,
    onSettle,
    onSent
  })

/**
 * Runs a task and gives its outcome: the hot path. With the limit known (`maxThreads`) and tracing off, it is one
 * `Effect.callback`: encode, make the ticket, place it, wait.
 */
export const deferToThread = <T extends Task.Any>(
  pool: Pool.Pool,
  task: T,
  payload: Task.Payload<T>,
  options: RunOptions | undefined
): Effect.Effect<Task.Success<T>, unknown> => {
  if (pool.tracing || pool.readLimit !== undefined) return general(pool, task, payload, options)
  return Effect.callback<Task.Success<T>, unknown>((resume) => {
    const section = pool.section
    if (section.quitting) return resume(alreadyQuit)
    if (Task.isStream(task)) return resume(streamingTask(task))
    const encoded = Payload.encode(task, payload)
    if (Exit.isFailure(encoded)) return resume(encoded)
    const fiber = Fiber.getCurrent()
    const trace = fiber === undefined ? undefined : traceOf(fiber)
    const ticket = runTicket(pool, task, encoded.value, options, trace, false, resume as Settle)
    placeNew(section, ticket, section.maxThreads)
    return cancel(section, ticket)
  })
}

/** `deferToThread` with a dynamic limit to read, or with tracing. */
const general = <T extends Task.Any>(
  pool: Pool.Pool,
  task: T,
  payload: Task.Payload<T>,
  options: RunOptions | undefined
): Effect.Effect<Task.Success<T>, unknown> =>
  Effect.withFiber((fiber) => {
    const section = pool.section
    if (section.quitting) return alreadyQuit
    if (Task.isStream(task)) return streamingTask(task)
    const encoded = Payload.encode(task, payload)
    if (Exit.isFailure(encoded)) return encoded
    if (pool.tracing) return traced(pool, task, encoded.value, options)
    const trace = traceOf(fiber)
    return withLimit(pool, (limit) => wait(pool, task, encoded.value, options, trace, limit, undefined))
  }) as Effect.Effect<Task.Success<T>, unknown>

/** Places a ticket and waits for its outcome; an interrupt cancels it. */
const wait = (
  pool: Pool.Pool,
  task: Task.Any,
  payload: unknown,
  options: RunOptions | undefined,
  trace: Protocol.Trace | undefined,
  limit: number,
  onSent: ((millis: number) => void) | undefined
): Effect.Effect<unknown, unknown> =>
  Effect.callback<unknown, unknown>((resume) => {
    const section = pool.section
    if (section.quitting) return resume(alreadyQuit)
    const ticket = runTicket(pool, task, payload, options, trace, false, resume as Settle, onSent)
    placeNew(section, ticket, limit)
    return cancel(section, ticket)
  })

/** `deferToThread` with a span for the task and a child span for its time in the queue, ended when it is sent. */
const traced = (
  pool: Pool.Pool,
  task: Task.Any,
  payload: unknown,
  options: RunOptions | undefined
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
        return withLimit(pool, (limit) =>
          wait(pool, task, payload, options, trace, limit, (millis) =>
            end(BigInt(millis) * 1_000_000n))).pipe(
            Effect.onExit(() =>
              Effect.clockWith((clock) =>
                Effect.sync(() => end(clock.currentTimeNanosUnsafe()))
              )
            )
          )
      })),
    `effect-threads.task ${task._tag}`,
    {
      kind: "client",
      captureStackTrace: false,
      attributes: { "effect-threads.pool": pool.name, "effect-threads.task": task._tag }
    }
  )

/**
 * Submits a ticket whose outcome goes to `onSettle` instead of a waiting caller; the thread stays with it until
 * `onSettle` calls `release`.
 */
const submit = (
  pool: Pool.Pool,
  task: Task.Any,
  payload: unknown,
  options: RunOptions | undefined,
  onSettle: (exit: Exit.Exit<unknown, unknown>, release: (() => void) | undefined) => void
): Effect.Effect<void, AlreadyQuit | InvalidPayload | InvalidLimit> =>
  Effect.withFiber<void, AlreadyQuit | InvalidPayload | InvalidLimit>((fiber) => {
    const section = pool.section
    if (section.quitting) return alreadyQuit
    // Its outcome, a failure, goes where any outcome of this call goes.
    if (Task.isStream(task)) return Effect.sync(() => onSettle(streamingTask(task), undefined))
    const encoded = Payload.encodeChecked(task, payload)
    if (Exit.isFailure(encoded)) return encoded
    const trace = traceOf(fiber)
    return withLimit(pool, (limit) =>
      Effect.sync(() => {
        placeNew(section, runTicket(pool, task, encoded.value, options, trace, true, onSettle), limit)
      }))
  })

/** Runs a task and hands its outcome to `onResult`, on the main thread, before the thread takes other work. */
export const callInThreadWithCallback = <T extends Task.Any>(
  pool: Pool.Pool,
  onResult: (exit: Exit.Exit<Task.Success<T>, unknown>) => Effect.Effect<void>,
  task: T,
  payload: Task.Payload<T>,
  options: RunOptions | undefined
): Effect.Effect<void, AlreadyQuit | InvalidPayload | InvalidLimit> =>
  submit(pool, task, payload, options, (exit, release) =>
    pool.run(
      onResult(exit as Exit.Exit<Task.Success<T>, unknown>).pipe(
        Effect.catchCause(pool.logException),
        Effect.ensuring(Effect.sync(() => release?.()))
      )
    ))

/** Runs a task without waiting; a failure goes to `logException` before the thread takes other work. */
export const callInThread = <T extends Task.Any>(
  pool: Pool.Pool,
  task: T,
  payload: Task.Payload<T>,
  options: RunOptions | undefined
): Effect.Effect<void, AlreadyQuit | InvalidPayload | InvalidLimit> =>
  submit(pool, task, payload, options, (exit, release) => {
    // Success, or the pool closed under it (interrupted): nothing to report.
    if (Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause)) return release?.()
    pool.run(
      Effect.ensuring(
        Effect.catchCause(pool.logException(exit.cause), () => Effect.void),
        Effect.sync(() => release?.())
      )
    )
  })

/** One call of a sequence. */
export interface Call {
  readonly task: Task.Any
  readonly payload: unknown
}

/** Runs the calls in order on one thread; the first failure stops the rest and goes to `logException`. */
export const callMultipleInThread = (
  pool: Pool.Pool,
  calls: ReadonlyArray<Call>
): Effect.Effect<void, AlreadyQuit | InvalidPayload | InvalidLimit> =>
  Effect.withFiber<void, AlreadyQuit | InvalidPayload | InvalidLimit>((fiber) => {
    const section = pool.section
    if (section.quitting) return alreadyQuit
    const encoded: Array<unknown> = []
    for (const call of calls) {
      const one = Payload.encodeChecked(call.task, call.payload)
      if (Exit.isFailure(one)) return one
      encoded.push(one.value)
    }
    if (calls.length === 0) return Effect.void
    const trace = traceOf(fiber)
    const onSettle = (exit: Exit.Exit<unknown, unknown>) => {
      // The first failure is logged; the rest of the sequence, not run, settles as interrupted and is not.
      if (Exit.isFailure(exit) && !Cause.hasInterruptsOnly(exit.cause)) {
        pool.run(Effect.catchCause(pool.logException(exit.cause), () => Effect.void))
      }
    }
    // A streaming task in the sequence: the sequence would stop at it, so none of it runs; its failure is logged.
    const streaming = calls.find((call) => Task.isStream(call.task))
    if (streaming !== undefined) return Effect.sync(() => onSettle(streamingTask(streaming.task)))
    return withLimit(pool, (limit) =>
      Effect.sync(() => {
        const tickets = calls.map((call, i) =>
          Section.ticket(section, {
            task: call.task,
            payload: encoded[i],
            transfer: undefined,
            trace,
            priority: 0,
            whenFull: pool.whenBacklogFull,
            sticky: true,
            holds: false,
            onSettle
          })
        )
        for (let i = 0; i + 1 < tickets.length; i++) tickets[i]!.after = tickets[i + 1]
        Placing.place(section, tickets[0]!, limit)
      }))
  })

const awaitSettled = (ticket: Section.PoolTicket): Effect.Effect<void> =>
  Effect.callback<void>((resume) => {
    if (Ticket.isSettled(ticket)) return resume(Effect.void)
    ticket.waiter = () => resume(Effect.void)
  })

/**
 * The ticket's caller is interrupted: a ticket not sent yet leaves the backlog at once and settles as interrupted;
 * a sent one is interrupted in its thread, and if it has not ended within the grace period its thread is doomed
 * (decided synchronously, so an answer that came first wins) and terminated. Waits until the ticket has settled.
 */
export const cancel = (self: Section.Section, ticket: Section.PoolTicket): Effect.Effect<void> =>
  Effect.suspend(() => {
    ticket.cancelling = true
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
      Effect.timeoutOption(self.config.interruptGracePeriod),
      Effect.flatMap((ended) => {
        if (ended._tag === "Some" || Ticket.isSettled(ticket)) return Effect.void
        Placing.doom(self, thread)
        return awaitSettled(ticket)
      })
    )
  })

/**
 * Runs a task once on every thread that can take work now (a thread still starting included), and gives one `Exit`
 * per thread, in the order of the threads. A thread that leaves before it ran its ticket gives `ThreadCrashed`.
 */
export const broadcast = <T extends Task.Any>(
  pool: Pool.Pool,
  task: T,
  payload: Task.Payload<T>
): Effect.Effect<ReadonlyArray<Exit.Exit<Task.Success<T>, unknown>>, AlreadyQuit | InvalidPayload> =>
  Effect.callback<ReadonlyArray<Exit.Exit<Task.Success<T>, unknown>>, AlreadyQuit | InvalidPayload>((resume) => {
    const section = pool.section
    if (section.quitting) return resume(alreadyQuit)
    if (Task.isStream(task)) {
      const failed = streamingTask(task)
      return resume(Exit.succeed(Array.from({ length: Lanes.takers(section) }, () => failed)))
    }
    const encoded = Payload.encodeChecked(task, payload)
    if (Exit.isFailure(encoded)) return resume(Exit.fail(Cause.squash(encoded.cause) as InvalidPayload))
    const fiber = Fiber.getCurrent()
    const trace = fiber === undefined ? undefined : traceOf(fiber)
    const exits: Array<Exit.Exit<Task.Success<T>, unknown>> = []
    let pending = 1
    const done = () => {
      if (--pending === 0) resume(Exit.succeed(exits))
    }
    const tickets = Lanes.broadcast(section, (thread) => {
      const at = exits.length
      exits.push(Exit.interrupt())
      pending++
      return Section.ticket(section, {
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
    return Effect.forEach(tickets, (ticket) => cancel(section, ticket), { discard: true, concurrency: "unbounded" })
  })
