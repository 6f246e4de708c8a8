/**
 * The thread side of a pool: serves tasks inside a worker thread (Node `worker_threads`, a browser Web Worker, or an
 * in-process channel in tests).
 *
 * A worker entry file lists its task handlers and calls the platform's `serve` (for example
 * `NodeThreadRunner.serve`), which is {@link serve} over the platform's {@link ThreadPlatform.RunnerPort}. The
 * runner listens at once, says it is ready (`[[READY]]`) once it can serve, then runs the requests one at a time in
 * the order they came (a thread is an exclusive worker): it decodes each payload with the task's schema, runs the
 * handler, and answers with the encoded success, the encoded typed failure, the defect, the interruption, or an
 * invalid result. An interrupt from the main thread interrupts the running request or drops a queued one; a recall
 * gives an unstarted request back. Handlers can call back into the main thread with {@link callMain}: Twisted's
 * `blockingCallFromThread`, without the blocking.
 *
 * The path of a request is lean: no fiber per message, a handler whose effect is already an `Exit` runs without a
 * fiber and a synchronous one completes on its own fiber within the turn with no observer attached, and every
 * answer of one turn leaves as one message.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Session from "./internal/runner/session.ts"
import type * as Task from "./Task.ts"
import * as ThreadError from "./ThreadError.ts"
import type { RunnerPort } from "./ThreadPlatform.ts"

/**
 * What a handler can do with the thread it runs on: call the main thread. The shape of the {@link ThreadRunner}
 * service.
 *
 * @stability stable
 * @category models
 * @since 0.4.0
 */
export interface ThreadRunnerShape {
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
 * @since 0.4.0
 */
export class ThreadRunner
  extends Context.Service<ThreadRunner, ThreadRunnerShape>()("@effect-threads/core/ThreadRunner")
{}

/**
 * The shape of the {@link ThreadRunner} service, under its name before 0.4.0.
 *
 * @deprecated Use {@link ThreadRunnerShape}.
 * @stability stable
 * @category models
 * @since 0.1.0
 */
export type Runner = ThreadRunnerShape

/**
 * The {@link ThreadRunner} service, under its name before 0.4.0: the same class.
 *
 * @deprecated Use {@link ThreadRunner}.
 * @stability stable
 * @category services
 * @since 0.1.0
 */
export const CurrentRunner: typeof ThreadRunner = ThreadRunner

/**
 * The {@link ThreadRunner} service, under its name before 0.4.0.
 *
 * @deprecated Use {@link ThreadRunner}.
 * @stability stable
 * @category services
 * @since 0.1.0
 */
export type CurrentRunner = ThreadRunner

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
): Effect.Effect<Task.Success<T>, Task.Failure<T> | CallMainError, ThreadRunner> =>
  Effect.flatMap(ThreadRunner, (runner) => runner.callMain(task, payload))

/**
 * Options of {@link serve}.
 *
 * @stability stable
 * @category models
 * @since 0.2.0
 */
export interface ServeOptions<R, E> {
  /**
   * Provides what the handlers need, built once when the thread starts (services, a `Tracer` that exports the
   * thread's spans, a logger). The thread says it is ready only once it is built; requests that arrive before wait.
   */
  readonly layer?: Layer.Layer<R, E> | undefined
}

/**
 * Serves `handlers` over `port` until the main thread closes it: the body every platform's `serve` shares.
 *
 * It listens on `port` before it returns, posts `[[READY]]` once it can serve (at once, or when `options.layer` is
 * built), and returns the fiber of the session: it succeeds when the main thread closes the thread (the `layer`'s
 * resources are released then), fails with the `layer`'s error if that fails to build (the platform must then end
 * the thread with that error, which the main thread sees as a start failure), and interrupting it stops serving and
 * interrupts the running request.
 *
 * **Example** (Serving over a port of one's own)
 *
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Task, ThreadRunner } from "@effect-threads/core"
 * import type { ThreadPlatform } from "@effect-threads/core"
 *
 * declare const port: ThreadPlatform.RunnerPort
 * const Square = Task.make("Square", { payload: Schema.Number, success: Schema.Number })
 *
 * ThreadRunner.serve(port, [Task.implement(Square, (n) => Effect.succeed(n * n))])
 * ```
 *
 * @stability stable
 * @category running
 * @since 0.2.0
 */
export const serve = <R = never, E = never>(
  port: RunnerPort,
  handlers: ReadonlyArray<Task.AnyHandler<R | ThreadRunner>>,
  options?: ServeOptions<R, E> | undefined
): Fiber.Fiber<void, E> => {
  const session = new Session.Session<R | ThreadRunner>(port, handlers)
  port.listen(session.receive)
  const withRunner = (context: Context.Context<never>) =>
    Context.add(context, ThreadRunner, { callMain: session.callMain }) as Context.Context<R | ThreadRunner>
  const layer = options?.layer
  const serving = Effect.callback<void>((resume) => {
    session.onClose = () => resume(Effect.void)
  })
  const program: Effect.Effect<void, E> = layer === undefined
    ? Effect.suspend(() => {
      session.ready(withRunner(Context.empty()))
      return serving
    })
    : Effect.scoped(Effect.flatMap(Layer.build(layer), (context) => {
      session.ready(withRunner(context as Context.Context<never>))
      return serving
    }))
  return Effect.runFork(Effect.onExit(program, () => Effect.sync(session.stop)))
}
