/**
 * How many elements the next batch of a bulk call (`bulk.ts`) holds, adapted to the measured time per element: each
 * batch should run for about {@link targetMillis} in its thread, long enough that a batch's round trip costs little
 * beside it, short enough that no thread idles long while another still runs a batch at the end. Until a batch has
 * answered, batches hold one element (a task that takes seconds is never sent ten at a time to one thread). Near the
 * end, a batch holds at most a share of what is left (guided self-scheduling: `remaining / (2 * threads)`), so the
 * last batches are small and the threads finish together, but no fewer elements than run for a sixteenth of the
 * target (a tail of tiny elements ends in a few batches, not in dozens of round trips). A `batchSize` option fixes the size instead.
 *
 * @internal
 */

/** How long a batch should run in its thread, in milliseconds. */
export const targetMillis = 10

/**
 * The longest a batch may be expected to run to be sent ahead to a busy thread (`placing.ts`): there the round trip it
 * saves matters beside its run, and a thread that it keeps waiting at the end of a call waits at most this long (a
 * thread busy with synchronous work cannot give it back before it starts it).
 */
export const aheadMillis = targetMillis / 4

/** The most elements in one batch. */
export const maxBatch = 65_536

/** A bulk call's batch sizes. */
export interface Sizer {
  /** Threads the call's batches spread over. */
  readonly threads: number
  /** A fixed size (`batchSize`), or `undefined` to adapt. */
  readonly fixed: number | undefined
  /** Elements answered, and the thread time they took, in milliseconds (halved as they grow: recent ones count). */
  elements: number
  millis: number
}

/** A sizer for `threads` threads, with a fixed size (a positive integer, checked by the call) if the call gave one. */
export const make = (threads: number, fixed: number | undefined): Sizer => ({
  threads: Math.max(1, threads),
  fixed,
  elements: 0,
  millis: 0
})

/** The size of the next batch, when `remaining` elements are known to be left (`Infinity` for an open stream). */
export const next = (self: Sizer, remaining: number): number => {
  if (self.fixed !== undefined) return Math.max(1, Math.min(self.fixed, remaining))
  if (self.elements === 0) return 1
  const perElement = self.millis / self.elements
  const wanted = perElement <= 0 ? maxBatch : Math.floor(targetMillis / perElement)
  // The tail's share, but not below a batch of a sixteenth of the target: tiny elements end in a few batches.
  const share = Math.max(Math.ceil(remaining / (2 * self.threads)), Math.floor(wanted / 16))
  return Math.max(1, Math.min(wanted, share, maxBatch, remaining))
}

/**
 * Whether a batch of `elements` may be sent ahead: expected to run at most {@link aheadMillis}, or nothing measured yet
 * (the first batches, of one element each).
 */
export const isShort = (self: Sizer, elements: number): boolean =>
  self.elements === 0 || elements * (self.millis / self.elements) <= aheadMillis

/** A batch of `elements` answered, having run for `millis` in its thread. */
export const observe = (self: Sizer, elements: number, millis: number): void => {
  if (elements === 0 || !(millis >= 0)) return
  self.elements += elements
  self.millis += millis
  if (self.elements > 1_000_000) {
    self.elements /= 2
    self.millis /= 2
  }
}
