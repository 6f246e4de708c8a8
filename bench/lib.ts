/**
 * The helpers the bench's scripts share, written once: the median, the rotation of the order from round to round,
 * a command line's flags, the pool named on a child's command line, and a child process run for its JSON lines.
 * Used by `run.ts`, `curves.ts`, `runtimes.ts`, `startup.ts`, `profile.ts`, `child.ts` and `curves-child.ts`.
 */
import { execFile, type ExecFileException } from "node:child_process"
import { type PoolName, poolNames } from "./pools/Pool.ts"

/** The median of the finite values (the mean of the middle two for an even count); NaN when there is none. */
export const median = (values: ReadonlyArray<number>): number => {
  const sorted = values.filter(Number.isFinite).toSorted((a, b) => a - b)
  if (sorted.length === 0) return NaN
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** `items` rotated left by `by`: round `r` runs the pools in the order `rotate(poolNames, r)`. */
export const rotate = <A>(items: ReadonlyArray<A>, by: number): Array<A> =>
  items.map((_, i) => items[(i + by) % items.length]!)

/** The value after flag `name` on the command line `args` (`--samples 5`), or undefined when it is not there. */
export const flag = (args: ReadonlyArray<string>, name: string): string | undefined => {
  const at = args.indexOf(name)
  return at >= 0 ? args[at + 1] : undefined
}

/** Whether `s` names one of the pools compared (a child's command line names its pool). */
export const isPoolName = (s: string | undefined): s is PoolName => poolNames.some((n) => n === s)

/** What a child process left: the lines of its stdout that are JSON objects (unparsed), and how it ended. */
export interface ChildRun {
  readonly lines: ReadonlyArray<string>
  readonly error: ExecFileException | null
  readonly stderr: string
}

/**
 * Runs `command` (a binary and its arguments) to its end, or kills it with SIGKILL after `timeoutMs`; resolves with
 * the lines its stdout printed that start with `{` (a result line counts even if the process then fails to exit in
 * time), never rejects.
 */
export const runChild = (
  command: readonly [string, ...ReadonlyArray<string>],
  options: { readonly timeoutMs: number; readonly env?: NodeJS.ProcessEnv }
): Promise<ChildRun> =>
  new Promise((resolve) => {
    const [binary, ...args] = command
    execFile(
      binary,
      args,
      { timeout: options.timeoutMs, killSignal: "SIGKILL", maxBuffer: 1 << 20, env: options.env },
      (error, stdout, stderr) => resolve({ lines: stdout.split("\n").filter((l) => l.startsWith("{")), error, stderr })
    )
  })
