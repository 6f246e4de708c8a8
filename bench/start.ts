/**
 * A thread's start, measured from the main thread: spawn a `Worker` on an entry that speaks the runner's protocol,
 * and time its `online` event (the thread runs JavaScript), its first message (`[[READY]]`: the entry has loaded)
 * and the answer to one `AddOne` request posted on READY. The thread is then closed and awaited to its exit (a
 * natural exit, so that Node's compile cache, when the thread has one, is written).
 *
 * Used by `bench/run.ts` (figure G: our thread's start against an empty thread's) and by `bench/startup.ts` (the
 * breakdown).
 */
import { Worker } from "node:worker_threads"

/** Milliseconds since `new Worker(...)`. */
export interface Start {
  readonly online: number
  readonly ready: number
  readonly answer: number
}

export const entries = {
  /** Speaks the protocol, imports nothing: the baseline. */
  empty: new URL("./workers/empty.ts", import.meta.url),
  /** `NodeThreadRunner.serve([])`. */
  runner: new URL("./workers/runner.ts", import.meta.url),
  /** The bench's worker entry: the runner and two tasks declared with `Task.make` and `Schema.Number`. */
  ours: new URL("./workers/ours.ts", import.meta.url)
} as const

/** The empty thread as a script evaluated in the thread: no file, no module loader, no type stripping. */
export const emptyScript = `const { parentPort: port } = require("node:worker_threads")
port.on("message", (batch) => {
  for (const m of batch) {
    if (m[0] === 0) port.postMessage([[0, m[1], 0, m[3] + 1]])
    else if (m[0] === 4) port.close()
  }
})
port.postMessage([[2]])`

/** The environment of a thread: the process's, with Node's compile cache in `compileCache` or none at all. */
const envWith = (compileCache: string | undefined): Record<string, string | undefined> => {
  const { NODE_COMPILE_CACHE: _, ...env } = process.env
  return compileCache === undefined ? env : { ...env, NODE_COMPILE_CACHE: compileCache }
}

const timeoutMs = 60_000

/** Starts a thread on `entry` (a file, or a script when `options.eval`), then closes it: its {@link Start}. */
export const startThread = (
  entry: URL | string,
  options?: { readonly compileCache?: string | undefined; readonly eval?: boolean | undefined }
): Promise<Start> =>
  new Promise((resolve, reject) => {
    const name = typeof entry === "string" ? "a script" : entry.pathname
    const spawned = performance.now()
    const worker = new Worker(entry, { env: envWith(options?.compileCache), eval: options?.eval === true })
    let online = NaN
    let ready = NaN
    let answer = NaN
    const timer = setTimeout(() => {
      void worker.terminate()
      reject(new Error(`${name}: no answer within ${timeoutMs} ms`))
    }, timeoutMs)
    worker.once("online", () => {
      online = performance.now() - spawned
    })
    worker.on("message", (batch: ReadonlyArray<ReadonlyArray<unknown>>) => {
      if (Number.isNaN(ready)) {
        ready = performance.now() - spawned
        if (batch[0]?.[0] !== 2) reject(new Error(`${name}: the first message is not READY`))
        worker.postMessage([[0, 1, "AddOne", 1]])
      } else if (Number.isNaN(answer)) {
        answer = performance.now() - spawned
        worker.postMessage([[4]])
      }
    })
    worker.once("error", (error) => {
      clearTimeout(timer)
      reject(error)
    })
    worker.once("exit", () => {
      clearTimeout(timer)
      if (Number.isNaN(answer)) reject(new Error(`${name}: the thread exited before it answered`))
      else resolve({ online, ready, answer })
    })
  })

/** Times `specifiers`' dynamic imports one after the other in a fresh thread: what each adds, in ms. */
export const importTimes = (
  specifiers: ReadonlyArray<string>,
  options?: { readonly compileCache?: string | undefined }
): Promise<ReadonlyArray<number>> =>
  new Promise((resolve, reject) => {
    const worker = new Worker(new URL("./workers/imports.ts", import.meta.url), {
      workerData: specifiers,
      env: envWith(options?.compileCache)
    })
    let times: ReadonlyArray<number> | undefined
    worker.once("message", (message: ReadonlyArray<number>) => {
      times = message
    })
    worker.once("error", reject)
    worker.once("exit", () => times === undefined ? reject(new Error("imports.ts posted nothing")) : resolve(times))
  })

/** One sample of figure G: an empty thread and ours (no compile cache), spawn to first answer, in `order`. */
export interface GSample {
  readonly emptyMs: number
  readonly oursMs: number
}

export const sample = async (emptyFirst: boolean): Promise<GSample> => {
  const empty = emptyFirst ? await startThread(entries.empty) : undefined
  const ours = await startThread(entries.ours)
  const emptyAfter = emptyFirst ? empty! : await startThread(entries.empty)
  return { emptyMs: emptyAfter.answer, oursMs: ours.answer }
}
