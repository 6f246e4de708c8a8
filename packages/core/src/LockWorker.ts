/**
 * Ports Twisted's `LockWorker` (`twisted._threads._threadworker`): an exclusive worker that runs work at once, on
 * the caller's fiber, while holding a lock.
 *
 * Fibers can suspend inside work, so the lock is a real `Semaphore` with one permit, and Twisted's thread-local
 * "currently working" list becomes a list owned by the fiber that holds the lock: work submitted from inside running
 * work, on the same fiber, is appended to that list and runs after the current item, under the same lock, before the
 * outermost `do` returns. Other fibers wait for the lock.
 *
 * Re-entrancy is a matter of fibers, as Twisted's is of threads: a fiber forked inside the work (by
 * `Effect.timeout`, `Effect.race`, `forkChild`) is another fiber, and waits for the lock like any other. Work that
 * waits for such a fiber while that fiber calls `do` on the same worker deadlocks, as two threads would.
 *
 * A defect in an item ends the outermost `do` with that defect, releases the lock and silently drops the
 * re-entrant items not yet run, exactly as Twisted drops them (spec 1.7). Interrupting the caller does the same.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as Semaphore from "effect/Semaphore"
import * as Quit from "./internal/quit.ts"
import * as Worker from "./Worker.ts"

/**
 * The lock a {@link LockWorker} holds while it runs work. Any value with these two operations will do; tests use a
 * fake that detects a double acquire, as Twisted's do.
 *
 * @stability stable
 * @category models
 * @since 0.1.0
 */
export interface Lock {
  readonly acquire: Effect.Effect<void>
  readonly release: Effect.Effect<void>
}

/**
 * A lock made of a `Semaphore` with one permit.
 *
 * @stability stable
 * @category constructors
 * @since 0.1.0
 */
export const makeLock = (): Lock => {
  const semaphore = Semaphore.makeUnsafe(1)
  return { acquire: semaphore.take(1).pipe(Effect.asVoid), release: semaphore.release(1).pipe(Effect.asVoid) }
}

interface Running {
  readonly fiber: Fiber.Fiber<unknown, unknown>
  readonly items: Array<Effect.Effect<void>>
}

/**
 * Test hooks: `onReadLock` runs right after `do` has read the lock reference and before it checks the quit flag, the
 * window that Twisted's `test_quitWhileGettingLock` opens with a subclass.
 *
 * @internal
 */
export interface Hooks {
  readonly onReadLock?: (() => void) | undefined
}

/**
 * Creates a lock worker around `lock`. Twisted's `LockWorker(lock, local)`: the fiber-owned list replaces the
 * thread-local, and belongs to this worker alone.
 *
 * **Details**
 *
 * `do` reads the lock first and checks the quit flag second, so a `quit` that races between the two is caught by
 * the check, and one after it leaves the lock it read valid. `quit` drops the worker's reference to the lock; work
 * queued re-entrantly before a `quit` made from inside running work still runs.
 *
 * @stability stable
 * @category constructors
 * @since 0.1.0
 */
export const makeUnsafe = (lock: Lock = makeLock(), hooks?: Hooks): Worker.ExclusiveWorker => {
  const quit = Quit.make()
  let currentLock: Lock | undefined = lock
  let running: Running | undefined
  const drain = (items: Array<Effect.Effect<void>>): Effect.Effect<void> =>
    Effect.suspend(() => {
      const next = items.shift()
      return next === undefined ? Effect.void : Effect.andThen(next, drain(items))
    })
  return Worker.makeExclusive({
    do: (work) =>
      Effect.withFiber((fiber) => {
        const held = currentLock
        hooks?.onReadLock?.()
        if (quit.isSet) return Quit.alreadyQuit
        if (running !== undefined && running.fiber === fiber) {
          running.items.push(work)
          return Effect.void
        }
        if (held === undefined) return Effect.die(new Error("LockWorker used after quit"))
        return Effect.uninterruptibleMask((restore) =>
          Effect.andThen(
            restore(held.acquire),
            Effect.suspend(() => {
              const items = [work]
              running = { fiber, items }
              return restore(drain(items))
            }).pipe(Effect.ensuring(Effect.suspend(() => {
              running = undefined
              return held.release
            })))
          )
        )
      }),
    quit: Effect.andThen(quit.set, Effect.sync(() => void (currentLock = undefined)))
  })
}

/**
 * Creates a lock worker with a fresh lock.
 *
 * **Example** (Re-entrant work runs after the current item)
 *
 * ```ts
 * import { Effect } from "effect"
 * import { LockWorker } from "@effect-threads/core"
 *
 * const program = Effect.gen(function*() {
 *   const worker = yield* LockWorker.make()
 *   const order: Array<string> = []
 *   yield* worker.do(Effect.gen(function*() {
 *     yield* worker.do(Effect.sync(() => order.push("inner")))
 *     order.push("outer")
 *   }))
 *   return order // ["outer", "inner"]
 * })
 * ```
 *
 * @stability stable
 * @category constructors
 * @since 0.1.0
 */
export const make = (lock?: Lock): Effect.Effect<Worker.ExclusiveWorker> => Effect.sync(() => makeUnsafe(lock))
