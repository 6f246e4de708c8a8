/**
 * The thread side of a pool: serves tasks inside a worker thread (Node `worker_threads`, a browser Web Worker).
 *
 * A worker entry file lists its task handlers and calls the platform's `serve` (for example
 * `NodeThreadRunner.serve`), which builds on {@link make}. The runner tells the main thread it is ready once the entry
 * has loaded, then for each request decodes the payload with the task's schema, runs the handler on a fiber of its
 * own, and sends back the encoded success, the encoded typed failure, the defect, or the interruption. An interrupt
 * request from the main thread interrupts that fiber. Handlers can call back into the main thread with
 * {@link callMain}: Twisted's `blockingCallFromThread`, without the blocking.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as MutableList from "effect/MutableList"
import * as Schema from "effect/Schema"
import * as Tracer from "effect/Tracer"
import type { WorkerError } from "effect/workers/WorkerError"
import * as WorkerRunner from "effect/workers/WorkerRunner"
import * as Outcome from "./internal/outcome.ts"
import * as Protocol from "./internal/protocol.ts"
import type * as Task from "./Task.ts"
import * as ThreadError from "./ThreadError.ts"

/**
 * What a handler can do with the thread it runs on: call the main thread.
 *
 * @stability stable
 * @category models
 * @since 0.1.0
 */
export interface Runner {
  readonly callMain: <T extends Task.Any>(
    task: T,
    payload: Task.Payload<T>
  ) => Effect.Effect<Task.Success<T>, Task.Failure<T> | CallMainError>
}

/**
 * How a call to the main thread can fail, besides the task's own failure.
 *
 * @stability stable
 * @category models
 * @since 0.1.0
 */
export type CallMainError = ThreadError.InvalidPayload | ThreadError.InvalidResult | ThreadError.TaskNotImplemented

/**
 * The runner of the current thread, provided to every handler.
 *
 * @stability stable
 * @category services
 * @since 0.1.0
 */
export class CurrentRunner extends Context.Service<CurrentRunner, Runner>()("@effect-threads/core/ThreadRunner") {}

/**
 * Calls a task implemented on the main thread (see `ThreadPool`'s `mainHandlers`) from inside a thread, and waits
 * for its result: the counterpart of Twisted's `blockingCallFromThread`. Errors are re-raised in the thread with
 * their type.
 *
 * @stability stable
 * @category combinators
 * @since 0.1.0
 */
export const callMain = <T extends Task.Any>(
  task: T,
  payload: Task.Payload<T>
): Effect.Effect<
  Task.Success<T>,
  Task.Failure<T> | CallMainError,
  CurrentRunner
> =>
  Effect.gen(function*() {
    const runner = yield* CurrentRunner
    return yield* runner.callMain(task, payload)
  })

/**
 * Serves `handlers` on the current thread until the main thread closes it. Needs the platform's
 * `WorkerRunnerPlatform`, and whatever the handlers need.
 *
 * @stability stable
 * @category constructors
 * @since 0.1.0
 */
export const make = <R = never>(
  handlers: ReadonlyArray<Task.AnyHandler<R>>
): Effect.Effect<void, WorkerError, WorkerRunner.WorkerRunnerPlatform | Exclude<R, CurrentRunner>> =>
  Effect.gen(function*() {
    const platform = yield* WorkerRunner.WorkerRunnerPlatform
    const runner = yield* platform.start<Protocol.FromThreadBatch, Protocol.ToThreadBatch>()
    const byTag = new Map<string, Task.AnyHandler<R>>()
    for (const handler of handlers) byTag.set(handler.task._tag, handler)
    const calls = new Map<number, (outcome: Protocol.Outcome) => void>()
    let nextCall = 0

    // Answers go out in batches: everything answered in one turn of the event loop is one message.
    let outbox: Array<Protocol.FromThread> = []
    const flush = (): void => {
      const batch = outbox
      outbox = []
      try {
        runner.sendUnsafe(0, batch)
      } catch {
        // Some value could not be cloned: send one by one, and answer the ones that fail with a defect.
        for (const message of batch) {
          try {
            runner.sendUnsafe(0, [message])
          } catch (cause) {
            if (message[0] === Protocol.RESULT) {
              const path = Protocol.findUncloneable(message[3]) ?? "$"
              const error = new Error(`the result at ${path} cannot be sent to the main thread: ${String(cause)}`)
              runner.sendUnsafe(0, [[Protocol.RESULT, message[1], Protocol.DEFECT, Protocol.encodeDefect(error)]])
            }
          }
        }
      }
    }
    const post = (message: Protocol.FromThread): void => {
      if (outbox.push(message) === 1) Protocol.queueMicrotask(flush)
    }

    const callMainImpl: Runner["callMain"] = <T extends Task.Any>(task: T, payload: Task.Payload<T>) =>
      Effect.suspend((): Effect.Effect<Task.Success<T>, Task.Failure<T> | CallMainError> => {
        const encoded = Schema.encodeUnknownExit(task.payload)(payload)
        if (Exit.isFailure(encoded)) {
          return Effect.fail(
            new ThreadError.InvalidPayload({ task: task._tag, path: "$", message: String(Cause.squash(encoded.cause)) })
          )
        }
        const id = nextCall++
        const answer = Deferred.makeUnsafe<Protocol.Outcome>()
        const path = Protocol.isPrimitive(encoded.value) ? undefined : Protocol.findUncloneable(encoded.value)
        if (path !== undefined) {
          return Effect.fail(
            new ThreadError.InvalidPayload({ task: task._tag, path, message: `a value at ${path} cannot be cloned` })
          )
        }
        calls.set(id, (outcome) => Deferred.doneUnsafe(answer, Exit.succeed(outcome)))
        post([Protocol.CALL, id, task._tag, encoded.value])
        return Deferred.await(answer).pipe(
          Effect.onInterrupt(() => Effect.sync(() => calls.delete(id))),
          Effect.flatMap((outcome) => Outcome.decode(task, outcome))
        )
      })

    const context = Context.add(yield* Effect.context<Exclude<R, CurrentRunner>>(), CurrentRunner, {
      callMain: callMainImpl
    }) as Context.Context<R>
    const runFork = Effect.runForkWith(context)

    // Requests run one at a time, in the order they came: the thread is an exclusive worker.
    const queue = MutableList.make<Protocol.Run>()
    const queued = new Map<number, Protocol.Run>()
    let current: { readonly id: number; readonly fiber: Fiber.Fiber<unknown, unknown> } | undefined

    const start = (request: Protocol.Run): Fiber.Fiber<unknown, unknown> | undefined => {
      const [, id, tag, payload] = request
      const handler = byTag.get(tag)
      if (handler === undefined) {
        post([Protocol.RESULT, id, Protocol.NOT_IMPLEMENTED])
        return undefined
      }
      const decoded = Schema.decodeUnknownExit(handler.task.payload)(payload)
      if (Exit.isFailure(decoded)) {
        const error = new Error(`the payload of ${tag} does not match its schema`)
        post([Protocol.RESULT, id, Protocol.DEFECT, Protocol.encodeDefect(error)])
        return undefined
      }
      const trace = request[4]
      const effect = handler.handle(decoded.value as never)
      const fiber = runFork(
        trace === undefined ? effect : Effect.withSpan(effect, `effect-threads.thread ${tag}`, {
          parent: Tracer.externalSpan({ traceId: trace[0], spanId: trace[1], sampled: trace[2] }),
          kind: "server"
        })
      )
      const done = fiber.pollUnsafe()
      if (done !== undefined) {
        post([Protocol.RESULT, id, ...Outcome.encode(handler.task, done)])
        return undefined
      }
      fiber.addObserver((exit) => {
        post([Protocol.RESULT, id, ...Outcome.encode(handler.task, exit)])
        current = undefined
        drain()
      })
      return fiber
    }

    const drain = (): void => {
      while (current === undefined) {
        const request = MutableList.take(queue)
        if (request === MutableList.Empty) return
        queued.delete(request[1])
        const fiber = start(request)
        if (fiber !== undefined) current = { id: request[1], fiber }
      }
    }

    yield* runner.run<void, never, never>((_port, batch) => {
      for (const message of batch) {
        switch (message[0]) {
          case Protocol.RUN: {
            MutableList.append(queue, message)
            queued.set(message[1], message)
            break
          }
          case Protocol.INTERRUPT: {
            const id = message[1]
            const waiting = queued.get(id)
            if (current?.id === id) current.fiber.interruptUnsafe()
            else if (waiting !== undefined) {
              MutableList.remove(queue, waiting)
              queued.delete(id)
              post([Protocol.RESULT, id, Protocol.INTERRUPTED])
            }
            break
          }
          case Protocol.RECALL: {
            const id = message[1]
            const waiting = queued.get(id)
            if (waiting !== undefined) {
              MutableList.remove(queue, waiting)
              queued.delete(id)
              post([Protocol.RESULT, id, Protocol.RECALLED])
            }
            break
          }
          case Protocol.REPLY: {
            const [, id, ...outcome] = message
            const resume = calls.get(id)
            calls.delete(id)
            resume?.(outcome)
            break
          }
        }
      }
      drain()
    })
  })
