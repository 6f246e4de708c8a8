/**
 * Ports Twisted's `ThreadPool` (`twisted.python.threadpool`) and the helpers of `twisted.internet.threads`
 * (`deferToThread`, `deferToThreadPool`, `callMultipleInThread`, `blockingCallFromThread`): a pool of real platform
 * threads with a minimum and a maximum, built on {@link TeamPool}'s Team of {@link ThreadWorker}s.
 *
 * It is platform-neutral: it spawns threads through `effect/workers`' `WorkerPlatform` and `Spawner`, which the
 * platform packages provide (`@effect-threads/node` over `worker_threads`, `@effect-threads/browser` over Web
 * Workers). Work is a {@link Task}: declared with schemas, implemented in the thread's entry file, run here with
 * {@link deferToThread}, which gives the task's typed success and failure back.
 *
 * Every task settles exactly once: with its success, its typed failure, a defect, a {@link ThreadError}, an
 * interruption or {@link AlreadyQuit}. Interrupting the caller takes a task that has not been sent out of the
 * queue (it never starts), and interrupts one that is running in its thread; a thread that does not answer the
 * interrupt within the grace period (a synchronous loop) is terminated and replaced. A thread that dies takes the
 * task it was running with it ({@link ThreadError.ThreadCrashed}), and only that one unless tasks were sent ahead
 * to it (`concurrentTasksPerThread` above 1); the next task gets a new thread.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as Tracer from "effect/Tracer"
import * as Worker from "effect/workers/Worker"
import { AlreadyQuit } from "./AlreadyQuit.ts"
import * as Outcome from "./internal/outcome.ts"
import * as Protocol from "./internal/protocol.ts"
import * as Quit from "./internal/quit.ts"
import * as Thread from "./internal/thread.ts"
import * as PoolMetrics from "./PoolMetrics.ts"
import type * as Task from "./Task.ts"
import * as Team from "./Team.ts"
import * as TeamPool from "./TeamPool.ts"
import type * as ThreadError from "./ThreadError.ts"
import { InvalidPayload } from "./ThreadError.ts"

/**
 * The thread a unit of pool work runs on: what a {@link ThreadWorker} of this pool provides to its work.
 *
 * @stability stable
 * @category services
 * @since 0.1.0
 */
export class CurrentThread extends Context.Service<CurrentThread, Thread.Thread>()(
  "@effect-threads/core/ThreadPool/CurrentThread"
) {}

/**
 * Ends a platform thread at once (Node's `worker.terminate()`). Platforms provide it; without it a thread that
 * must die is asked to close and is terminated by `effect/workers` after its own timeout.
 *
 * @stability stable
 * @category services
 * @since 0.1.0
 */
export const Terminate = Context.Reference<(threadId: number) => Effect.Effect<void>>(
  "@effect-threads/core/ThreadPool/Terminate",
  { defaultValue: () => () => Effect.void }
)

/**
 * The pool's options are out of range: `minThreads` and `maxThreads` do not describe a pool (Twisted's assertions
 * `0 <= min <= max`), `concurrentTasksPerThread` is not a positive integer, or a duration is negative or unreadable.
 *
 * @stability stable
 * @category errors
 * @since 0.1.0
 */
export class InvalidPoolSize extends Schema.TaggedError<InvalidPoolSize>()("InvalidPoolSize", {
  message: Schema.String
}) {}

/**
 * The statistics of a pool: the team's, plus its threads.
 *
 * @stability stable
 * @category models
 * @since 0.1.0
 */
export interface Statistics extends Team.Statistics {
  /** Workers that exist (idle + busy): Twisted's `workers`. */
  readonly workerCount: number
  /** Platform threads started so far, replacements included. */
  readonly threadsStarted: number
  /** Threads that died while running a task. */
  readonly threadsCrashed: number
  /** Tasks submitted and not yet settled. */
  readonly tasksInFlight: number
}

/**
 * How a task ran, for {@link ThreadPoolShape.callInThreadWithCallback}.
 *
 * @stability stable
 * @category models
 * @since 0.1.0
 */
export type RunError<T extends Task.Any> =
  | Task.Failure<T>
  | ThreadError.ThreadError
  | AlreadyQuit
  | TeamPool.InvalidLimit

/**
 * Options of one task run.
 *
 * @stability stable
 * @category models
 * @since 0.1.0
 */
export interface RunOptions {
  /** Values to transfer rather than copy (an `ArrayBuffer`, a `MessagePort`): they are unusable here afterwards. */
  readonly transfer?: ReadonlyArray<unknown> | undefined
}

/**
 * One call of {@link ThreadPoolShape.callMultipleInThread}.
 *
 * @stability stable
 * @category models
 * @since 0.1.0
 */
export interface Call {
  readonly task: Task.Any
  readonly payload: unknown
}

/**
 * One call for {@link callMultipleInThread}, with its payload checked against the task's type.
 *
 * @stability stable
 * @category constructors
 * @since 0.1.0
 */
export const call = <T extends Task.Any>(task: T, payload: Task.Payload<T>): Call => ({ task, payload })

/**
 * A pool of threads: Twisted's `ThreadPool`, with `twisted.internet.threads` folded in.
 *
 * @stability stable
 * @category models
 * @since 0.1.0
 */
export interface ThreadPoolShape {
  /** The pool's name, used in thread names and logs. */
  readonly name: string
  /** Runs a task on a thread and gives its result: `deferToThread` / `deferToThreadPool`. */
  readonly deferToThread: <T extends Task.Any>(
    task: T,
    payload: Task.Payload<T>,
    options?: RunOptions
  ) => Effect.Effect<Task.Success<T>, RunError<T>>
  /** Runs a task on a thread without waiting; its failures go to the pool's `logException`. */
  readonly callInThread: <T extends Task.Any>(
    task: T,
    payload: Task.Payload<T>,
    options?: RunOptions
  ) => Effect.Effect<void, AlreadyQuit | InvalidPayload | TeamPool.InvalidLimit>
  /**
   * Runs a task on a thread and hands its outcome to `onResult`, which runs on the worker that ran the task before
   * the worker takes other work. A failure of `onResult` goes to `logException`.
   */
  readonly callInThreadWithCallback: <T extends Task.Any>(
    onResult: (exit: Exit.Exit<Task.Success<T>, RunError<T>>) => Effect.Effect<void>,
    task: T,
    payload: Task.Payload<T>,
    options?: RunOptions
  ) => Effect.Effect<void, AlreadyQuit | InvalidPayload | TeamPool.InvalidLimit>
  /** Runs the calls in order on one thread; the first failure stops the rest and goes to `logException`. */
  readonly callMultipleInThread: (
    calls: ReadonlyArray<Call>
  ) => Effect.Effect<void, AlreadyQuit | InvalidPayload | TeamPool.InvalidLimit>
  /** Changes the minimum and the maximum; grows or shrinks a started pool to fit. */
  readonly adjustPoolsize: (
    options: { readonly minThreads?: number | undefined; readonly maxThreads?: number | undefined }
  ) => Effect.Effect<void, InvalidPoolSize | AlreadyQuit | TeamPool.InvalidLimit>
  /** Starts the pool: grows to the minimum, then by the backlog. Threads start only now. */
  readonly start: Effect.Effect<void, AlreadyQuit | TeamPool.InvalidLimit | ThreadError.ThreadStartFailed>
  /** Quits the team and waits until every queued and running task has run and every thread is released. */
  readonly stop: Effect.Effect<void, AlreadyQuit>
  /** The current statistics. */
  readonly statistics: Effect.Effect<Statistics>
  /** Logs the statistics: Twisted's `dumpStats`. */
  readonly dumpStats: Effect.Effect<void>
  /** The current minimum and maximum. */
  readonly size: Effect.Effect<{ readonly minThreads: number; readonly maxThreads: number }>
  /** Whether the pool has started and not stopped. */
  readonly started: Effect.Effect<boolean>
  /** The team underneath. */
  readonly team: Team.Team<CurrentThread, TeamPool.InvalidLimit>
}

/**
 * Options of {@link make}.
 *
 * @stability stable
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** Threads kept once started. Default 0. */
  readonly minThreads?: number | undefined
  /** The most threads. Default: the platform's hardware concurrency (or 4). */
  readonly maxThreads?: number | undefined
  /**
   * Replaces `maxThreads` by a limit read each time the pool would create a thread (Twisted's `currentLimit`). The
   * pool still creates no thread before it starts.
   */
  readonly currentLimit?: Effect.Effect<number, unknown> | undefined
  /** A name for logs and statistics. */
  readonly name?: string | undefined
  /** How long a running task may take to answer an interrupt before its thread is terminated. Default 1 second. */
  readonly interruptGracePeriod?: Duration.Input | undefined
  /** How long a thread may take to load its entry file and say it is ready. Default 30 seconds. */
  readonly startTimeout?: Duration.Input | undefined
  /**
   * How many tasks a thread may hold at once: the one it runs and the ones sent ahead, which it runs next, in
   * order. Default 1, Twisted's semantics: a task waits in the pool's backlog until a thread is free, so it runs on
   * whichever thread frees first. More (8 to 32) sends tasks ahead (pipelining), which makes small tasks faster:
   * the next task is already in the thread when the last one ends. A task sent ahead is not stranded behind a slow
   * one: when a thread is free and nothing is backlogged, it takes back (steals) tasks that a busy thread holds and
   * has not started. The price: the backlog is shorter (tasks sit in threads instead), and a thread that dies fails
   * every task it holds with `ThreadCrashed`, those sent ahead included. Tasks that go out in the same turn travel
   * in one message either way.
   */
  readonly concurrentTasksPerThread?: number | undefined
  /**
   * Beyond Twisted: size the pool adaptively instead of by a hard cap (see {@link TeamPool.Adaptive}). Threads up to
   * `minThreads` are kept; above it, new threads are created as work waits, paced by the `pacing` schedule, and
   * idle ones are released after `keepAlive`. `maxThreads` (or `currentLimit`) stays as an optional ceiling; it
   * defaults to no ceiling.
   */
  readonly adaptive?: Omit<TeamPool.Adaptive, "minWorkers"> | undefined
  /**
   * Traces every task: a span per task on the caller's side (`effect-threads.task <tag>`), a child span for the
   * time it waits for a thread (`effect-threads.queued`), and, in the thread, a child span for the work
   * (`effect-threads.thread <tag>`): the caller's span travels with the message. Default false, because two spans
   * per task cost about a third of the throughput of small tasks; without it, a task run inside a span of the
   * caller's still gets its thread span as a child of that span.
   */
  readonly tracing?: boolean | undefined
  /** Tasks that threads may call on the main thread with `ThreadRunner.callMain`. */
  readonly mainHandlers?: ReadonlyArray<Task.AnyHandler> | undefined
  /** Receives the cause of every failure that has no caller to go to. */
  readonly logException?: Team.LogException | undefined
}

const defaultMaxThreads = (): number => {
  const concurrency = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency
  return typeof concurrency === "number" && concurrency > 0 ? concurrency : 4
}

const checkSize = (min: number, max: number): Effect.Effect<void, InvalidPoolSize> =>
  !(Number.isInteger(min) && min >= 0)
    ? Effect.fail(new InvalidPoolSize({ message: `minThreads must be a non-negative integer, got ${min}` }))
    : !(max === Infinity || (Number.isInteger(max) && max >= 0))
    ? Effect.fail(new InvalidPoolSize({ message: `maxThreads must be a non-negative integer, got ${max}` }))
    : min > max
    ? Effect.fail(new InvalidPoolSize({ message: `minThreads (${min}) is greater than maxThreads (${max})` }))
    : Effect.void

const checkDuration = (
  name: string,
  input: Duration.Input | undefined,
  fallback: Duration.Duration
): Effect.Effect<Duration.Duration, InvalidPoolSize> => {
  if (input === undefined) return Effect.succeed(fallback)
  const duration = Duration.fromInput(input)
  return duration._tag === "Some" && !Duration.isNegative(duration.value)
    ? Effect.succeed(duration.value)
    : Effect.fail(new InvalidPoolSize({ message: `${name} must be a non-negative duration, got ${String(input)}` }))
}

/**
 * Creates a pool that has not started: it accepts tasks and backlogs them, and starts no thread until
 * `start`. Closing the scope interrupts every task still in flight, quits the team and releases every thread.
 *
 * @stability stable
 * @category constructors
 * @since 0.1.0
 */
export const make = (
  options: Options = {}
): Effect.Effect<ThreadPoolShape, InvalidPoolSize, Worker.WorkerPlatform | Worker.Spawner | Scope.Scope> =>
  Effect.gen(function*() {
    let minThreads = options.minThreads ?? 0
    let maxThreads = options.maxThreads ??
      (options.adaptive === undefined ? Math.max(minThreads, defaultMaxThreads()) : Infinity)
    yield* checkSize(minThreads, maxThreads)
    const startTimeout = yield* checkDuration("startTimeout", options.startTimeout, Duration.seconds(30))
    const interruptGracePeriod = yield* checkDuration(
      "interruptGracePeriod",
      options.interruptGracePeriod,
      Duration.seconds(1)
    )
    yield* checkDuration("adaptive.keepAlive", options.adaptive?.keepAlive, Duration.zero)
    const name = options.name ?? "ThreadPool"
    const logException = options.logException ?? Team.logExceptionDefault
    const platform = yield* Worker.WorkerPlatform
    const spawner = yield* Worker.Spawner
    const terminate = yield* Terminate
    const tracing = options.tracing ?? false
    const clock = yield* Clock.Clock
    const metricContext = yield* Effect.context<never>()
    const attributes = { pool: name }
    const metric = {
      backlog: Metric.withAttributes(PoolMetrics.backlog, attributes),
      busy: Metric.withAttributes(PoolMetrics.busy, attributes),
      idle: Metric.withAttributes(PoolMetrics.idle, attributes),
      tasks: Metric.withAttributes(PoolMetrics.tasks, attributes),
      failures: Metric.withAttributes(PoolMetrics.failures, attributes),
      crashes: Metric.withAttributes(PoolMetrics.crashes, attributes),
      threadsStarted: Metric.withAttributes(PoolMetrics.threadsStarted, attributes),
      threadsReleased: Metric.withAttributes(PoolMetrics.threadsReleased, attributes),
      queueWait: Metric.withAttributes(PoolMetrics.queueWait, attributes),
      runTime: Metric.withAttributes(PoolMetrics.runTime, attributes)
    }
    const count = (counter: Metric.Metric<number, unknown>) => counter.updateUnsafe(1, metricContext)
    const gauges = { backlog: -1, busy: -1, idle: -1 }
    const millisSince = (start: bigint, end: bigint): number => Number(end - start) / 1e6
    const mainHandlers = new Map<string, Task.AnyHandler>()
    for (const handler of options.mainHandlers ?? []) mainHandlers.set(handler.task._tag, handler)

    let started = false
    let joined = false
    let closing = false
    const quit = Quit.make()
    let nextThreadId = 1
    let nextTicket = 0
    let threadsStarted = 0
    let threadsCrashed = 0
    const inFlight = new Set<Thread.Ticket>()
    const threads = new Set<Thread.Thread>()
    let allReleased: Deferred.Deferred<void> | undefined

    const answerCall = (incarnation: Thread.Incarnation, id: number, tag: string, payload: unknown): void => {
      const reply = (outcome: Protocol.Outcome) =>
        Effect.runFork(Effect.ignore(incarnation.worker.send([[Protocol.REPLY, id, ...outcome]])))
      const handler = mainHandlers.get(tag)
      if (handler === undefined) return void reply([Protocol.NOT_IMPLEMENTED])
      const decoded = Schema.decodeUnknownExit(handler.task.payload)(payload)
      if (Exit.isFailure(decoded)) {
        return void reply([Protocol.DEFECT, Protocol.encodeDefect(new Error(`the payload of ${tag} does not match`))])
      }
      Effect.runFork(
        handler.handle(decoded.value as never).pipe(
          Effect.exit,
          Effect.flatMap((exit) => Effect.sync(() => reply(Outcome.encode(handler.task, exit))))
        )
      )
    }

    const environment: Thread.Environment = {
      platform,
      spawner,
      terminate,
      nextThreadId: () => nextThreadId++,
      startTimeout,
      interruptGracePeriod,
      onCall: answerCall,
      onSpawn: () => {
        threadsStarted++
        count(metric.threadsStarted)
      },
      onCrash: () => {
        threadsCrashed++
        count(metric.crashes)
      }
    }

    const startThread = Effect.gen(function*() {
      const threadScope = yield* Effect.scope
      const thread = yield* Thread.make(environment, threadScope)
      threads.add(thread)
      yield* Scope.addFinalizer(
        threadScope,
        Effect.suspend(() => {
          threads.delete(thread)
          count(metric.threadsReleased)
          if (threads.size === 0 && allReleased !== undefined) Deferred.doneUnsafe(allReleased, Exit.void)
          return Effect.void
        })
      )
      return Context.make(CurrentThread, thread)
    })

    const currentLimit: Effect.Effect<number, unknown> = Effect.suspend(() =>
      !started ? Effect.succeed(0) : options.currentLimit ?? Effect.succeed(maxThreads)
    )

    const capacity = options.concurrentTasksPerThread ?? 1
    if (!(Number.isInteger(capacity) && capacity >= 1)) {
      return yield* new InvalidPoolSize({
        message: `concurrentTasksPerThread must be a positive integer, got ${capacity}`
      })
    }
    // Last of all, once the team and its threads are gone: nothing may be left unsettled.
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        for (const ticket of inFlight) Thread.settleInterrupted(ticket)
      })
    )
    // The team and its threads live in a scope of their own, closed after the finalizer below has settled the
    // tasks in flight: callers see an interruption, not the crash of a thread closed under them.
    const teamScope = yield* Scope.fork(yield* Effect.scope)
    const team = yield* Scope.provide(teamScope)(TeamPool.make({
      currentLimit,
      startThread,
      logException,
      capacity,
      adaptive: options.adaptive === undefined ? undefined : { ...options.adaptive, minWorkers: minThreads },
      onStatistics: (statistics) => {
        if (capacity > 1 && statistics.idleWorkerCount > 0 && statistics.backloggedWorkCount === 0) {
          steal(statistics.idleWorkerCount)
        }
        // Gauges change only when the numbers do (most steps change one of them, or none).
        if (statistics.backloggedWorkCount !== gauges.backlog) {
          gauges.backlog = statistics.backloggedWorkCount
          metric.backlog.updateUnsafe(gauges.backlog, metricContext)
        }
        if (statistics.busyWorkerCount !== gauges.busy) {
          gauges.busy = statistics.busyWorkerCount
          metric.busy.updateUnsafe(gauges.busy, metricContext)
        }
        if (statistics.idleWorkerCount !== gauges.idle) {
          gauges.idle = statistics.idleWorkerCount
          metric.idle.updateUnsafe(gauges.idle, metricContext)
        }
      }
    }))

    // Closing the scope: every task still in flight is interrupted, threads running one are terminated at once.
    yield* Effect.addFinalizer(() =>
      Effect.suspend(() => {
        // From now on nothing is accepted: a task submitted while the pool closes fails with AlreadyQuit.
        closing = true
        const busy = new Set<Thread.Incarnation>()
        for (const ticket of inFlight) {
          if (ticket.incarnation !== undefined && ticket.state === 1) busy.add(ticket.incarnation)
          Thread.settleInterrupted(ticket)
        }
        inFlight.clear()
        started = false
        return Effect.forEach(busy, (incarnation) => terminate(incarnation.threadId), { discard: true })
      })
    )

    const encodePayload = <T extends Task.Any>(task: T, payload: Task.Payload<T>) =>
      Effect.suspend(() => {
        const encoded = Schema.encodeUnknownExit(task.payload)(payload)
        if (Exit.isFailure(encoded)) {
          const issue = String(Cause.squash(encoded.cause))
          // The schema's message ends with where: `at ["a"]["b"][1]`.
          const at = /\bat ((?:\[[^\]]*\])+)\)?\s*$/.exec(issue)
          return Effect.fail(
            new InvalidPayload({
              task: task._tag,
              path: at === null ? "$" : `$${at[1]!.replace(/\["([A-Za-z_$][\w$]*)"\]/g, ".$1")}`,
              message: `the payload of ${task._tag} does not match its schema: ${issue}`
            })
          )
        }
        // A value that cannot be cloned would fail the post, after the task left the caller: say so now, and where.
        let uncloneable: string | undefined
        try {
          uncloneable = Protocol.isPrimitive(encoded.value) ? undefined : Protocol.findUncloneable(encoded.value)
        } catch (cause) {
          // Reading the payload threw (a getter): it could not be cloned either.
          return Effect.fail(
            new InvalidPayload({
              task: task._tag,
              path: "$",
              message: `reading the payload of ${task._tag} threw: ${
                cause instanceof Error ? cause.message : String(cause)
              }`
            })
          )
        }
        return uncloneable === undefined ? Effect.succeed(encoded.value) : Effect.fail(
          new InvalidPayload({
            task: task._tag,
            path: uncloneable,
            message: `the payload of ${task._tag} holds a value at ${uncloneable} that cannot be sent to a thread`
          })
        )
      })

    const makeTicket = (
      task: Task.Any,
      payload: unknown,
      options: RunOptions | undefined,
      span?: Tracer.AnySpan | undefined,
      queued?: Tracer.Span | undefined
    ): Thread.Ticket => {
      const submittedAt = clock.currentTimeNanosUnsafe()
      let sentAt: bigint | undefined
      const ticket: Thread.Ticket = {
        id: nextTicket++,
        task,
        payload,
        transfer: options?.transfer,
        state: 0,
        incarnation: undefined,
        result: Deferred.makeUnsafe(),
        attempt: Deferred.makeUnsafe(),
        recalling: false,
        cancelling: false,
        resubmit: undefined,
        trace: span === undefined ? undefined : [span.traceId, span.spanId, span.sampled],
        onSent: () => {
          sentAt = clock.currentTimeNanosUnsafe()
          metric.queueWait.updateUnsafe(millisSince(submittedAt, sentAt), metricContext)
          queued?.end(sentAt, Exit.void)
        },
        // Run time and failures are counted when the ticket settles, however it settles; it is no longer in flight.
        onSettled: (exit) => {
          inFlight.delete(ticket)
          const now = clock.currentTimeNanosUnsafe()
          if (sentAt !== undefined) metric.runTime.updateUnsafe(millisSince(sentAt, now), metricContext)
          queued?.end(now, Exit.void)
          if (Exit.isFailure(exit) || exit.value[0] !== Protocol.SUCCESS) count(metric.failures)
        }
      }
      count(metric.tasks)
      inFlight.add(ticket)
      return ticket
    }

    // A ticket the team refused never settles: it is not in flight. (Settling takes a ticket out of flight.)
    const forget = (ticket: Thread.Ticket) => Effect.sync(() => void inFlight.delete(ticket))

    // The unit of work a ticket becomes: it runs on the ThreadWorker's fiber, with the thread provided. A ticket
    // that its thread gave back has been handed out anew (a new attempt): `then` is the new unit's to run.
    const workFor = (ticket: Thread.Ticket, then: Effect.Effect<void>): Effect.Effect<void, never, CurrentThread> =>
      Effect.suspend(() => {
        if (ticket.state === 2) return then
        const attempt = ticket.attempt
        return Effect.andThen(
          CurrentThread.use((thread) => thread.run(ticket)),
          Effect.suspend(() => ticket.attempt === attempt ? then : Effect.void)
        )
      })

    const accepting: Effect.Effect<void, AlreadyQuit> = Effect.suspend(() => closing ? Quit.alreadyQuit : Effect.void)

    const submit = (ticket: Thread.Ticket, then: Effect.Effect<void>) => {
      ticket.resubmit = (given) =>
        Effect.runFork(
          team.do(workFor(given, then)).pipe(
            Effect.catch((error) => Effect.sync(() => Thread.settle(given, Exit.fail(error))))
          )
        )
      return Effect.andThen(accepting, team.do(workFor(ticket, then))).pipe(Effect.onError(() => forget(ticket)))
    }

    // Work stealing, when tasks are sent ahead: a thread that is free while others hold tasks they have not started
    // takes them back (the newest first), so no task waits behind a slow one while a thread is idle.
    const steal = (idleWorkers: number): void => {
      let budget = idleWorkers
      const holders: Array<Thread.Incarnation> = []
      for (const thread of threads) {
        const incarnation = thread.current()
        if (incarnation === undefined || incarnation.dead) continue
        for (const ticket of incarnation.pending.values()) if (ticket.recalling) budget--
        if (incarnation.pending.size > 1) holders.push(incarnation)
      }
      while (budget > 0) {
        let most: Thread.Incarnation | undefined
        let ahead = 0
        for (const incarnation of holders) {
          let count = -1
          for (const ticket of incarnation.pending.values()) if (!ticket.recalling && ticket.resubmit) count++
          if (count > ahead) {
            most = incarnation
            ahead = count
          }
        }
        if (most === undefined) return
        const tickets = Array.from(most.pending.values())
        for (let i = tickets.length - 1; i >= 1; i--) {
          const ticket = tickets[i]!
          if (!ticket.recalling && ticket.resubmit !== undefined) {
            Thread.recall(ticket)
            break
          }
        }
        budget--
      }
    }

    const outcomeOf = <T extends Task.Any>(ticket: Thread.Ticket): Effect.Effect<Task.Success<T>, RunError<T>> =>
      Deferred.await(ticket.result).pipe(
        Effect.flatMap((outcome) => Outcome.decode(ticket.task as T, outcome))
      ) as Effect.Effect<Task.Success<T>, RunError<T>>

    const run = <T extends Task.Any>(
      task: T,
      encoded: unknown,
      runOptions: RunOptions | undefined,
      span: Tracer.AnySpan | undefined,
      queued?: Tracer.Span | undefined
    ): Effect.Effect<Task.Success<T>, RunError<T>> =>
      Effect.uninterruptibleMask((restore) => {
        const ticket = makeTicket(task, encoded, runOptions, span, queued)
        return Effect.andThen(
          submit(ticket, Effect.void),
          restore(outcomeOf<T>(ticket)).pipe(Effect.onInterrupt(() => cancel(ticket)))
        )
      })

    const deferToThread: ThreadPoolShape["deferToThread"] = (task, payload, runOptions) =>
      Effect.flatMap(encodePayload(task, payload), (encoded) =>
        tracing
          ? Effect.withSpan(
            Effect.flatMap(Effect.currentSpan, (span) =>
              // The time in the queue, as a child span of the task's span, ended when the task is sent.
              Effect.flatMap(
                Effect.makeSpan("effect-threads.queued", { parent: span }),
                (queued) => run(task, encoded, runOptions, span, queued)
              )).pipe(
                Effect.catchTag("NoSuchElementError", () => Effect.die("unreachable"))
              ),
            `effect-threads.task ${task._tag}`,
            {
              kind: "client",
              captureStackTrace: false,
              attributes: { "effect-threads.pool": name, "effect-threads.task": task._tag }
            }
          )
          : Effect.flatMap(
            Effect.serviceOption(Tracer.ParentSpan),
            (parent) => run(task, encoded, runOptions, Option.getOrUndefined(parent))
          ))

    const cancel = (ticket: Thread.Ticket): Effect.Effect<void> => Thread.cancel(ticket, environment)

    const callInThreadWithCallback: ThreadPoolShape["callInThreadWithCallback"] = (
      onResult,
      task,
      payload,
      runOptions
    ) =>
      Effect.gen(function*() {
        const encoded = yield* encodePayload(task, payload)
        const ticket = makeTicket(task, encoded, runOptions)
        const then = outcomeOf<typeof task>(ticket).pipe(
          Effect.exit,
          Effect.flatMap(onResult),
          Effect.catchCause(logException)
        )
        yield* submit(ticket, then)
      })

    const callInThread: ThreadPoolShape["callInThread"] = (task, payload, runOptions) =>
      callInThreadWithCallback(
        (exit) => Exit.isSuccess(exit) ? Effect.void : logException(exit.cause),
        task,
        payload,
        runOptions
      )

    const callMultipleInThread: ThreadPoolShape["callMultipleInThread"] = (calls) =>
      Effect.gen(function*() {
        const tickets: Array<Thread.Ticket> = []
        for (const call of calls) {
          tickets.push(makeTicket(call.task, yield* encodePayload(call.task, call.payload as never), undefined))
        }
        const runAll = Effect.gen(function*() {
          const thread = yield* CurrentThread
          for (const ticket of tickets) {
            yield* thread.run(ticket)
            const exit = yield* Effect.exit(outcomeOf(ticket))
            if (Exit.isFailure(exit)) {
              for (const rest of tickets) if (rest.state === 0) Thread.settleInterrupted(rest)
              return yield* logException(exit.cause)
            }
          }
        })
        yield* Effect.andThen(accepting, team.do(runAll)).pipe(
          // Never handed to the team: they will not settle, so they are not in flight.
          Effect.onError(() => Effect.sync(() => tickets.forEach((ticket) => inFlight.delete(ticket))))
        )
      })

    const statistics = Effect.map(team.statistics, (s): Statistics => ({
      ...s,
      workerCount: s.idleWorkerCount + s.busyWorkerCount,
      threadsStarted,
      threadsCrashed,
      tasksInFlight: inFlight.size
    }))

    const adjust = Effect.gen(function*() {
      if (!started) return
      const before = yield* team.statistics
      const workers = before.idleWorkerCount + before.busyWorkerCount
      if (workers > maxThreads) yield* team.shrink(workers - maxThreads)
      const after = yield* team.statistics
      const now = after.idleWorkerCount + after.busyWorkerCount
      if (now < minThreads) yield* team.grow(minThreads - now)
    })

    const adjustPoolsize: ThreadPoolShape["adjustPoolsize"] = (size) =>
      Effect.gen(function*() {
        const min = size.minThreads ?? minThreads
        const max = size.maxThreads ?? maxThreads
        yield* checkSize(min, max)
        minThreads = min
        maxThreads = max
        yield* adjust
      })

    const start: ThreadPoolShape["start"] = Effect.gen(function*() {
      yield* quit.check
      joined = false
      started = true
      yield* adjust
      const { backloggedWorkCount } = yield* team.statistics
      if (backloggedWorkCount > 0) yield* team.grow(backloggedWorkCount)
      yield* Effect.forEach(Array.from(threads), (thread) => thread.awaitReady, { discard: true })
    })

    const stop: ThreadPoolShape["stop"] = Effect.gen(function*() {
      yield* quit.set
      joined = true
      started = false
      if (threads.size > 0) allReleased = Deferred.makeUnsafe<void>()
      yield* team.quit
      if (allReleased !== undefined) yield* Deferred.await(allReleased)
      // Work backlogged with no worker to run it is abandoned by the team; its callers get AlreadyQuit.
      for (const ticket of inFlight) {
        if (ticket.state === 0) {
          Thread.settle(ticket, Exit.fail(new AlreadyQuit()))
        }
      }
    })

    return {
      name,
      deferToThread,
      callInThread,
      callInThreadWithCallback,
      callMultipleInThread,
      adjustPoolsize,
      start,
      stop,
      statistics,
      dumpStats: Effect.flatMap(statistics, (s) => Effect.log(`${name}: ${JSON.stringify(s)}`)),
      size: Effect.sync(() => ({ minThreads, maxThreads })),
      started: Effect.sync(() => started && !joined),
      team
    }
  })

/**
 * The thread pool service.
 *
 * @stability stable
 * @category services
 * @since 0.1.0
 */
export class ThreadPool extends Context.Service<ThreadPool, ThreadPoolShape>()("@effect-threads/core/ThreadPool") {}

/**
 * Creates and starts a pool in the current scope: {@link make}, then `start`. Closing the scope interrupts the
 * tasks in flight and releases every thread.
 *
 * @stability stable
 * @category constructors
 * @since 0.1.0
 */
export const makeStarted = (
  options: Options = {}
): Effect.Effect<
  ThreadPoolShape,
  InvalidPoolSize | AlreadyQuit | TeamPool.InvalidLimit | ThreadError.ThreadStartFailed,
  Worker.WorkerPlatform | Worker.Spawner | Scope.Scope
> => Effect.tap(make(options), (pool) => pool.start)

/**
 * A layer that provides a started {@link ThreadPool}. Its scope is the pool's: closing it interrupts the tasks in
 * flight and releases every thread. Needs a platform (`NodeThreadPool.layer` or `BrowserThreadPool.layer` provide
 * one).
 *
 * @stability stable
 * @category layers
 * @since 0.1.0
 */
export const layer = (
  options: Options = {}
): Layer.Layer<
  ThreadPool,
  InvalidPoolSize | AlreadyQuit | TeamPool.InvalidLimit | ThreadError.ThreadStartFailed,
  Worker.WorkerPlatform | Worker.Spawner
> => Layer.effect(ThreadPool)(makeStarted(options))

/**
 * Runs a task on a thread of the {@link ThreadPool} and gives its typed result: Twisted's `deferToThread`.
 *
 * **Example** (Counting primes on a thread)
 *
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Task, ThreadPool } from "@effect-threads/core"
 *
 * const CountPrimes = Task.make("CountPrimes", {
 *   payload: Schema.Struct({ from: Schema.Number, to: Schema.Number }),
 *   success: Schema.Number
 * })
 *
 * const program = ThreadPool.deferToThread(CountPrimes, { from: 0, to: 1_000_000 })
 * // Effect<number, ThreadError | AlreadyQuit | InvalidLimit, ThreadPool>
 * ```
 *
 * @stability stable
 * @category combinators
 * @since 0.1.0
 */
export const deferToThread = <T extends Task.Any>(
  task: T,
  payload: Task.Payload<T>,
  options?: RunOptions
): Effect.Effect<Task.Success<T>, RunError<T>, ThreadPool> =>
  ThreadPool.use((pool) => pool.deferToThread(task, payload, options))

/**
 * Runs a task on a thread of a given pool: Twisted's `deferToThreadPool`.
 *
 * @stability stable
 * @category combinators
 * @since 0.1.0
 */
export const deferToThreadPool = <T extends Task.Any>(
  pool: ThreadPoolShape,
  task: T,
  payload: Task.Payload<T>,
  options?: RunOptions
): Effect.Effect<Task.Success<T>, RunError<T>> => pool.deferToThread(task, payload, options)

/**
 * Runs a task on a thread of the {@link ThreadPool} without waiting for it: Twisted's `callInThread`.
 *
 * @stability stable
 * @category combinators
 * @since 0.1.0
 */
export const callInThread = <T extends Task.Any>(
  task: T,
  payload: Task.Payload<T>,
  options?: RunOptions
): Effect.Effect<void, AlreadyQuit | InvalidPayload | TeamPool.InvalidLimit, ThreadPool> =>
  ThreadPool.use((pool) => pool.callInThread(task, payload, options))

/**
 * Runs calls in order on one thread of the {@link ThreadPool}: Twisted's `callMultipleInThread`.
 *
 * @stability stable
 * @category combinators
 * @since 0.1.0
 */
export const callMultipleInThread = (
  calls: ReadonlyArray<Call>
): Effect.Effect<void, AlreadyQuit | InvalidPayload | TeamPool.InvalidLimit, ThreadPool> =>
  ThreadPool.use((pool) => pool.callMultipleInThread(calls))

/**
 * The statistics of the {@link ThreadPool}.
 *
 * @stability stable
 * @category getters
 * @since 0.1.0
 */
export const statistics: Effect.Effect<Statistics, never, ThreadPool> = ThreadPool.use((pool) => pool.statistics)
