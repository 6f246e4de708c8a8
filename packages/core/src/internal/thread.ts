/**
 * The main thread's handle on one task thread, over `effect/workers`: spawns the platform thread, waits for it to be
 * ready, sends requests, routes their outcomes back, and notices when the thread dies. A thread that died is
 * spawned again by the next request that needs it (never by a timer), so a broken entry file fails each request
 * once instead of respawning forever.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import * as Worker from "effect/workers/Worker"
import type { AlreadyQuit } from "../AlreadyQuit.ts"
import type * as Task from "../Task.ts"
import type { InvalidLimit } from "../TeamPool.ts"
import * as ThreadError from "../ThreadError.ts"
import * as Protocol from "./protocol.ts"

/** One task on its way through a thread. Settled exactly once, by `settle`. */
export interface Ticket {
  readonly id: number
  readonly task: Task.Any
  readonly payload: unknown
  readonly transfer: ReadonlyArray<unknown> | undefined
  /** 0: not sent yet, 1: sent to a thread, 2: settled. */
  state: 0 | 1 | 2
  incarnation: Incarnation | undefined
  readonly result: Deferred.Deferred<Protocol.Outcome, ThreadError.ThreadError | AlreadyQuit | InvalidLimit>
  /** The caller's span, sent along so that the thread's span is its child. */
  readonly trace: Protocol.Trace | undefined
  /** Called when the ticket is sent to a thread. */
  readonly onSent: (() => void) | undefined
  /** Completed when this send of the ticket ends: it settled, or the thread gave it back. */
  attempt: Deferred.Deferred<void>
  /** A RECALL was sent for it (at most one per send). */
  recalling: boolean
  /** Its caller is being interrupted: a ticket given back now settles as interrupted. */
  cancelling: boolean
  /** Hands a ticket that a thread gave back to the pool again. */
  resubmit: ((ticket: Ticket) => void) | undefined
  /** Called when the ticket settles. */
  readonly onSettled:
    | ((exit: Exit.Exit<Protocol.Outcome, ThreadError.ThreadError | AlreadyQuit | InvalidLimit>) => void)
    | undefined
}

/** Settles a ticket once; later calls do nothing. */
export const settle = (
  ticket: Ticket,
  exit: Exit.Exit<Protocol.Outcome, ThreadError.ThreadError | AlreadyQuit | InvalidLimit>
): void => {
  if (ticket.state === 2) return
  ticket.state = 2
  ticket.incarnation?.pending.delete(ticket.id)
  ticket.onSettled?.(exit)
  Deferred.doneUnsafe(ticket.result, exit)
  Deferred.doneUnsafe(ticket.attempt, Exit.void)
}

const interrupted: Exit.Exit<Protocol.Outcome> = Exit.succeed([Protocol.INTERRUPTED])

/** Settles a ticket as interrupted. */
export const settleInterrupted = (ticket: Ticket): void => settle(ticket, interrupted)

/** One platform thread; a handle has a new one after each death. */
export interface Incarnation {
  readonly threadId: number
  readonly worker: Worker.Worker<Protocol.FromThreadBatch, Protocol.ToThreadBatch>
  /** Messages posted in this turn, sent together at its end. */
  readonly outbox: Array<Protocol.ToThread>
  readonly outboxTickets: Array<Ticket | undefined>
  readonly transfers: Array<unknown>
  readonly ready: Deferred.Deferred<void, ThreadError.ThreadStartFailed>
  readonly pending: Map<number, Ticket>
  readonly scope: Scope.Closeable
  dead: boolean
  /** Whether the thread said it is ready (`ready` succeeded). */
  isReady: boolean
}

/** What a thread needs from its pool. */
export interface Environment {
  readonly platform: Worker.WorkerPlatform["Service"]
  readonly spawner: Worker.SpawnerFn
  readonly terminate: (threadId: number) => Effect.Effect<void>
  readonly nextThreadId: () => number
  readonly startTimeout: Duration.Duration
  readonly interruptGracePeriod: Duration.Duration
  /** Answers a thread's call to the main thread. */
  readonly onCall: (incarnation: Incarnation, id: number, tag: string, payload: unknown) => void
  readonly onSpawn: () => void
  readonly onCrash: () => void
}

/** The main thread's handle on one thread. */
export interface Thread {
  /** The current platform thread, if one is alive. */
  readonly current: () => Incarnation | undefined
  /** Sends the ticket to the thread and waits until it is settled. */
  readonly run: (ticket: Ticket) => Effect.Effect<void>
  /** Waits until the current thread is ready; fails if it could not start. */
  readonly awaitReady: Effect.Effect<void, ThreadError.ThreadStartFailed>
}

const exitCodeOf = (message: string): number | undefined => {
  const match = /exited with code: (-?\d+)/.exec(message)
  return match === null ? undefined : Number(match[1])
}

/** Describes why a thread's `run` ended, from the `WorkerError` (or defect) it ended with. */
const describeDeath = (cause: Cause.Cause<unknown>): { message: string; exitCode?: number; cause?: unknown } => {
  const error = Cause.squash(cause)
  const reason = typeof error === "object" && error !== null && "reason" in error ? error.reason : error
  const message = reason instanceof Error ? reason.message : String(reason)
  const inner = typeof reason === "object" && reason !== null && "cause" in reason ? reason.cause : undefined
  const exitCode = exitCodeOf(message)
  const detail = inner instanceof Error ? `${inner.name}: ${inner.message}` : inner === undefined ? "" : String(inner)
  return {
    message: detail === "" ? message : `${message}: ${detail}`,
    ...(exitCode === undefined ? {} : { exitCode }),
    ...(inner === undefined ? {} : { cause: inner })
  }
}

/**
 * A thread gave a sent-ahead ticket back, unstarted: it is no longer on that thread, this send of it ends, and the
 * pool hands it out again (to the thread that is free), or, if its caller is being interrupted, it settles so.
 */
const recalled = (ticket: Ticket): void => {
  ticket.incarnation?.pending.delete(ticket.id)
  ticket.incarnation = undefined
  ticket.state = 0
  ticket.recalling = false
  const attempt = ticket.attempt
  ticket.attempt = Deferred.makeUnsafe<void>()
  if (ticket.cancelling || ticket.resubmit === undefined) settleInterrupted(ticket)
  else ticket.resubmit(ticket)
  Deferred.doneUnsafe(attempt, Exit.void)
}

/**
 * Asks a thread to give a sent-ahead ticket back, if it has not started it. Only tickets that can be handed out
 * again are recalled (not those of `callMultipleInThread`, which must stay on their thread, in order).
 */
export const recall = (ticket: Ticket): void => {
  const incarnation = ticket.incarnation
  if (ticket.state !== 1 || ticket.recalling || ticket.resubmit === undefined) return
  if (incarnation === undefined || incarnation.dead) return
  ticket.recalling = true
  post(incarnation, [Protocol.RECALL, ticket.id])
}

/** What a `WorkerError` (or any error with a `cause`) wraps: the platform's own error. */
const innerCause = (error: unknown): unknown =>
  typeof error === "object" && error !== null && "cause" in error ? error.cause : error

/** Sends what was posted in this turn as one message. */
const flush = (incarnation: Incarnation): void => {
  const batch = incarnation.outbox.splice(0)
  const tickets = incarnation.outboxTickets.splice(0)
  const transfers = incarnation.transfers.splice(0)
  if (batch.length === 0 || incarnation.dead) return
  const sent = Effect.runSyncExit(incarnation.worker.send(batch, transfers))
  if (Exit.isSuccess(sent)) return
  // The batch could not be cloned: send one by one, and fail the tasks whose payload is the reason.
  batch.forEach((message, i) => {
    const ticket = tickets[i]
    const one = Effect.runSyncExit(incarnation.worker.send([message], ticket?.transfer))
    if (Exit.isFailure(one) && ticket !== undefined) {
      const reason = innerCause(Cause.squash(one.cause))
      settle(
        ticket,
        Exit.fail(
          new ThreadError.InvalidPayload({
            task: ticket.task._tag,
            path: Protocol.findUncloneable(ticket.payload) ?? "$",
            message: `the payload of ${ticket.task._tag} cannot be sent to a thread: ${
              reason instanceof Error ? reason.message : String(reason)
            }`
          })
        )
      )
    }
  })
}

/** Posts a message to a thread: it leaves with the others of this turn. */
const post = (incarnation: Incarnation, message: Protocol.ToThread, ticket?: Ticket): void => {
  incarnation.outboxTickets.push(ticket)
  if (ticket?.transfer !== undefined) incarnation.transfers.push(...ticket.transfer)
  if (incarnation.outbox.push(message) === 1) Protocol.queueMicrotask(() => flush(incarnation))
}

/**
 * The caller of a ticket is interrupted: a ticket not sent yet settles as interrupted; a sent one is interrupted in
 * its thread, and the thread is terminated if the ticket has not ended within the grace period.
 */
export const cancel = (ticket: Ticket, env: Environment): Effect.Effect<void> =>
  Effect.suspend(() => {
    ticket.cancelling = true
    if (ticket.state === 0) {
      settleInterrupted(ticket)
      return Effect.void
    }
    const incarnation = ticket.incarnation
    if (ticket.state === 2 || incarnation === undefined) return Effect.void
    post(incarnation, [Protocol.INTERRUPT, ticket.id])
    return Deferred.await(ticket.result).pipe(
      Effect.exit,
      Effect.timeoutOption(env.interruptGracePeriod),
      Effect.flatMap((settled) =>
        settled._tag === "Some" || incarnation.dead
          ? Effect.void
          : Effect.andThen(env.terminate(incarnation.threadId), Effect.exit(Deferred.await(ticket.result)))
      )
    )
  })

/** Starts a thread handle in `scope` and spawns its first platform thread. */
export const make = (env: Environment, scope: Scope.Scope): Effect.Effect<Thread> =>
  Effect.gen(function*() {
    let current: Incarnation | undefined

    const died = (incarnation: Incarnation, exit: Exit.Exit<unknown, unknown>): void => {
      if (incarnation.dead) return
      incarnation.dead = true
      if (current === incarnation) current = undefined
      const death = Exit.isFailure(exit) ? describeDeath(exit.cause) : { message: "the thread stopped" }
      if (!Deferred.isDoneUnsafe(incarnation.ready)) {
        Deferred.doneUnsafe(
          incarnation.ready,
          Exit.fail(
            new ThreadError.ThreadStartFailed({
              message: `thread ${incarnation.threadId} could not start: ${death.message}`,
              ...(death.cause === undefined ? {} : { cause: death.cause })
            })
          )
        )
      } else if (incarnation.pending.size > 0) {
        // It died holding tasks: a crash. (A thread that ends without work was retired, not crashed.)
        env.onCrash()
      }
      for (const ticket of Array.from(incarnation.pending.values())) {
        settle(
          ticket,
          Exit.fail(
            new ThreadError.ThreadCrashed({
              task: ticket.task._tag,
              message: `thread ${incarnation.threadId} died while running ${ticket.task._tag}: ${death.message}`,
              ...(death.exitCode === undefined ? {} : { exitCode: death.exitCode }),
              ...(death.cause === undefined ? {} : { cause: death.cause })
            })
          )
        )
      }
      Effect.runFork(Scope.close(incarnation.scope, Exit.void))
    }

    const onMessage = (incarnation: Incarnation, batch: Protocol.FromThreadBatch): void => {
      for (const message of batch) {
        if (message[0] === Protocol.RESULT) {
          const [, id, ...answer] = message
          const ticket = incarnation.pending.get(id)
          if (ticket === undefined) continue
          if (answer[0] === Protocol.RECALLED) recalled(ticket)
          else settle(ticket, Exit.succeed(answer as Protocol.Outcome))
        } else {
          env.onCall(incarnation, message[1], message[2], message[3])
        }
      }
    }

    const spawn: Effect.Effect<Incarnation> = Effect.gen(function*() {
      const threadId = env.nextThreadId()
      const incarnationScope = yield* Scope.fork(scope)
      const worker = yield* env.platform.spawn<Protocol.FromThreadBatch, Protocol.ToThreadBatch>(threadId).pipe(
        Effect.provideService(Worker.Spawner, env.spawner),
        Effect.orDie
      )
      const incarnation: Incarnation = {
        threadId,
        worker,
        ready: Deferred.makeUnsafe<void, ThreadError.ThreadStartFailed>(),
        pending: new Map(),
        outbox: [],
        outboxTickets: [],
        transfers: [],
        scope: incarnationScope,
        dead: false,
        isReady: false
      }
      current = incarnation
      env.onSpawn()
      const fiber = yield* worker.run(
        (message) => Effect.sync(() => onMessage(incarnation, message)),
        {
          onSpawn: Effect.suspend(() => {
            incarnation.isReady = true
            return Deferred.completeWith(incarnation.ready, Effect.void)
          }).pipe(Effect.asVoid)
        }
      ).pipe(Effect.forkIn(incarnationScope, { startImmediately: true }))
      fiber.addObserver((exit) => died(incarnation, exit))
      // A thread that never says it is ready is killed after the start timeout.
      yield* Deferred.await(incarnation.ready).pipe(
        Effect.timeoutOrElse({
          duration: env.startTimeout,
          // Uninterruptible: failing `ready` can end the scope this fiber runs in, and the thread must still die.
          orElse: () =>
            Effect.uninterruptible(Effect.suspend(() => {
              Deferred.doneUnsafe(
                incarnation.ready,
                Exit.fail(
                  new ThreadError.ThreadStartFailed({
                    message: `thread ${threadId} did not become ready within ${Duration.format(env.startTimeout)}`
                  })
                )
              )
              return env.terminate(threadId)
            }))
        }),
        Effect.ignore,
        Effect.forkIn(incarnationScope)
      )
      return incarnation
    })

    const live: Effect.Effect<Incarnation> = Effect.suspend(() =>
      current !== undefined && !current.dead ? Effect.succeed(current) : spawn
    )

    yield* spawn

    const send = (ticket: Ticket, incarnation: Incarnation): Effect.Effect<void> => {
      if (ticket.state === 2) return Effect.void
      if (incarnation.dead) return run(ticket)
      ticket.state = 1
      ticket.incarnation = incarnation
      incarnation.pending.set(ticket.id, ticket)
      post(
        incarnation,
        ticket.trace === undefined
          ? [Protocol.RUN, ticket.id, ticket.task._tag, ticket.payload]
          : [Protocol.RUN, ticket.id, ticket.task._tag, ticket.payload, ticket.trace],
        ticket
      )
      ticket.onSent?.()
      return Deferred.await(ticket.attempt)
    }

    const run = (ticket: Ticket): Effect.Effect<void> =>
      Effect.suspend(() => {
        if (ticket.state === 2) return Effect.void
        const incarnation = current !== undefined && !current.dead ? current : undefined
        // The fast path: a live thread that is ready.
        if (incarnation !== undefined && incarnation.isReady) return send(ticket, incarnation)
        return Effect.flatMap(live, (incarnation) =>
          Effect.matchEffect(Deferred.await(incarnation.ready), {
            onFailure: (error) => Effect.sync(() => settle(ticket, Exit.fail(error))),
            onSuccess: () => send(ticket, incarnation)
          }))
      })

    return {
      current: () => current,
      run,
      awaitReady: Effect.flatMap(live, (incarnation) => Deferred.await(incarnation.ready))
    }
  })
