/**
 * Ports Twisted's `LockWorker` (`twisted._threads._threadworker`): an exclusive worker that runs work at once, on
 * the caller's fiber, while holding a lock.
 *
 * Fibers can suspend inside work, so the lock is a real one (fair, like a `Semaphore` with one permit, and taken
 * without an Effect when it is free), and Twisted's thread-local "currently working" list becomes a list owned by
 * the fiber that holds the lock: work submitted from inside running work, on the same fiber, is appended to that
 * list and runs after the current item, under the same lock, before the outermost `do` returns. Other fibers wait
 * for the lock.
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
import { constVoid } from "effect/Function"
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
 * A lock for one holder, fair like effect's `Semaphore` with one permit: fibers that wait take it in the order they
 * came, and a free lock is never taken past a waiting fiber. Taking it when it is free costs no fiber suspension.
 *
 * @stability stable
 * @category constructors
 * @since 0.1.0
 */
export const makeLock = (): Lock => {
  let held = false
  // Waiting fibers, first come first. A woken waiter takes the lock when it runs, if it is still free.
  const waiters = new Set<Waiter>()
  const first = (): Waiter | undefined => {
    for (const waiter of waiters) return waiter
    return undefined
  }
  const tryAcquireUnsafe = (): boolean => {
    if (held || waiters.size > 0) return false
    held = true
    return true
  }
  // As effect's Semaphore does, the first waiter is resumed from the scheduler, not inline in the releasing fiber.
  const wake = (fiber: Fiber.Fiber<unknown, unknown>): void => {
    if (held || waiters.size === 0) return
    fiber.currentDispatcher.scheduleTask(() => {
      const waiter = first()
      if (held || waiter === undefined) return
      const resume = waiter.resume
      waiter.resume = undefined
      resume?.(Effect.void)
    }, 0)
  }
  const releaseUnsafe = (fiber: Fiber.Fiber<unknown, unknown>): void => {
    held = false
    wake(fiber)
  }
  const acquire = Effect.withFiber((fiber) => {
    if (tryAcquireUnsafe()) return Effect.void
    const waiter: Waiter = { resume: undefined }
    waiters.add(waiter)
    const wait = Effect.callback<void>((resume) => {
      if (!held && first() === waiter) resume(Effect.void)
      else waiter.resume = resume
    })
    const loop: Effect.Effect<void> = Effect.flatMap(wait, () => {
      if (held || first() !== waiter) return loop
      held = true
      waiters.delete(waiter)
      return Effect.void
    })
    // A waiter that leaves (interrupted) lets the next one try.
    return Effect.onExit(loop, () => {
      if (waiters.delete(waiter)) wake(fiber)
      return Effect.void
    })
  })
  const lock: SyncLock = {
    acquire,
    release: Effect.withFiber((fiber) => {
      releaseUnsafe(fiber)
      return Effect.void
    }),
    tryAcquireUnsafe,
    releaseUnsafe
  }
  return lock
}

interface Waiter {
  resume: ((effect: Effect.Effect<void>) => void) | undefined
}

/** A lock that can be taken and released without an Effect: the {@link makeLock} kind, the fast path of `do`. */
interface SyncLock extends Lock {
  /** Takes the lock if it is free and nobody waits for it. */
  readonly tryAcquireUnsafe: () => boolean
  readonly releaseUnsafe: (fiber: Fiber.Fiber<unknown, unknown>) => void
}

const isSyncLock = (lock: Lock): lock is SyncLock => "tryAcquireUnsafe" in lock

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
  // Runs `work`, then the work queued re-entrantly meanwhile, in order, as the fiber that holds the lock.
  const run = (fiber: Fiber.Fiber<unknown, unknown>, work: Effect.Effect<void>): Effect.Effect<void> => {
    const items = [work]
    running = { fiber, items }
    return Effect.whileLoop({ while: () => items.length > 0, body: () => items.shift()!, step: constVoid })
  }
  // The general path: waits for the lock (interruptibly, if the caller is), runs, releases.
  const locked = (
    held: Lock,
    fiber: Fiber.Fiber<unknown, unknown>,
    work: Effect.Effect<void>,
    restore: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  ): Effect.Effect<void> =>
    Effect.andThen(
      restore(held.acquire),
      Effect.suspend(() => restore(run(fiber, work))).pipe(Effect.ensuring(Effect.suspend(() => {
        running = undefined
        return held.release
      })))
    )
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
        if (isSyncLock(held)) {
          // The fast path: a free lock is taken at once, uninterruptibly, and the release is registered before the
          // fiber can yield.
          return Effect.uninterruptibleMask((restore) => {
            if (!held.tryAcquireUnsafe()) return locked(held, fiber, work, restore)
            return Effect.onExit(restore(run(fiber, work)), () => {
              running = undefined
              held.releaseUnsafe(fiber)
              return Effect.void
            })
          })
        }
        return Effect.uninterruptibleMask((restore) => locked(held, fiber, work, restore))
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
 *     yield* Effect.orDie(worker.do(Effect.sync(() => order.push("inner"))))
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
