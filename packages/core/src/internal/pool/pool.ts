/**
 * A pool's parts, wired once: the synchronous section, the fibers of its scope (timers, main-thread calls,
 * callbacks), its limit, and the finalizer that closes it. The public operations (`calls.ts`, `lifecycle.ts`) work
 * on this record.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberSet from "effect/FiberSet"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type * as Task from "../../Task.ts"
import type * as Team from "../../Team.ts"
import type { InvalidLimit } from "../../ThreadError.ts"
import * as ThreadPlatform from "../../ThreadPlatform.ts"
import * as Limit from "../limit.ts"
import * as Outcome from "../wire/outcome.ts"
import * as Protocol from "../wire/protocol.ts"
import * as Inbox from "./inbox.ts"
import * as Lanes from "./lanes.ts"
import * as Meters from "./meters.ts"
import * as Placing from "./placing.ts"
import * as Section from "./section.ts"
import * as Thread from "./thread.ts"
import * as Ticket from "./ticket.ts"

/** A pool's parts. */
export interface Pool {
  readonly name: string
  readonly section: Section.Section
  /** The dynamic limit (`currentLimit`), checked; `undefined` when the limit is `maxThreads`. */
  readonly readLimit: Effect.Effect<number, InvalidLimit> | undefined
  readonly tracing: boolean
  readonly logException: Team.LogException
  /** What a task does when the backlog is full, unless it says otherwise. */
  readonly whenBacklogFull: "wait" | "fail"
  /** Forks into the pool's scope. */
  readonly run: <A, E>(effect: Effect.Effect<A, E>) => void
}

/** What {@link make} needs, checked already. */
export interface Settings {
  readonly name: string
  readonly minThreads: number
  readonly maxThreads: number
  readonly capacity: number
  readonly startTimeout: Duration.Duration
  readonly interruptGracePeriod: Duration.Duration
  readonly currentLimit: Effect.Effect<number, unknown> | undefined
  readonly adaptive: boolean
  readonly tracing: boolean
  readonly mainHandlers: ReadonlyArray<Task.AnyHandler>
  readonly logException: Team.LogException
  readonly maxBacklog: number
  readonly whenBacklogFull: "wait" | "fail"
  readonly recycle: { readonly afterTasks?: number | undefined; readonly heapAbove?: number | undefined } | undefined
}

/** Wires a pool in the current scope; closing the scope closes it (see {@link close}). */
export const make = (settings: Settings): Effect.Effect<Pool, never, ThreadPlatform.ThreadPlatform | Scope.Scope> =>
  Effect.gen(function*() {
    const platform = yield* ThreadPlatform.ThreadPlatform
    const clock = yield* Clock.Clock
    const context = yield* Effect.context<never>()
    const runFiber = yield* FiberSet.makeRuntime<never>()
    const run = <A, E>(effect: Effect.Effect<A, E>) => runFiber(effect)
    const handlers = new Map<string, Task.AnyHandler>()
    for (const handler of settings.mainHandlers) handlers.set(handler.task._tag, handler)
    const readLimit = settings.currentLimit === undefined ? undefined : Limit.validate(settings.currentLimit)
    // The section calls back into the pool for the cases that need an effect (a dynamic limit, a main-thread call).
    let pool: Pool | undefined
    const section = Section.make(
      {
        platform,
        capacity: settings.capacity,
        startTimeout: settings.startTimeout,
        interruptGracePeriod: settings.interruptGracePeriod,
        meters: Meters.make(settings.name, context),
        millis: () => clock.currentTimeMillisUnsafe(),
        run,
        adaptive: settings.adaptive,
        onCall: (thread, id, tag, payload) => answerCall(pool!, handlers, thread, id, tag, payload),
        threadLeft: () => replenish(pool!),
        maxBacklog: settings.maxBacklog,
        recycleAfterTasks: settings.recycle?.afterTasks ?? Infinity,
        recycleAboveHeap: settings.recycle?.heapAbove ?? Infinity
      },
      {
        receive: Inbox.receive,
        exited: Inbox.exited,
        keyDone: Lanes.keyDone,
        left: Lanes.left,
        dispatch: Placing.dispatch,
        retire: Placing.retire,
        admit: Placing.admit
      },
      settings.minThreads,
      settings.maxThreads
    )
    pool = {
      name: settings.name,
      section,
      readLimit,
      tracing: settings.tracing,
      logException: settings.logException,
      whenBacklogFull: settings.whenBacklogFull,
      run: (effect) => void run(effect)
    }
    yield* Effect.addFinalizer(() => close(pool))
    return pool
  })

/** Threads left: the backlog gets new ones, as the limit allows (a failing dynamic limit goes to the log). */
export const replenish = (pool: Pool): void => {
  const section = pool.section
  if (section.team.backlog.length === 0 || !section.started || section.quitting) return
  if (pool.readLimit === undefined) return Placing.replenish(section, section.maxThreads)
  pool.run(Effect.matchCauseEffect(pool.readLimit, {
    onFailure: pool.logException,
    onSuccess: (limit) => Effect.sync(() => Placing.replenish(section, limit))
  }))
}

/** Answers a thread's call to a task implemented on the main thread (`ThreadRunner.callMain`). */
const answerCall = (
  pool: Pool,
  handlers: ReadonlyMap<string, Task.AnyHandler>,
  thread: Thread.Thread,
  id: number,
  tag: string,
  payload: unknown
): void => {
  const reply = (outcome: Protocol.Outcome) =>
    Section.postTo(pool.section, thread, [Protocol.REPLY, id, ...outcome] as unknown as Protocol.ToThread)
  const handler = handlers.get(tag)
  if (handler === undefined) return reply([Protocol.NOT_IMPLEMENTED])
  const decoded = Schema.decodeUnknownExit(handler.task.payload)(payload)
  if (Exit.isFailure(decoded)) {
    return reply([Protocol.DEFECT, Protocol.encodeDefect(new Error(`the payload of ${tag} does not match`))])
  }
  pool.run(Effect.flatMap(
    Effect.exit(handler.handle(decoded.value as never)),
    (exit) => Effect.sync(() => reply(Outcome.encode(handler.task, exit)))
  ))
}

/**
 * Closing the scope: nothing more is accepted, every task in flight settles as interrupted, threads holding work
 * are terminated at once and idle ones asked to close (and terminated if they do not); it returns when no thread is
 * left.
 */
export const close = (pool: Pool): Effect.Effect<void> =>
  Effect.suspend(() => {
    const section = pool.section
    section.quitting = true
    section.closing = true
    section.started = false
    const busy = new Set<Thread.Thread>()
    for (const ticket of Section.unsettled(section)) {
      if (ticket.state === Ticket.SENT && ticket.thread !== undefined) busy.add(ticket.thread)
      Section.drop(section, ticket, Exit.interrupt())
    }
    for (const thread of Array.from(section.threads)) {
      if (busy.has(thread) || thread.state === Thread.STARTING) Placing.doom(section, thread)
      else if (thread.state === Thread.READY) Placing.dismiss(section, thread)
    }
    Section.flushAll(section)
    return Section.awaitUntil(section, () => section.threads.size === 0)
  })
