/**
 * The thread side of a batch (`wire/batch.ts`): a request whose tag is a task's behind the batch prefix runs that
 * task's handler on each element, one after the other, in the request's one fiber (none at all while every handler
 * gives an `Exit` at once), and answers once, with each element's encoded outcome and the time they took.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Task from "../../Task.ts"
import type * as ThreadError from "../../ThreadError.ts"
import * as Batch from "../wire/batch.ts"
import * as Codec from "../wire/codec.ts"
import * as Protocol from "../wire/protocol.ts"

/**
 * The clock of the answer's `millis`: `performance.now` where the platform has it (every one this runs on), looked
 * up when a batch first runs: reading `globalThis.performance` makes Node load `perf_hooks`, a few ms of a thread's
 * start that a thread without batches need not pay.
 */
let now: (() => number) | undefined
const clock = (): number => {
  if (now === undefined) {
    const performance = (globalThis as { readonly performance?: { readonly now: () => number } }).performance
    now = performance === undefined ? Date.now : () => performance.now()
  }
  return now()
}

/** Whether `task` is a batch's (its handler made by {@link handlerFor}). */
export const isBatch: (task: Task.Any) => boolean = Batch.isBatchTask

/**
 * The handler of batch tag `tag`, made from the task's own handler in `byTag` and kept there, or `undefined` if `tag`
 * is not a batch's. A batch of a task the thread does not implement (or implements as a stream) answers
 * `NOT_IMPLEMENTED` for its elements, as single requests would.
 */
export const handlerFor = <R>(byTag: Map<string, Task.AnyHandler<R>>, tag: string): Task.AnyHandler<R> | undefined => {
  if (!Batch.isBatchTag(tag)) return undefined
  const inner = byTag.get(Batch.taskTag(tag))
  const usable = inner !== undefined && inner.stream === undefined ? inner : undefined
  const handler: Task.AnyHandler<R> = {
    task: Batch.batchTask(inner?.task ?? { _tag: Batch.taskTag(tag) } as Task.Any),
    handle: (request: never) =>
      usable === undefined ? Exit.succeed(notImplemented(request)) : new Run(usable, request).loop()
  }
  byTag.set(tag, handler)
  return handler
}

const notImplemented = ([stop, payloads]: Batch.Request): Batch.Answer => {
  const count = stop === 1 ? Math.min(1, payloads.length) : payloads.length
  return [0, Array.from({ length: count }, () => Protocol.NOT_IMPLEMENTED), Array.from({ length: count }, () => [])]
}

/** One batch running: the elements in order, each one's outcome encoded as it ends. */
class Run<R> {
  readonly handler: Task.AnyHandler<R>
  readonly stop: boolean
  readonly payloads: ReadonlyArray<unknown>
  /** The payloads decoded in one parse, or `undefined` if one does not match (each is decoded alone, as it runs). */
  readonly decoded: ReadonlyArray<unknown> | undefined
  readonly decode: (input: unknown) => Exit.Exit<unknown, ThreadError.InvalidPayload>
  readonly encodeSuccess: (input: unknown) => Exit.Exit<unknown, unknown>
  /** The success schema's type test, when encoding is that test and gives the value back (`wire/batch.ts`). */
  readonly plainSuccess: ((value: unknown) => boolean) | undefined
  readonly started = clock()
  readonly values: Array<unknown> = []
  kinds: Array<number> | 0 = 0
  next = 0

  constructor(handler: Task.AnyHandler<R>, [stop, payloads]: Batch.Request) {
    this.handler = handler
    this.stop = stop === 1
    this.payloads = payloads
    const decoded = Batch.many(handler.task).decodePayloads(payloads)
    this.decoded = Exit.isSuccess(decoded) ? decoded.value : undefined
    this.decode = Codec.of(handler.task).decodePayload
    this.encodeSuccess = Codec.encoder(handler.task.success)
    this.plainSuccess = Batch.plainTest(handler.task.success)
  }

  /**
   * Runs the elements from `next`: synchronously while each handler gives an `Exit`, else in the request's fiber.
   * Gives the answer, or the effect that ends with it.
   */
  loop(): Effect.Effect<Batch.Answer, never, R> {
    const all = this.decoded
    while (this.next < this.payloads.length) {
      let payload: unknown
      if (all !== undefined) payload = all[this.next++]
      else {
        const decoded = this.decode(this.payloads[this.next++])
        if (Exit.isFailure(decoded)) {
          // As for a single task: INVALID_PAYLOAD, with where and what; the element did not run.
          if (!this.recordOutcome(Codec.invalidOutcome(decoded))) break
          continue
        }
        payload = decoded.value
      }
      const effect = this.start(payload)
      if (!Exit.isExit(effect)) {
        return Effect.flatMap(Effect.exit(effect), (exit) => this.record(exit) ? this.loop() : this.answer())
      }
      if (!this.record(effect)) break
    }
    return this.answer()
  }

  /** The element's effect, or its `Exit` if it ends before it starts (its handler throws). */
  start(payload: unknown): Effect.Effect<unknown, unknown, R> {
    try {
      return this.handler.handle(payload as never)
    } catch (defect) {
      return Exit.die(defect)
    }
  }

  /** Writes an element's outcome; gives whether to go on. */
  record(exit: Exit.Exit<unknown, unknown>): boolean {
    if (Exit.isSuccess(exit)) {
      // A plain success encodes as itself: its own exit, no new one.
      const encoded = this.plainSuccess?.(exit.value) === true ? exit : this.encodeSuccess(exit.value)
      if (Exit.isSuccess(encoded)) {
        this.values.push(encoded.value)
        if (this.kinds !== 0) this.kinds.push(Protocol.SUCCESS)
        return true
      }
    }
    return this.recordOutcome(Codec.encodeOutcome(this.handler.task, exit))
  }

  /** Writes an element's encoded outcome; gives whether to go on. */
  recordOutcome(outcome: Protocol.Outcome): boolean {
    const [kind, value] = Batch.elementOf(outcome)
    if (this.kinds === 0) this.kinds = this.values.map(() => Protocol.SUCCESS)
    this.kinds.push(kind)
    this.values.push(value)
    return kind === Protocol.SUCCESS || !this.stop
  }

  answer(): Exit.Exit<Batch.Answer> {
    return Exit.succeed([clock() - this.started, this.kinds, this.values])
  }
}
