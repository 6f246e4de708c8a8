/**
 * Ports Twisted's `twisted._threads.AlreadyQuit`: the one failure of this package, raised when a worker, a team or a
 * quit flag is used after it has been quit.
 *
 * Twisted raises it synchronously in the caller. Here every `do`, `quit`, `grow` and `shrink` fails with it at once,
 * in the error channel, before anything is scheduled. It is a `Schema.TaggedError`, so it survives a trip across a
 * thread boundary.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * A worker, team or pool was used after it was quit.
 *
 * **Details**
 *
 * `do` and `quit` on a quit worker fail with this error at once; a second `quit` fails with it too. The error is
 * schema-backed, so it can be encoded in a worker thread and decoded on the main thread.
 *
 * **Example** (Catching a use after quit)
 *
 * ```ts
 * import { Effect } from "effect"
 * import { AlreadyQuit, MemoryWorker } from "@effect-threads/core"
 *
 * const program = Effect.gen(function*() {
 *   const { worker } = yield* MemoryWorker.make()
 *   yield* worker.quit
 *   return yield* worker.do(Effect.void).pipe(
 *     Effect.catchTag("AlreadyQuit", (e) => Effect.succeed(e instanceof AlreadyQuit.AlreadyQuit))
 *   )
 * })
 * ```
 *
 * @stability stable
 * @category errors
 * @since 0.1.0
 */
export class AlreadyQuit extends Schema.TaggedError<AlreadyQuit>()("AlreadyQuit", {}) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return "the worker has already quit"
  }
}

/**
 * Whether a value is an {@link AlreadyQuit} error.
 *
 * @stability stable
 * @category guards
 * @since 0.1.0
 */
export const isAlreadyQuit = (u: unknown): u is AlreadyQuit => u instanceof AlreadyQuit
