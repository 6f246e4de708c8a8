/**
 * Ports Twisted's `ThreadWorker` (`twisted._threads._threadworker`): an exclusive worker bound to one thread. Its
 * work waits in a queue, and one loop feeds it to the thread in order, so the work never overlaps.
 *
 * It is platform-neutral. Twisted injects `startThread`; here `startThread` is an effect that starts a thread in a
 * scope and gives the services through which work reaches it (for example a handle that sends tasks to a Node
 * `worker_threads` thread). The loop is a fiber that provides those services to each unit of work. The thread is
 * started before `make` returns, as in Twisted.
 *
 * `quit` lets the work queued before it finish, then ends the loop and releases the thread (closes its scope).
 * Closing the scope that `make` ran in interrupts the loop and releases the thread at once.
 *
 * One deliberate difference: in Twisted a task that raises kills the thread, and work queued behind it silently
 * never runs. Here a defect in a unit of work is logged and the loop goes on with the next one, so no queued work
 * is lost. (Under a {@link Team} no defect reaches the loop: the team reports task failures itself.)
 *
 * @since 0.1.0
 */
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as Queue from "effect/Queue"
import * as Scope from "effect/Scope"
import * as Quit from "./internal/quit.ts"
import * as Worker from "./Worker.ts"

const StopThread = Symbol.for("@effect-threads/core/ThreadWorker/StopThread")

/**
 * Starts a thread in the given scope and gives the services that work needs to reach it. Twisted's `startThread`.
 * Closing the scope must release the thread.
 *
 * @stability stable
 * @category models
 * @since 0.1.0
 */
export type StartThread<T, E = never, R = never> = Effect.Effect<Context.Context<T>, E, R | Scope.Scope>

/**
 * Options of {@link make}.
 *
 * @stability stable
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /**
   * How many units of work may be in progress on this side at once. Defaults to 1: Twisted's ThreadWorker, whose
   * loop runs one unit after the other. With more, each unit starts at once on a fiber of its own: for work that
   * only hands a task to a thread that runs its tasks in order and waits for the answer, so several tasks can be on
   * their way to the thread at once (pipelining). The exclusivity is then the thread's.
   */
  readonly concurrency?: number | undefined
}

/**
 * Creates a thread worker: starts one thread with `startThread` and the fiber that feeds it.
 *
 * **Details**
 *
 * Work is `Effect<void, never, T>`: it runs on the worker's fiber with the thread's services provided. `do` only
 * queues the work and never waits for it. `quit` queues the stop marker after the work already queued; the thread is
 * released once the loop reaches it.
 *
 * **Example** (A worker whose "thread" is a name)
 *
 * ```ts
 * import { Context, Effect } from "effect"
 * import { ThreadWorker } from "@effect-threads/core"
 *
 * class ThreadName extends Context.Service<ThreadName, string>()("ThreadName") {}
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const worker = yield* ThreadWorker.make(Effect.succeed(Context.make(ThreadName, "thread-1")))
 *   yield* worker.do(ThreadName.use((name) => Effect.log(`running on ${name}`)))
 *   yield* worker.quit
 * }))
 * ```
 *
 * @stability stable
 * @category constructors
 * @since 0.1.0
 */
export const make = <T, E = never, R = never>(
  startThread: StartThread<T, E, R>,
  options?: Options
): Effect.Effect<Worker.ExclusiveWorker<T>, E, R | Scope.Scope> =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const threadScope = yield* Scope.fork(scope)
    const services = yield* Scope.provide(threadScope)(startThread)
    const quit = Quit.make()
    const runOne = (work: Effect.Effect<void, never, T>): Effect.Effect<void> =>
      work.pipe(
        Effect.provideContext(services),
        Effect.catchCause((cause) => Effect.logError("Unhandled error in thread worker work", cause))
      )
    const release = Scope.close(threadScope, Exit.void)

    if ((options?.concurrency ?? 1) > 1) {
      // Each unit starts at once on a fiber of its own; the thread is released once the last one has finished.
      let running = 0
      const started = (fiber: Fiber.Fiber<void>) => {
        running += 1
        fiber.addObserver(() => {
          running -= 1
          if (running === 0 && quit.isSet) Effect.runFork(release)
        })
      }
      return Worker.makeExclusive<T>({
        do: (work) =>
          Effect.suspend(() => {
            if (quit.isSet) return Quit.alreadyQuit
            return Effect.map(Effect.forkIn(runOne(work), scope, { startImmediately: true }), started)
          }),
        quit: Effect.andThen(quit.set, Effect.suspend(() => running === 0 ? release : Effect.void))
      })
    }

    const queue = yield* Queue.unbounded<Effect.Effect<void, never, T> | typeof StopThread>()
    const loop: Effect.Effect<void> = Effect.flatMap(
      Queue.take(queue),
      (item) => item === StopThread ? release : Effect.andThen(runOne(item), loop)
    )
    yield* Effect.forkIn(Effect.orDie(loop), scope)
    return Worker.makeExclusive<T>({
      do: (work) =>
        Effect.suspend(() => {
          if (quit.isSet) return Quit.alreadyQuit
          Queue.offerUnsafe(queue, work)
          return Effect.void
        }),
      quit: Effect.andThen(quit.set, Effect.sync(() => void Queue.offerUnsafe(queue, StopThread)))
    })
  })
