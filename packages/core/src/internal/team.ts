/**
 * Twisted's Team algorithm (spec 1.8), written once, as synchronous transitions over one state record. Two shells
 * run it: the public `Team` (each transition a step of an exclusive coordinator worker, Effect work) and the
 * pool's synchronous section (threads and tickets). Neither does bookkeeping of its own.
 *
 * What a transition decides is done through the shell's hooks, in the order Twisted does it: `dispatch` gives a
 * worker a task, `quitWorker` quits a worker, `quitCoordinator` ends the team. Creating a worker is the shell's:
 * a task first tries an idle worker ({@link placeIdle}); only if there is none does the shell create one, and then
 * {@link placeCreated} gives the task the new worker, or a worker with room, or the backlog.
 *
 * The subtleties kept: a new task takes an idle worker or a new one before the backlog is looked at; a worker that
 * finishes takes the oldest backlogged task; `shrink` quits idle workers now and leaves a debt that busy workers pay
 * as they finish; after `quit` the backlog drains through the workers that exist, and the coordinator quits once,
 * when the last busy worker has finished. Beyond Twisted: a capacity of tasks per worker (pipelining), the most
 * recently idled worker reused first, `releaseIdle`, backlogged tasks taken out when their caller goes
 * ({@link cancel}), workers that die ({@link remove}), and a task sent ahead to a busy worker ({@link placeAhead}: a
 * bulk call's next batch, which takes the worker's place when its current task finishes; nothing else uses it, so a
 * team whose shell never calls it is Twisted's).
 *
 * @internal
 */
import * as Backlog from "./backlog.ts"

/** What the shell does with the transitions' decisions. */
export interface Hooks<W, T> {
  /** Gives `task` to `worker`. The worker reports the end with {@link finish}. */
  readonly dispatch: (worker: W, task: T) => void
  /** Quits `worker`: it gets no more work. */
  readonly quitWorker: (worker: W) => void
  /** The team has quit and its last busy worker has finished. */
  readonly quitCoordinator: () => void
  /** The time, in milliseconds, for `releaseIdle`. */
  readonly now: () => number
  /**
   * Beyond Twisted: work reserved for `worker` (pinned to it: a key's lane, a broadcast), which it takes before the
   * backlog whenever it has room.
   */
  readonly reserved?: ((worker: W) => T | undefined) | undefined
}

/** The team's bookkeeping. Touched only by the functions below. */
export interface Team<W, T> {
  readonly hooks: Hooks<W, T>
  /** How many tasks a worker may hold; 1 is Twisted's Team. */
  readonly capacity: number
  /** Idle workers, a stack: the top was idled last, the bottom has been idle longest. */
  readonly idle: Array<W>
  readonly idleSince: Map<W, number>
  /** How many tasks each busy worker holds. */
  readonly load: Map<W, number>
  /** Busy workers with room left (only when `capacity` is above 1). */
  readonly partial: Array<W>
  /** Busy workers holding a task sent ahead ({@link placeAhead}), beyond their load. */
  readonly ahead: Set<W>
  readonly backlog: Backlog.Backlog<T>
  busy: number
  /** Workers still to quit as they finish: the shrink debt. */
  toShrink: number
  /** Twisted's `_shouldQuitCoordinator`, apart from the public quit flag (#2673). */
  shouldQuitCoordinator: boolean
}

/** A team's statistics, read straight off its state. */
export interface Statistics {
  readonly idleWorkerCount: number
  readonly busyWorkerCount: number
  readonly backloggedWorkCount: number
}

/** A team with no workers. */
export const make = <W, T>(hooks: Hooks<W, T>, capacity = 1): Team<W, T> => ({
  hooks,
  capacity: Math.max(1, capacity),
  idle: [],
  idleSince: new Map(),
  load: new Map(),
  partial: [],
  ahead: new Set(),
  backlog: Backlog.make(),
  busy: 0,
  toShrink: 0,
  shouldQuitCoordinator: false
})

/** The statistics. */
export const statistics = <W, T>(self: Team<W, T>): Statistics => ({
  idleWorkerCount: self.idle.length,
  busyWorkerCount: self.busy,
  backloggedWorkCount: self.backlog.length
})

/** How many workers exist (idle and busy). */
export const size = <W, T>(self: Team<W, T>): number => self.idle.length + self.busy

/** What `worker` takes next: its reserved work, else the backlog's oldest task of the highest priority. */
const nextFor = <W, T>(self: Team<W, T>, worker: W): T | undefined => {
  const reserved = self.hooks.reserved?.(worker)
  if (reserved !== undefined) return reserved
  return Backlog.take(self.backlog)?.value
}

/** Gives `task` to `worker`, then, while the worker has room, its reserved work and the oldest backlogged tasks. */
const dispatch = <W, T>(self: Team<W, T>, worker: W, task: T): void => {
  let next: T = task
  for (;;) {
    const held = (self.load.get(worker) ?? 0) + 1
    self.load.set(worker, held)
    if (held === 1) self.busy += 1
    self.hooks.dispatch(worker, next)
    if (held >= self.capacity) return
    const more = nextFor(self, worker)
    if (more === undefined) {
      self.partial.push(worker)
      return
    }
    next = more
  }
}

/**
 * Beyond Twisted: gives `task` to this very `worker` if it is idle or has room; otherwise gives `false` (the shell
 * reserves the task for it, and the worker takes it before the backlog).
 */
export const placeOn = <W, T>(self: Team<W, T>, worker: W, task: T): boolean => {
  const at = self.idle.lastIndexOf(worker)
  if (at >= 0) {
    self.idle.splice(at, 1)
    self.idleSince.delete(worker)
    dispatch(self, worker, task)
    return true
  }
  const held = self.load.get(worker)
  if (held === undefined || held >= self.capacity) return false
  const room = self.partial.indexOf(worker)
  if (room >= 0) self.partial.splice(room, 1)
  dispatch(self, worker, task)
  return true
}

/**
 * Beyond Twisted: gives `task` to this `worker` ahead of time, if it is busy with no room and holds no task sent
 * ahead already; otherwise gives `false`. The worker runs it after what it holds: when one of its tasks finishes
 * ({@link finish}), this task takes that place, so the worker stays busy with the same load and takes nothing from the
 * backlog meanwhile.
 */
export const placeAhead = <W, T>(self: Team<W, T>, worker: W, task: T): boolean => {
  const held = self.load.get(worker)
  if (held === undefined || held < self.capacity || self.ahead.has(worker)) return false
  self.ahead.add(worker)
  self.hooks.dispatch(worker, task)
  return true
}

/** Gives `task` the most recently idled worker, if there is one. */
export const placeIdle = <W, T>(self: Team<W, T>, task: T): boolean => {
  const worker = self.idle.pop()
  if (worker === undefined) return false
  self.idleSince.delete(worker)
  dispatch(self, worker, task)
  return true
}

/**
 * After {@link placeIdle} found no idle worker and the shell tried to create one: gives `task` the new worker, or
 * a busy worker with room (in turn, so they fill evenly), or the backlog (at `priority`), whose node it returns.
 */
export const placeCreated = <W, T>(
  self: Team<W, T>,
  task: T,
  created: W | undefined,
  priority = 0
): Backlog.Node<T> | undefined => {
  if (created !== undefined) {
    dispatch(self, created, task)
    return undefined
  }
  const worker = self.partial.shift()
  if (worker !== undefined) {
    dispatch(self, worker, task)
    return undefined
  }
  return Backlog.append(self.backlog, task, priority)
}

/** Takes a backlogged task out (its caller went away). */
export const cancel = <W, T>(self: Team<W, T>, node: Backlog.Node<T>): void => Backlog.remove(self.backlog, node)

/** A worker is idle: the backlog first, then the quit flag, then the shrink debt. */
const recycle = <W, T>(self: Team<W, T>, worker: W): void => {
  self.idle.push(worker)
  self.idleSince.set(worker, self.hooks.now())
  const next = nextFor(self, worker)
  if (next !== undefined) {
    placeIdle(self, next)
    return
  }
  if (self.shouldQuitCoordinator) {
    quitIdlers(self, undefined)
    return
  }
  if (self.toShrink > 0) {
    self.toShrink -= 1
    self.idle.pop()
    self.idleSince.delete(worker)
    self.hooks.quitWorker(worker)
  }
}

/** A worker finished one of its tasks: Twisted's completion notice. */
export const finish = <W, T>(self: Team<W, T>, worker: W): void => {
  // The task sent ahead takes the finished one's place: the worker's load and room are as they were.
  if (self.ahead.delete(worker)) return
  const held = (self.load.get(worker) ?? 1) - 1
  if (self.capacity > 1) {
    const at = self.partial.indexOf(worker)
    if (at >= 0) self.partial.splice(at, 1)
  }
  if (held === 0) {
    self.load.delete(worker)
    self.busy -= 1
    recycle(self, worker)
    return
  }
  // Still busy, with room again: its reserved work or the oldest backlogged task, if any, goes to it.
  self.load.set(worker, held)
  const next = nextFor(self, worker)
  if (next !== undefined) dispatch(self, worker, next)
  else self.partial.push(worker)
}

/** A new worker joins, idle (`grow`): it takes the backlog's oldest task, or waits. */
export const add = <W, T>(self: Team<W, T>, worker: W): void => recycle(self, worker)

/** Quits `n` workers (all by default): idle ones now, the rest as a debt that busy ones pay as they finish. */
export const quitIdlers = <W, T>(self: Team<W, T>, n: number | undefined): void => {
  const requested = n ?? self.idle.length + self.busy
  const count = requested > 0 ? Math.ceil(requested) : 0
  const fromIdle = Math.min(count, self.idle.length)
  const quitting = self.idle.splice(self.idle.length - fromIdle, fromIdle).reverse()
  for (const worker of quitting) self.idleSince.delete(worker)
  self.toShrink += count - fromIdle
  for (const worker of quitting) self.hooks.quitWorker(worker)
  if (self.shouldQuitCoordinator && self.busy === 0) self.hooks.quitCoordinator()
}

/** The team quits: idle workers now, busy ones as they finish, once the backlog has drained. */
export const quit = <W, T>(self: Team<W, T>): void => {
  self.shouldQuitCoordinator = true
  quitIdlers(self, undefined)
}

/**
 * Quits up to `max` workers idle for at least `idleFor` milliseconds, the longest idle first, keeping at least
 * `keep` workers. Gives how many it quit.
 */
export const releaseIdle = <W, T>(
  self: Team<W, T>,
  options: { readonly idleFor: number; readonly max: number; readonly keep: number }
): number => {
  const cutoff = self.hooks.now() - options.idleFor
  const allowed = Math.min(options.max, self.idle.length + self.busy - options.keep)
  const quitting: Array<W> = []
  while (quitting.length < allowed) {
    const oldest = self.idle[0]
    if (oldest === undefined || (self.idleSince.get(oldest) ?? Infinity) > cutoff) break
    self.idle.shift()
    self.idleSince.delete(oldest)
    quitting.push(oldest)
  }
  for (const worker of quitting) self.hooks.quitWorker(worker)
  return quitting.length
}

/**
 * Beyond Twisted: a worker is gone without finishing (its thread died). It leaves the idle stack or the busy count,
 * with whatever it held; the shell settles those tasks. Gives whether it was busy.
 */
export const remove = <W, T>(self: Team<W, T>, worker: W): boolean => {
  const at = self.idle.lastIndexOf(worker)
  if (at >= 0) {
    self.idle.splice(at, 1)
    self.idleSince.delete(worker)
    return false
  }
  if (!self.load.has(worker)) return false
  self.load.delete(worker)
  self.ahead.delete(worker)
  self.busy -= 1
  const inPartial = self.partial.indexOf(worker)
  if (inPartial >= 0) self.partial.splice(inPartial, 1)
  if (self.shouldQuitCoordinator && self.busy === 0) self.hooks.quitCoordinator()
  return true
}
