/**
 * What the cache remembers of a bundle that kept a thread from starting (where the entry as it is started):
 * `<stem>.verdict.json` beside the entry's manifest, naming the bundle it judged, how many times it failed in a row
 * and when it last did. The entry starts as it is while the verdict holds: an hour after a first failure, then four
 * times longer after each failure in a row (at most a week); then one process tries the bundle again, and a thread
 * of it that becomes ready removes the verdict. A transient failure (a thread killed before it was ready, a flaky
 * dependency) so costs an hour of plain starts, not the bundle for good, and a bundle that keeps failing is tried
 * seldom, each try costing one thread's start.
 *
 * @internal
 */
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Path from "node:path"

/** One judged bundle. */
export interface Verdict {
  /** The bundle's base name (its content's hash in it): a new bundle is not judged by an old verdict. */
  readonly bundle: string
  /** Failures in a row. */
  readonly count: number
  /** When the last failure was (ms since the epoch). */
  readonly at: number
  readonly reason: string
}

const HOUR = 3_600_000

/** How long a verdict holds after its `count`th failure in a row: 1 hour, 4, 16, ... at most a week. */
export const holdsFor = (count: number): number => Math.min(HOUR * 4 ** Math.max(0, count - 1), 168 * HOUR)

/** Whether `verdict` (of `bundle`) still holds at `now`. */
export const holds = (verdict: Verdict, now: number): boolean => now < verdict.at + holdsFor(verdict.count)

const fileOf = (dir: string, stem: string): string => Path.join(dir, `${stem}.verdict.json`)

/** The verdict on `bundle` in `dir`, if there is one (a verdict on another bundle is none). */
export const read = (dir: string, stem: string, bundle: string): Verdict | undefined => {
  try {
    const verdict = JSON.parse(Fs.readFileSync(fileOf(dir, stem), "utf8")) as Partial<Verdict>
    return verdict.bundle === bundle && typeof verdict.count === "number" && typeof verdict.at === "number"
      ? verdict as Verdict
      : undefined
  } catch {
    return undefined
  }
}

/** Writes a verdict (through a temporary file and a rename: a process reading it never sees half of it). */
export const write = (dir: string, stem: string, verdict: Verdict): void => {
  const file = fileOf(dir, stem)
  const tmp = `${file}.${process.pid}.${Crypto.randomBytes(4).toString("hex")}.tmp`
  try {
    Fs.writeFileSync(tmp, JSON.stringify(verdict))
    Fs.renameSync(tmp, file)
  } catch (error) {
    Fs.rmSync(tmp, { force: true })
    throw error
  }
}

/** Removes the verdict on `bundle`, if that is what `dir` holds (a thread of it became ready). */
export const clear = (dir: string, stem: string, bundle: string): void => {
  if (read(dir, stem, bundle) !== undefined) remove(dir, stem)
}

/** Removes whatever verdict `dir` holds on the entry (a bundle was made again: it is judged afresh). Never throws. */
export const remove = (dir: string, stem: string): void => {
  try {
    Fs.rmSync(fileOf(dir, stem), { force: true })
  } catch {
    // not writable: it stays, and holds until it expires
  }
}
