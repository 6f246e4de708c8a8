/**
 * The thread side in the browser: serves tasks in a dedicated Web Worker.
 *
 * A worker entry file ends with `BrowserThreadRunner.serve([...handlers])`. The worker tells the pool it is ready
 * once the module has loaded, serves until the pool closes it, then closes itself.
 *
 * The platform part ({@link make}, {@link layer}) is a `WorkerRunner.WorkerRunnerPlatform` written here against
 * `effect/workers`' public types, because `@effect/platform-browser` has no release that works with effect 4.1.
 *
 * @since 0.1.0
 */
import type * as Task from "@effect-threads/core/Task"
import * as ThreadRunner from "@effect-threads/core/ThreadRunner"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import { WorkerError, WorkerReceiveError, WorkerSpawnError } from "effect/workers/WorkerError"
import * as WorkerRunner from "effect/workers/WorkerRunner"

/**
 * As much of a dedicated worker's global scope (`DedicatedWorkerGlobalScope`) as the runner uses. It is declared
 * here because TypeScript's `WebWorker` library cannot be loaded beside `DOM`. A `MessagePort` fits it too.
 *
 * @stability stable
 * @category models
 * @since 0.1.0
 */
export interface WorkerPort {
  readonly postMessage: (message: unknown, transfer: Array<Transferable>) => void
  readonly addEventListener: (type: "message" | "messageerror", listener: (event: MessageEvent) => void) => void
  readonly removeEventListener: (type: "message" | "messageerror", listener: (event: MessageEvent) => void) => void
  /** A `MessagePort` delivers to event listeners only once started; a worker's global scope has no `start`. */
  readonly start?: (() => void) | undefined
}

/**
 * Whether the code runs in a dedicated Web Worker.
 *
 * @stability stable
 * @category guards
 * @since 0.1.0
 */
export const isDedicatedWorker = (): boolean => {
  const scope = (globalThis as { DedicatedWorkerGlobalScope?: unknown }).DedicatedWorkerGlobalScope
  return typeof scope === "function" && globalThis instanceof scope
}

/**
 * A `WorkerRunner.WorkerRunnerPlatform` over `port`: it posts `[0]` (ready) once it listens, answers with
 * `[1, message]`, hands each request `[0, message]` to the handler (forking the handler's effect, if it returns one,
 * and logging its failure), and ends its run on the close message `[1]`, or with a `WorkerError` on a
 * `messageerror` event.
 *
 * @stability stable
 * @category constructors
 * @since 0.1.0
 */
export const make = (port: WorkerPort): WorkerRunner.WorkerRunnerPlatform["Service"] =>
  WorkerRunner.WorkerRunnerPlatform.of({
    start: <O, I>() =>
      Effect.sync((): WorkerRunner.WorkerRunner<O, I> => {
        const sendUnsafe = (_portId: number, message: O, transfers?: ReadonlyArray<unknown>): void =>
          port.postMessage([1, message], transfers === undefined ? [] : (transfers as Array<Transferable>))

        const run = <A, E, R>(
          handler: (portId: number, message: I) => Effect.Effect<A, E, R> | void
        ): Effect.Effect<void, WorkerError, R> =>
          Effect.scopedWith((scope) =>
            Effect.gen(function*() {
              const closed = Deferred.makeUnsafe<void, WorkerError>()
              const runFork = Effect.runForkWith(yield* Effect.context<R>())
              const running = new Set<Fiber.Fiber<A, E>>()

              const onRequest = (message: I): void => {
                const result = handler(0, message)
                if (!Effect.isEffect(result)) return
                const fiber = runFork(result)
                running.add(fiber)
                fiber.addObserver((exit) => {
                  running.delete(fiber)
                  if (Exit.isFailure(exit) && !Cause.hasInterruptsOnly(exit.cause)) {
                    runFork(Effect.logError("a request handler of the worker failed", exit.cause))
                  }
                })
              }
              const onMessage = (event: MessageEvent): void => {
                const message = event.data as WorkerRunner.PlatformMessage<I>
                if (message[0] === 0) onRequest(message[1])
                else Deferred.doneUnsafe(closed, Exit.void)
              }
              const onMessageError = (): void => {
                const reason = new WorkerReceiveError({
                  message: "a message from the main thread could not be deserialized"
                })
                Deferred.doneUnsafe(closed, Exit.fail(new WorkerError({ reason })))
              }

              port.addEventListener("message", onMessage)
              port.addEventListener("messageerror", onMessageError)
              yield* Scope.addFinalizer(
                scope,
                Effect.suspend(() => {
                  port.removeEventListener("message", onMessage)
                  port.removeEventListener("messageerror", onMessageError)
                  return Fiber.interruptAll(running)
                })
              )
              port.start?.()
              port.postMessage([0], [])
              return yield* Deferred.await(closed)
            })
          )

        return {
          run,
          sendUnsafe,
          send: (portId, message, transfers) => Effect.sync(() => sendUnsafe(portId, message, transfers))
        }
      })
  })

/**
 * The runner platform of the current dedicated worker (`globalThis`). Starting it anywhere else fails with a
 * `WorkerError` whose reason is a `WorkerSpawnError`.
 *
 * @stability stable
 * @category layers
 * @since 0.1.0
 */
export const layer: Layer.Layer<WorkerRunner.WorkerRunnerPlatform> = Layer.sync(WorkerRunner.WorkerRunnerPlatform)(
  () =>
    isDedicatedWorker() ? make(globalThis as unknown as WorkerPort) : WorkerRunner.WorkerRunnerPlatform.of({
      start: () =>
        Effect.fail(new WorkerError({ reason: new WorkerSpawnError({ message: "not in a dedicated Web Worker" }) }))
    })
)

/**
 * Serves `handlers` on the current worker. Call it once, at the end of the worker entry file.
 *
 * When the pool closes the worker, the worker closes itself. If serving fails (a message that cannot be read, a
 * `layer` that fails to build), the failure is thrown as an uncaught error of the worker, which the pool sees as the
 * thread's death.
 *
 * **Example** (A worker entry, `tasks.ts`)
 *
 * ```ts
 * import { Effect } from "effect"
 * import { Task } from "@effect-threads/core"
 * import { BrowserThreadRunner } from "@effect-threads/browser"
 * import { CountPrimes } from "./api.ts"
 *
 * BrowserThreadRunner.serve([
 *   Task.implement(CountPrimes, ({ from, to }) => Effect.sync(() => countPrimes(from, to)))
 * ])
 * ```
 *
 * @stability stable
 * @category running
 * @since 0.1.0
 */
export const serve = <R = never, E = never>(
  handlers: ReadonlyArray<Task.AnyHandler<R | ThreadRunner.CurrentRunner>>,
  options?: {
    /**
     * Provides what the handlers need, built once when the worker starts: services, a `Tracer` that exports the
     * worker's spans, a logger.
     */
    readonly layer?: Layer.Layer<R, E> | undefined
  }
): Fiber.Fiber<void, WorkerError | E> => {
  const program = ThreadRunner.make(handlers).pipe(Effect.provide(layer))
  // Without a layer, the handlers need nothing (R is never).
  const fiber = Effect.runFork(
    options?.layer === undefined
      ? program as unknown as Effect.Effect<void, WorkerError>
      : Effect.provide(program, options.layer)
  )
  fiber.addObserver((exit) => {
    if (Exit.isSuccess(exit)) {
      if (isDedicatedWorker()) (globalThis as unknown as { close: () => void }).close()
    } else if (!Cause.hasInterruptsOnly(exit.cause)) {
      const error = Cause.squash(exit.cause)
      setTimeout(() => {
        throw error
      }, 0)
    }
  })
  return fiber
}
