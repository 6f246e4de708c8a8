/**
 * The platform under a pool: how the main thread spawns a thread, posts it a batch of messages, hears its batches,
 * learns how it ended, and terminates it. Each runtime implements it in a few dozen lines (`NodeThreadPool` over
 * `worker_threads`, `BrowserThreadPool` over dedicated Web Workers, {@link InProcessThreads} over a `MessageChannel`
 * in the same isolate, for tests).
 *
 * The interface is synchronous and callback-based on purpose: it is on the path of every task, and a pool posts one
 * batch per thread per turn of the event loop and hears one batch per `message` event. Nothing here allocates a
 * fiber.
 *
 * **Details**
 *
 * The contract a platform keeps:
 *
 * - `spawn` creates the thread and returns its handle at once; it may throw (an entry that cannot be found), which
 *   the pool reports as the thread's start failure. The thread says it is ready with a message of its own; the
 *   platform does not.
 * - `onBatch` receives each message the thread posted, in order.
 * - `onExit` is called exactly once per spawned thread, asynchronously (never from inside `spawn`, `post` or
 *   `terminate`), after the last `onBatch`, with the real exit code where the runtime reports one and the error
 *   that ended the thread where there was one (an uncaught exception, an error event). After a `terminate` it still
 *   comes, once the thread is gone.
 * - `post` throws if a value in the batch cannot be cloned; nothing is sent then.
 * - `terminate` ends the thread at once; calling it again, or after the thread ended, does nothing.
 *
 * @since 0.2.0
 */
import * as Context from "effect/Context"

/**
 * How a thread ended.
 *
 * @stability stable
 * @category models
 * @since 0.2.0
 */
export interface ThreadExit {
  /** The exit code, where the runtime reports one (`worker_threads`; not the browser). */
  readonly exitCode?: number | undefined
  /** The error that ended the thread: an uncaught exception, an error event. */
  readonly error?: unknown
  /** Whether the thread ended because `terminate` was called. */
  readonly terminated?: boolean | undefined
}

/**
 * What a platform reports about one thread.
 *
 * @stability stable
 * @category models
 * @since 0.2.0
 */
export interface ThreadEvents {
  /** A message the thread posted (a batch of the pool's protocol). */
  readonly onBatch: (batch: unknown) => void
  /** The thread ended; called exactly once. */
  readonly onExit: (exit: ThreadExit) => void
}

/**
 * The main thread's handle on one platform thread.
 *
 * @stability stable
 * @category models
 * @since 0.2.0
 */
export interface ThreadHandle {
  /** Posts one message to the thread, transferring `transfer`. Throws if something cannot be cloned. */
  readonly post: (batch: unknown, transfer: ReadonlyArray<unknown>) => void
  /** Ends the thread at once. Idempotent. */
  readonly terminate: () => void
}

/**
 * A platform: spawns threads.
 *
 * @stability stable
 * @category models
 * @since 0.2.0
 */
export interface ThreadPlatformShape {
  /** Spawns thread `id` (1, 2, ...; a replacement gets a new id), reporting to `events`. May throw. */
  readonly spawn: (id: number, events: ThreadEvents) => ThreadHandle
}

/**
 * The platform service a pool spawns its threads through.
 *
 * @stability stable
 * @category services
 * @since 0.2.0
 */
export class ThreadPlatform extends Context.Service<ThreadPlatform, ThreadPlatformShape>()(
  "@effect-threads/core/ThreadPlatform"
) {}

/**
 * The thread side of a platform: the port a thread's runner talks to the main thread through (a Node `parentPort`,
 * a dedicated worker's global scope, one end of a `MessageChannel`).
 *
 * @stability stable
 * @category models
 * @since 0.2.0
 */
export interface RunnerPort {
  /** Posts one message to the main thread. Throws if something cannot be cloned; nothing is sent then. */
  readonly post: (batch: unknown, transfer?: ReadonlyArray<unknown> | undefined) => void
  /** Delivers every message from the main thread to `onBatch`, from now on. Called once. */
  readonly listen: (onBatch: (batch: unknown) => void) => void
  /** Stops listening and lets the thread end: the main thread asked it to close. */
  readonly close: () => void
  /** The thread's heap in use, in bytes, where the platform can tell (for recycling threads by memory). */
  readonly heapUsed?: (() => number) | undefined
}
