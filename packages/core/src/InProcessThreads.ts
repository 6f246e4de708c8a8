/**
 * A {@link ThreadPlatform} without threads, for fast deterministic tests of pools (the library's and users' own):
 * each "thread" is a `MessageChannel` in the same isolate, whose far end runs the shared `ThreadRunner.serve` with
 * the given handlers. Messages still go through the structured clone, in order, one event per batch, as between
 * real threads.
 *
 * Faults can be injected per thread id (or by a function of it, or later through {@link Control}): a thread whose
 * spawn throws, one that ends before it is ready, one that never says it is ready, one that dies (with an exit code)
 * when a given task starts or on demand, one that never answers.
 *
 * @since 0.2.0
 */
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import type * as Task from "./Task.ts"
import { type ThreadEvents, type ThreadExit, type ThreadHandle, ThreadPlatform } from "./ThreadPlatform.ts"
import * as ThreadRunner from "./ThreadRunner.ts"

/**
 * A fault of one thread.
 *
 * - `SpawnThrows`: `spawn` throws `error`.
 * - `FailsToStart`: the thread ends before it is ready, with `error` (exit code 1).
 * - `NeverReady`: the thread never says it is ready (until terminated).
 * - `DiesOnTask`: the thread dies with `exitCode` (default 1) when a request for `task` starts.
 * - `NeverAnswers`: the thread says it is ready, then ignores every message.
 *
 * @stability experimental
 * @category models
 * @since 0.2.0
 */
export type Fault =
  | { readonly _tag: "SpawnThrows"; readonly error?: unknown }
  | { readonly _tag: "FailsToStart"; readonly error?: unknown }
  | { readonly _tag: "NeverReady" }
  | { readonly _tag: "DiesOnTask"; readonly task: string; readonly exitCode?: number | undefined }
  | { readonly _tag: "NeverAnswers" }

/**
 * Options of {@link make} and {@link layer}.
 *
 * @stability experimental
 * @category models
 * @since 0.2.0
 */
export interface Options<R, E> {
  /** The faults of the threads to come, by thread id or as a function of it. */
  readonly faults?: Readonly<Record<number, Fault>> | ((id: number) => Fault | undefined) | undefined
  /** What the handlers need, built in each thread as `ThreadRunner.serve`'s `layer`. */
  readonly layer?: Layer.Layer<R, E> | undefined
}

/**
 * The handle on an in-process platform: counts its threads and injects faults.
 *
 * @stability experimental
 * @category models
 * @since 0.2.0
 */
export interface ControlShape {
  /** Threads spawned so far (a spawn that threw not counted). */
  readonly spawned: () => number
  /** Threads spawned that have not ended. */
  readonly alive: () => number
  /** The ids of those threads. */
  readonly live: () => ReadonlyArray<number>
  /** Kills thread `id` at once, as if it crashed with `exitCode` (default 1). Does nothing if it ended. */
  readonly kill: (id: number, exitCode?: number) => void
  /** Sets (or clears) the fault of thread `id`, for a thread not spawned yet. */
  readonly setFault: (id: number, fault: Fault | undefined) => void
}

/**
 * The handle of the current in-process platform, provided by {@link layer}.
 *
 * @stability experimental
 * @category services
 * @since 0.2.0
 */
export class Control extends Context.Service<Control, ControlShape>()(
  "@effect-threads/core/InProcessThreads/Control"
) {}

/**
 * Creates an in-process platform and its handle.
 *
 * @stability experimental
 * @category constructors
 * @since 0.2.0
 */
export const makeUnsafe = <R = never, E = never>(
  handlers: ReadonlyArray<Task.AnyHandler<R | ThreadRunner.ThreadRunner>>,
  options?: Options<R, E> | undefined
): { readonly platform: ThreadPlatform["Service"]; readonly control: ControlShape } => {
  const faults = new Map<number, Fault>()
  const given = options?.faults
  if (given !== undefined && typeof given !== "function") {
    for (const [id, fault] of Object.entries(given)) faults.set(Number(id), fault)
  }
  const faultOf = (id: number): Fault | undefined =>
    faults.get(id) ?? (typeof given === "function" ? given(id) : undefined)
  const threads = new Map<number, InProcessThread>()
  let spawned = 0

  const spawn = (id: number, events: ThreadEvents): ThreadHandle => {
    const fault = faultOf(id)
    if (fault?._tag === "SpawnThrows") throw fault.error ?? new Error(`thread ${id} could not be spawned`)
    spawned++
    const thread = new InProcessThread(id, events, () => threads.delete(id))
    threads.set(id, thread)
    thread.start(handlers, options?.layer, fault)
    return thread
  }

  return {
    platform: ThreadPlatform.of({ spawn }),
    control: {
      spawned: () => spawned,
      alive: () => threads.size,
      live: () => [...threads.keys()],
      kill: (id, exitCode = 1) => threads.get(id)?.end({ exitCode }),
      setFault: (id, fault) => void (fault === undefined ? faults.delete(id) : faults.set(id, fault))
    }
  }
}

/**
 * An in-process platform, as an `Effect`.
 *
 * @stability experimental
 * @category constructors
 * @since 0.2.0
 */
export const make = <R = never, E = never>(
  handlers: ReadonlyArray<Task.AnyHandler<R | ThreadRunner.ThreadRunner>>,
  options?: Options<R, E> | undefined
): Effect.Effect<{ readonly platform: ThreadPlatform["Service"]; readonly control: ControlShape }> =>
  Effect.sync(() => makeUnsafe(handlers, options))

/**
 * The `ThreadPlatform` of an in-process platform, and its {@link Control}. Threads still alive when the layer's
 * scope closes are terminated.
 *
 * **Example** (A pool tested without threads)
 *
 * ```ts
 * import { Effect, Layer, Schema } from "effect"
 * import { InProcessThreads, Task } from "@effect-threads/core"
 *
 * const Square = Task.make("Square", { payload: Schema.Number, success: Schema.Number })
 * const Platform = InProcessThreads.layer([Task.implement(Square, (n) => Effect.succeed(n * n))], {
 *   faults: { 2: { _tag: "NeverReady" } }
 * })
 * ```
 *
 * @stability experimental
 * @category layers
 * @since 0.2.0
 */
export const layer = <R = never, E = never>(
  handlers: ReadonlyArray<Task.AnyHandler<R | ThreadRunner.ThreadRunner>>,
  options?: Options<R, E> | undefined
): Layer.Layer<ThreadPlatform | Control> =>
  Layer.effectContext(Effect.gen(function*() {
    const { control, platform } = makeUnsafe(handlers, options)
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        for (const id of control.live()) control.kill(id, 1)
      })
    )
    return Context.make(ThreadPlatform, platform).pipe(Context.add(Control, control))
  }))

// ---- the thread ----

/** As much of a `MessagePort` as is used here: core's types include no platform's globals. */
interface Port {
  onmessage: ((event: { readonly data: unknown }) => void) | null
  readonly postMessage: (message: unknown, transfer?: ReadonlyArray<unknown>) => void
  readonly close: () => void
}

const MessageChannel = (globalThis as unknown as {
  readonly MessageChannel: new() => { readonly port1: Port; readonly port2: Port }
}).MessageChannel

const queueMicrotask = (globalThis as unknown as { readonly queueMicrotask: (f: () => void) => void }).queueMicrotask

/** The far end tells the near end it ended (after its last batch, by the channel's order). */
const EXITED = "~effect-threads/in-process/exited"

class InProcessThread implements ThreadHandle {
  readonly main: Port
  readonly thread: Port
  serving: Fiber.Fiber<void, unknown> | undefined = undefined
  ended = false
  readonly id: number
  readonly events: ThreadEvents
  readonly forget: () => void

  constructor(id: number, events: ThreadEvents, forget: () => void) {
    this.id = id
    this.events = events
    this.forget = forget
    const channel = new MessageChannel()
    this.main = channel.port1
    this.thread = channel.port2
    this.main.onmessage = (event) => {
      if (this.ended) return
      if (event.data === EXITED) this.end({ exitCode: 0 })
      else events.onBatch(event.data)
    }
  }

  start<R, E>(
    handlers: ReadonlyArray<Task.AnyHandler<R | ThreadRunner.ThreadRunner>>,
    layer: Layer.Layer<R, E> | undefined,
    fault: Fault | undefined
  ): void {
    switch (fault?._tag) {
      case "FailsToStart":
        return queueMicrotask(() =>
          this.end({ exitCode: 1, error: fault.error ?? new Error(`thread ${this.id} failed to start`) })
        )
      case "NeverReady":
        return
      case "NeverAnswers":
        this.thread.postMessage([[2]])
        return
    }
    const dying = fault?._tag === "DiesOnTask" ? fault : undefined
    const served = dying === undefined ?
      handlers :
      handlers.map((handler) =>
        handler.task._tag !== dying.task ? handler : {
          task: handler.task,
          handle: () =>
            Effect.andThen(
              Effect.sync(() => queueMicrotask(() => this.end({ exitCode: dying.exitCode ?? 1 }))),
              Effect.never
            )
        }
      )
    const port = this.thread
    this.serving = ThreadRunner.serve(
      {
        post: (batch, transfer) => port.postMessage(batch, transfer),
        listen: (onBatch) => {
          port.onmessage = (event) => onBatch(event.data)
        },
        close: () => {
          port.postMessage(EXITED)
          port.onmessage = null
        }
      },
      served,
      { layer }
    )
    this.serving.addObserver((exit) => {
      if (exit._tag === "Failure" && !Cause.hasInterruptsOnly(exit.cause)) {
        this.end({ exitCode: 1, error: Cause.squash(exit.cause) })
      }
    })
  }

  readonly post = (batch: unknown, transfer: ReadonlyArray<unknown>): void => {
    if (!this.ended) this.main.postMessage(batch, transfer)
  }

  readonly terminate = (): void => this.end({ terminated: true })

  /** The thread ends: nothing more is delivered either way, and `onExit` comes in a later microtask. */
  end(exit: ThreadExit): void {
    if (this.ended) return
    this.ended = true
    this.forget()
    this.serving?.interruptUnsafe()
    this.thread.onmessage = null
    this.main.onmessage = null
    this.main.close()
    this.thread.close()
    queueMicrotask(() => this.events.onExit(exit))
  }
}
