/**
 * A thread whose entry may start from its bundle, with the entry as it is behind it: one platform thread for the
 * pool, made of up to two `Worker`s, of which the first to say it is ready is the thread.
 *
 * - The bundle may still be in the making: the `Worker` is made once it is (or from the entry as it is, if the
 *   bundle cannot be used).
 * - A bundled `Worker` that ends before it is ready (its bundle loads badly) is replaced by a plain one.
 * - One that has not loaded its bundle within the budget (half the pool's `startTimeout`, counted from the spawn),
 *   or a bundle still in the making then, gets a plain `Worker` beside it: the first of the two to be ready is the
 *   thread, the other is terminated. A bundle that hangs as it loads costs one budget, not the start; a bundle that
 *   is only slow still wins; an entry that hangs both ways meets the pool's `startTimeout` as any thread would.
 * - What the pool posts before then waits, and goes to the thread that is ready, never to the other one.
 * - The bundle is blamed (`blame`) only when the plain `Worker` became ready where the bundled one ended or had not
 *   loaded: an entry that fails both ways (say its serve layer, a database down) reports its own failure.
 *
 * @internal
 */
import type { ThreadEvents, ThreadExit, ThreadHandle } from "@effect-threads/core/ThreadPlatform"
import { LOADED } from "./bundleCache.ts"
import type { Start } from "./entries.ts"
import { checked } from "./worker.ts"

/** What `start` needs: how to make a `Worker` from a start, and whom to tell about the bundle. */
export interface Plan {
  /** Makes a `Worker` (it may throw: the `Worker` could not be made). */
  readonly attach: (start: Start, events: ThreadEvents) => ThreadHandle
  /** The entry as it is. */
  readonly plain: Start
  /** How long (ms) the bundle may take to be made and loaded before a plain `Worker` is started beside it. */
  readonly budget: number
  /** The bundle of `start` kept a thread from starting, which the entry as it is did: `why`. */
  readonly blame: (start: Start, why: unknown) => void
  /** A thread started from `start`'s bundle is ready. */
  readonly proven: (start: Start) => void
}

interface Candidate {
  readonly start: Start
  handle: ThreadHandle | undefined
  alive: boolean
  loaded: boolean
  exit: ThreadExit | undefined
}

/** Starts a thread from `start` (a bundle, made or in the making), with the plain entry behind it. */
export const start = (start: Start | Promise<Start>, plan: Plan, events: ThreadEvents): ThreadHandle => {
  const candidates: Array<Candidate> = []
  let held: Array<readonly [unknown, ReadonlyArray<unknown>]> | undefined = []
  let winner: Candidate | undefined
  let terminated = false
  let reported = false
  let failure: unknown = undefined
  let timer: ReturnType<typeof setTimeout> | undefined

  const report = (exit: ThreadExit): void => {
    if (reported) return
    reported = true
    if (timer !== undefined) clearTimeout(timer)
    queueMicrotask(() => events.onExit(failure === undefined ? exit : { ...exit, error: exit.error ?? failure }))
  }
  const plainOf = (): Candidate | undefined => candidates.find((c) => !c.start.bundled)
  const bundledOf = (): Candidate | undefined => candidates.find((c) => c.start.bundled)

  /** No `Worker` is left and none was ready: the thread's exit is the plain one's (the entry's own), else the last. */
  const settle = (last: ThreadExit): void => {
    if (candidates.some((c) => c.alive)) return
    const exit = plainOf()?.exit ?? last
    report(terminated ? { ...exit, terminated: true } : exit)
  }

  const win = (c: Candidate): void => {
    winner = c
    if (timer !== undefined) clearTimeout(timer)
    for (const other of candidates) {
      if (other === c || !other.alive) continue
      if (!c.start.bundled && !other.loaded) {
        plan.blame(other.start, `its bundle did not load within ${Math.round(plan.budget)} ms`)
      }
      other.handle?.terminate()
    }
    const bundled = bundledOf()
    if (c.start.bundled) plan.proven(c.start)
    else if (bundled?.exit !== undefined && bundled.exit.terminated !== true) {
      plan.blame(bundled.start, bundled.exit.error ?? `exit code ${bundled.exit.exitCode}`)
    }
    const batches = held ?? []
    held = undefined
    for (const [batch, transfer] of batches) {
      try {
        c.handle!.post(batch, transfer)
      } catch (error) {
        failure = error
        c.handle!.terminate()
        return
      }
    }
  }

  const launch = (from: Start): void => {
    // one of each at most, and the bundled one first (a bundle made after the plain one started waits for later)
    if (terminated || winner !== undefined || candidates.some((c) => c.start.bundled === from.bundled)) return
    if (from.bundled && candidates.length > 0) return
    const c: Candidate = { start: from, handle: undefined, alive: true, loaded: !from.bundled, exit: undefined }
    candidates.push(c)
    const onExit = (exit: ThreadExit): void => {
      c.alive = false
      c.exit = exit
      if (winner === c) return report(exit)
      if (winner !== undefined) return
      if (c.start.bundled) launch(plan.plain) // none when a plain one runs already, or the pool terminated
      else for (const other of candidates) other.handle?.terminate() // the entry as it is failed: that is the start's
      settle(exit)
    }
    try {
      c.handle = plan.attach(from, {
        onBatch: (batch) => {
          if (batch === LOADED) {
            c.loaded = true
            return
          }
          if (winner === undefined && !terminated) win(c)
          if (winner === c) events.onBatch(batch)
        },
        onExit
      })
    } catch (error) {
      onExit({ error })
    }
  }

  if (Number.isFinite(plan.budget)) {
    timer = setTimeout(() => {
      timer = undefined
      const bundled = bundledOf()
      if (bundled === undefined || !bundled.loaded) launch(plan.plain)
    }, plan.budget)
  }
  if (start instanceof Promise) start.then(launch, () => launch(plan.plain))
  else launch(start)

  return {
    post: (batch, transfer) => {
      if (held !== undefined) held.push([checked(batch, transfer), transfer])
      else winner?.handle?.post(batch, transfer)
    },
    terminate: () => {
      if (terminated) return
      terminated = true
      if (timer !== undefined) clearTimeout(timer)
      if (winner !== undefined) return winner.handle?.terminate()
      held = []
      const alive = candidates.filter((c) => c.alive)
      for (const c of alive) c.handle?.terminate()
      if (alive.length === 0) report({ terminated: true }) // the bundle still in the making: nothing to wait for
    }
  }
}
