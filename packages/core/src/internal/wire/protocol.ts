/**
 * The messages between the main thread and a task thread: plain tuples with numeric tags (cheap to structured-clone,
 * no string keys to copy), travelling in batches, one `postMessage` per thread per turn, both ways. The thread's
 * first batch is `[[READY]]`; after `[[CLOSE]]` it stops listening and ends.
 *
 * @internal
 */
import * as Describe from "../describe.ts"

/**
 * Runs `f` once the current turn's synchronous work is done: where messages of one turn are gathered into one.
 * (`queueMicrotask` exists on every platform this runs on; the core's types include no platform's globals.)
 */
export const queueMicrotask: (f: () => void) => void = (globalThis as unknown as {
  readonly queueMicrotask: (f: () => void) => void
}).queueMicrotask.bind(globalThis)

/** Main to thread: run task `tag` with `payload` as request `id`. */
export const RUN = 0
/** Main to thread: interrupt request `id`. */
export const INTERRUPT = 1
/** Main to thread: the answer to the thread's call `id` to the main thread. */
export const REPLY = 2
/** Main to thread: give request `id` back if it has not started (it goes to a thread that is free). */
export const RECALL = 3
/** Main to thread: stop listening and end (the thread is retired; it holds no work). */
export const CLOSE = 4
/** Main to thread: from now on, end each batch with the thread's heap in use (`HEAP`), for recycling. */
export const WATCH_HEAP = 5
/** Main to thread: the caller of streaming request `id` can take `n` more elements (credit: backpressure). */
export const PULL = 6

/** Thread to main: request `id` ended. */
export const RESULT = 0
/** Thread to main: call main-thread task `tag` with `payload` as call `id`. */
export const CALL = 1
/** Thread to main: the entry has loaded and the runner listens: the thread may be given work. */
export const READY = 2
/** Thread to main: the thread's heap in use, in bytes, after the answers of its batch (asked by `WATCH_HEAP`). */
export const HEAP = 3
/** Thread to main: elements of streaming request `id`, encoded, within the credit the caller gave. */
export const CHUNK = 4

/** How a request ended. */
export const SUCCESS = 0
export const FAILURE = 1
export const DEFECT = 2
export const INTERRUPTED = 3
export const NOT_IMPLEMENTED = 4
/** Not an end: the thread gave the request back unstarted, after a RECALL. */
export const RECALLED = 5
/**
 * The task ended, but its success or typed failure cannot reach the other side: it does not match the task's
 * schema, or it cannot be cloned. Carries where (`$.a.b[1]`) and what.
 */
export const INVALID_RESULT = 6
/**
 * The thread could not decode the payload with the task's schema (a payload passed on encoded, by a relay such as
 * the cluster's runner, or a task declared differently on each side). Carries where and what, as `INVALID_RESULT`.
 */
export const INVALID_PAYLOAD = 7

/** @internal */
export type Outcome =
  | readonly [kind: typeof SUCCESS, value: unknown]
  | readonly [kind: typeof FAILURE, error: unknown]
  | readonly [kind: typeof DEFECT, defect: unknown]
  | readonly [kind: typeof INTERRUPTED]
  | readonly [kind: typeof NOT_IMPLEMENTED]
  | readonly [kind: typeof INVALID_RESULT, path: string, message: string]
  | readonly [kind: typeof INVALID_PAYLOAD, path: string, message: string]

/** What a thread answers to a request: how it ended, or that it was given back. */
export type Answer = Outcome | readonly [kind: typeof RECALLED]

/** @internal */
export type Run = readonly [typeof RUN, id: number, tag: string, payload: unknown, trace?: Trace]

/** The caller's span, for the thread's span to be its child: trace id, span id, sampled. */
export type Trace = readonly [traceId: string, spanId: string, sampled: boolean]

/** @internal */
export type ToThread =
  | Run
  | readonly [typeof INTERRUPT, id: number]
  | readonly [typeof RECALL, id: number]
  | readonly [typeof REPLY, id: number, ...Outcome]
  | readonly [typeof CLOSE]
  | readonly [typeof WATCH_HEAP]
  | readonly [typeof PULL, id: number, n: number]

/** @internal */
export type FromThread =
  | readonly [typeof RESULT, id: number, ...Answer]
  | readonly [typeof CALL, id: number, tag: string, payload: unknown]
  | readonly [typeof READY]
  | readonly [typeof HEAP, bytes: number]
  | readonly [typeof CHUNK, id: number, elements: ReadonlyArray<unknown>]

/** What is posted: messages travel in batches, one `postMessage` for all the messages of one turn. */
export type ToThreadBatch = ReadonlyArray<ToThread>

/** What is posted back. */
export type FromThreadBatch = ReadonlyArray<FromThread>

/** A defect as it crosses: an `Error` loses its prototype in a structured clone, so its parts are sent. */
export interface WireDefect {
  readonly name: string
  readonly message: string
  readonly stack: string | undefined
}

const isWireDefect = (u: unknown): u is WireDefect =>
  typeof u === "object" && u !== null && "name" in u && "message" in u && typeof u.message === "string"

/** Turns a defect into something that survives a structured clone. */
export const encodeDefect = (defect: unknown): unknown => {
  try {
    if (defect instanceof Error) {
      return { name: defect.name, message: defect.message, stack: defect.stack } satisfies WireDefect
    }
    return findUncloneable(defect) === undefined ? defect : Describe.describe(defect)
  } catch {
    // Reading it threw (a getter, a proxy's trap): its description goes instead, which never throws.
    return Describe.describe(defect)
  }
}

/** Rebuilds a defect that crossed: an `Error` again where one was sent. */
export const decodeDefect = (wire: unknown): unknown => {
  if (!isWireDefect(wire)) return wire
  const error = new Error(wire.message)
  error.name = wire.name
  if (wire.stack !== undefined) error.stack = wire.stack
  return error
}

/**
 * Whether a value certainly survives a structured clone without a look inside: a primitive other than a symbol.
 */
export const isPrimitive = (value: unknown): boolean =>
  value === null || (typeof value !== "object" && typeof value !== "function" && typeof value !== "symbol")

/** One step of a path: `.a` for a key that is an identifier, `[1]` for an index, `["a key"]` for any other key. */
export const pathSegment = (key: PropertyKey): string => {
  if (typeof key === "number") return `[${key}]`
  if (typeof key === "string" && /^[A-Za-z_$][\w$]*$/.test(key)) return `.${key}`
  return `[${typeof key === "string" ? JSON.stringify(key) : String(key)}]`
}

/**
 * Finds the first value that the structured clone algorithm rejects (a function or a symbol), and returns its path
 * (`$` for the root, `$.a[2].b` below it), or `undefined` if there is none. Only run after a clone has failed, to
 * say where.
 */
export const findUncloneable = (value: unknown): string | undefined => {
  const seen = new Set<object>()
  // Gives the path from `v` down to the first value that cannot be cloned ("" for `v` itself), or `undefined`: a
  // path is written only on the way back up from a find, so a walk that finds nothing writes none.
  const visit = (v: unknown): string | undefined => {
    if (typeof v === "function" || typeof v === "symbol") return ""
    if (typeof v !== "object" || v === null || seen.has(v)) return undefined
    seen.add(v)
    if (v instanceof WeakMap || v instanceof WeakSet || v instanceof Promise) return ""
    if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer || v instanceof Date || v instanceof RegExp) {
      return undefined
    }
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const found = visit(v[i])
        if (found !== undefined) return pathSegment(i) + found
      }
      return undefined
    }
    if (v instanceof Map) {
      for (const [key, item] of v) {
        const inKey = visit(key)
        if (inKey !== undefined) return `.<key>${inKey}`
        const inItem = visit(item)
        if (inItem !== undefined) return `.get(${Describe.describe(key)})${inItem}`
      }
      return undefined
    }
    if (v instanceof Set) {
      for (const item of v) {
        const found = visit(item)
        if (found !== undefined) return `.<item>${found}`
      }
      return undefined
    }
    for (const key of Object.keys(v)) {
      const found = visit((v as Record<string, unknown>)[key])
      if (found !== undefined) return pathSegment(key) + found
    }
    return undefined
  }
  const found = visit(value)
  return found === undefined ? undefined : `$${found}`
}
