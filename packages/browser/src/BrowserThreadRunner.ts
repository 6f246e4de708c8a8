/**
 * The thread side in the browser: serves tasks in a dedicated Web Worker.
 *
 * A worker entry file ends with `BrowserThreadRunner.serve([...handlers])`. The worker tells the pool it is ready
 * once the module has loaded (and the `layer`, if any, is built), serves until the pool closes it, then closes
 * itself. The serving is core's `ThreadRunner.serve` over the worker's global scope ({@link makePort}).
 *
 * @since 0.1.0
 */
import type * as Task from "@effect-threads/core/Task"
import type { RunnerPort } from "@effect-threads/core/ThreadPlatform"
import * as ThreadRunner from "@effect-threads/core/ThreadRunner"
import * as Cause from "effect/Cause"
import type * as Fiber from "effect/Fiber"
import { CLOSED } from "./internal/closed.ts"

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
  /** Ends the worker (a worker's global scope) or the port. */
  readonly close?: (() => void) | undefined
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

/** The heap in use, where the browser tells (Chromium's `performance.memory`). */
const heapOf = (): number | undefined =>
  (globalThis as { performance?: { memory?: { usedJSHeapSize?: number } } }).performance?.memory?.usedJSHeapSize

/**
 * The runner's port over `port`: a worker's global scope or a `MessagePort`. A `messageerror` event (a message from
 * the main thread that cannot be deserialized) is thrown as an uncaught error of the worker, which the pool sees as
 * its death; closing removes the listeners and closes the port (for a worker's global scope, the worker itself).
 *
 * @stability stable
 * @category constructors
 * @since 0.2.0
 */
export const makePort = (port: WorkerPort): RunnerPort => {
  let onMessage: ((event: MessageEvent) => void) | undefined
  const onMessageError = (): void => {
    throw new Error("a message from the main thread could not be deserialized")
  }
  return {
    post: (batch, transfer) => port.postMessage(batch, transfer === undefined ? [] : transfer as Array<Transferable>),
    listen: (onBatch) => {
      onMessage = (event) => onBatch(event.data)
      port.addEventListener("message", onMessage)
      port.addEventListener("messageerror", onMessageError)
      port.start?.()
    },
    close: () => {
      if (onMessage !== undefined) port.removeEventListener("message", onMessage)
      port.removeEventListener("messageerror", onMessageError)
      // The page hears of no worker's end: it is told, before the worker closes.
      port.postMessage(CLOSED, [])
      port.close?.()
    },
    // Chromium's non-standard `performance.memory`; elsewhere the heap is not known and nothing is recycled by it.
    ...(heapOf() === undefined ? {} : { heapUsed: () => heapOf() ?? 0 })
  }
}

/**
 * Serves `handlers` on the current worker. Call it once, at the end of the worker entry file.
 *
 * When the pool closes the worker, the worker closes itself. If the `layer` fails to build, its error is thrown as
 * an uncaught error of the worker, which the pool sees as the thread's start failure.
 *
 * **Example** (A worker entry, `tasks.ts`)
 *
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Task } from "@effect-threads/core"
 * import { BrowserThreadRunner } from "@effect-threads/browser"
 *
 * // declared once, in a module the program that calls it imports too
 * const CountPrimes = Task.make("CountPrimes", {
 *   payload: Schema.Struct({ from: Schema.Number, to: Schema.Number }),
 *   success: Schema.Number
 * })
 *
 * // the work itself: plain code (here, the primes in [from, to) by trial division)
 * const countPrimes = (from: number, to: number): number => {
 *   let count = 0
 *   for (let n = Math.max(2, from); n < to; n++) {
 *     let d = 2
 *     while (d * d <= n && n % d !== 0) d++
 *     if (d * d > n) count++
 *   }
 *   return count
 * }
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
  handlers: ReadonlyArray<Task.AnyHandler<R | ThreadRunner.ThreadRunner>>,
  options?: ThreadRunner.ServeOptions<R, E> | undefined
): Fiber.Fiber<void, E> => {
  if (!isDedicatedWorker()) throw new Error("BrowserThreadRunner.serve runs in a dedicated Web Worker")
  const fiber = ThreadRunner.serve(makePort(globalThis as unknown as WorkerPort), handlers, options)
  fiber.addObserver((exit) => {
    if (exit._tag === "Failure" && !Cause.hasInterruptsOnly(exit.cause)) {
      const error = Cause.squash(exit.cause)
      setTimeout(() => {
        throw error
      }, 0)
    }
  })
  return fiber
}
