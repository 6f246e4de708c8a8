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

/** One thread made of up to two `Worker`s (see the module's doc). */
class Race implements ThreadHandle {
  readonly candidates: Array<Candidate> = []
  held: Array<readonly [unknown, ReadonlyArray<unknown>]> | undefined = []
  winner: Candidate | undefined = undefined
  terminated = false
  reported = false
  failure: unknown = undefined
  timer: ReturnType<typeof setTimeout> | undefined = undefined
  readonly plan: Plan
  readonly events: ThreadEvents

  constructor(plan: Plan, events: ThreadEvents) {
    this.plan = plan
    this.events = events
  }

  readonly post = (batch: unknown, transfer: ReadonlyArray<unknown>): void => {
    if (this.held !== undefined) this.held.push([checked(batch, transfer), transfer])
    else this.winner?.handle?.post(batch, transfer)
  }

  readonly terminate = (): void => {
    if (this.terminated) return
    this.terminated = true
    this.stopTimer()
    if (this.winner !== undefined) return this.winner.handle?.terminate()
    this.held = []
    const alive = this.candidates.filter((c) => c.alive)
    for (const c of alive) c.handle?.terminate()
    if (alive.length === 0) this.report({ terminated: true }) // the bundle still in the making: nothing to wait for
  }

  /** A plain `Worker` beside the bundled one, after the budget, if that one has not loaded (or is not made yet). */
  startTimer(): void {
    if (!Number.isFinite(this.plan.budget)) return
    this.timer = setTimeout(() => {
      this.timer = undefined
      const bundled = this.bundled()
      if (bundled === undefined || !bundled.loaded) this.launch(this.plan.plain)
    }, this.plan.budget)
  }

  stopTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
  }

  bundled(): Candidate | undefined {
    return this.candidates.find((c) => c.start.bundled)
  }

  report(exit: ThreadExit): void {
    if (this.reported) return
    this.reported = true
    this.stopTimer()
    const failure = this.failure
    queueMicrotask(() => this.events.onExit(failure === undefined ? exit : { ...exit, error: exit.error ?? failure }))
  }

  /** Makes a `Worker`: one of each kind at most, the bundled one first (a bundle made after the plain one: unused). */
  launch(from: Start): void {
    if (this.terminated || this.winner !== undefined) return
    if (this.candidates.some((c) => c.start.bundled === from.bundled || from.bundled)) return
    const c: Candidate = { start: from, handle: undefined, alive: true, loaded: !from.bundled, exit: undefined }
    this.candidates.push(c)
    try {
      c.handle = this.plan.attach(from, {
        onBatch: (batch) => {
          if (batch === LOADED) {
            c.loaded = true
            return
          }
          if (this.winner === undefined && !this.terminated) this.win(c)
          if (this.winner === c) this.events.onBatch(batch)
        },
        onExit: (exit) => this.exited(c, exit)
      })
    } catch (error) {
      this.exited(c, { error })
    }
  }

  /** `c` said it is ready first: it is the thread; the bundle is judged; what waited is posted to it. */
  win(c: Candidate): void {
    this.winner = c
    this.stopTimer()
    for (const other of this.candidates) {
      if (other === c || !other.alive) continue
      if (!c.start.bundled && !other.loaded) {
        this.plan.blame(other.start, `its bundle did not load within ${Math.round(this.plan.budget)} ms`)
      }
      other.handle?.terminate()
    }
    const bundled = this.bundled()
    if (c.start.bundled) this.plan.proven(c.start)
    else if (bundled?.exit !== undefined && bundled.exit.terminated !== true) {
      this.plan.blame(bundled.start, bundled.exit.error ?? `exit code ${bundled.exit.exitCode}`)
    }
    const batches = this.held ?? []
    this.held = undefined
    for (const [batch, transfer] of batches) {
      try {
        c.handle!.post(batch, transfer)
      } catch (error) {
        this.failure = error
        c.handle!.terminate()
        return
      }
    }
  }

  /**
   * `c` ended. The thread's, if it was the thread; before any was ready: a bundled one is replaced by a plain one
   * (unless one runs already), a plain one's end is the start's (the entry as it is failed), once none is left.
   */
  exited(c: Candidate, exit: ThreadExit): void {
    c.alive = false
    c.exit = exit
    if (this.winner === c) return this.report(exit)
    if (this.winner !== undefined) return
    if (c.start.bundled) this.launch(this.plan.plain)
    else for (const other of this.candidates) other.handle?.terminate()
    if (this.candidates.some((other) => other.alive)) return
    const last = this.candidates.find((other) => !other.start.bundled)?.exit ?? exit
    this.report(this.terminated ? { ...last, terminated: true } : last)
  }
}

/** Starts a thread from `start` (a bundle, made or in the making), with the plain entry behind it. */
export const start = (start: Start | Promise<Start>, plan: Plan, events: ThreadEvents): ThreadHandle => {
  const race = new Race(plan, events)
  race.startTimer()
  if (start instanceof Promise) start.then((ready) => race.launch(ready), () => race.launch(plan.plain))
  else race.launch(start)
  return race
}
