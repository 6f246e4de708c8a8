/**
 * `ThreadPool.forEach` on a pool: a task run on every element of a collection, on the caller's one fiber, in batches
 * (`batches.ts`) whose size adapts to the time per element (`sizer.ts`), a bounded number in flight. Results come in
 * the input's order. By default the first element that fails (first in time) fails the call: the batches in flight
 * are interrupted in their threads, no more are sent, and the call ends once they have; with `mode: "exit"` every
 * element runs and gives its own `Exit`.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Task from "../../Task.ts"
import { TaskNotImplemented } from "../../ThreadError.ts"
import type * as ThreadPoolOptions from "../../ThreadPoolOptions.ts"
import * as Batch from "../wire/batch.ts"
import * as Codec from "../wire/codec.ts"
import * as Protocol from "../wire/protocol.ts"
import * as Batches from "./batches.ts"
import type * as Section from "./section.ts"
import * as Sizer from "./sizer.ts"

/** Options of `forEach` (the public `ForEachOptions`, its `transfer` called with any payload). */
export type ForEachOptions = ThreadPoolOptions.ForEachOptions<never>

/** A streaming task given to a bulk call from code the type check did not see. */
export const streamingTask = (task: Task.Any): Exit.Exit<never, TaskNotImplemented> =>
  Exit.fail(
    new TaskNotImplemented({
      task: task._tag,
      message: `${task._tag} is a streaming task (Task.stream): run it with ThreadPool.stream`
    })
  )

/** Runs `task` on every element of `payloads` on the pool's threads, in batches. */
export const forEach = (
  pool: Section.Section,
  task: Task.Any,
  payloads: Iterable<unknown>,
  options: ForEachOptions | undefined
): Effect.Effect<unknown, unknown> => {
  const exitMode = options?.mode === "exit"
  const call = Effect.withFiber((fiber) => {
    const input = Array.isArray(payloads) ? payloads as ReadonlyArray<unknown> : Array.from(payloads)
    if (Task.isStream(task)) {
      const failed = streamingTask(task)
      return exitMode ? Exit.succeed(input.map(() => failed)) : failed
    }
    const run = new Run(pool, task, input, options, fiber.context)
    return Effect.callback<unknown, unknown>((resume) => {
      run.resume = resume
      run.pump()
      return run.cancel()
    })
  })
  return pool.options.tracing
    ? Effect.withSpan(call, `effect-threads.forEach ${task._tag}`, {
      kind: "client",
      captureStackTrace: false,
      attributes: { "effect-threads.pool": pool.options.name, "effect-threads.task": task._tag }
    })
    : call
}

/** One `forEach` call under way. */
class Run {
  readonly batches: Batches.Batches
  readonly task: Task.Any
  readonly input: ReadonlyArray<unknown>
  readonly exitMode: boolean
  readonly discard: boolean
  /** The results (or, with `mode: "exit"`, the exits) by input index; empty when discarded. */
  readonly results: Array<unknown>
  /** The next element to batch. */
  next = 0
  /** The call's failure, once an element failed. */
  failure: Cause.Cause<unknown> | undefined = undefined
  /** No more batches are sent: an element failed, or the caller was interrupted. */
  stopping = false
  pumping = false
  finished = false
  resume: ((effect: Effect.Effect<unknown, unknown>) => void) | undefined = undefined
  /** The interrupted caller, waiting for the batches in flight to end. */
  onSettled: (() => void) | undefined = undefined
  cancelled = false

  constructor(
    pool: Section.Section,
    task: Task.Any,
    input: ReadonlyArray<unknown>,
    options: ForEachOptions | undefined,
    context: Context.Context<never>
  ) {
    this.exitMode = options?.mode === "exit"
    this.discard = options?.discard === true && !this.exitMode
    this.batches = Batches.make(pool, task, options, !this.exitMode, context)
    this.task = task
    this.input = input
    this.results = []
    // Its places exist from the start (a holey array: filled as batches end, in any order).
    if (!this.discard) this.results.length = input.length
  }

  /** Sends batches while there is room and input; ends the call once nothing is in flight and nothing is left. */
  pump(): void {
    if (this.pumping) return
    this.pumping = true
    while (!this.stopping && this.next < this.input.length && Batches.hasRoom(this.batches)) this.sendNext()
    this.pumping = false
    this.check()
  }

  /**
   * Encodes the next batch's elements and sends it: in one parse (the common case), else one by one, an element that
   * cannot be encoded settled with its `InvalidPayload` and not sent.
   */
  sendNext(): void {
    const from = this.next
    const end = from + Sizer.next(this.batches.sizer, this.input.length - from)
    this.next = end
    const input = this.input
    const all = Batches.encodeAll(this.batches, from === 0 && end === input.length ? input : input.slice(from, end))
    let payloads: ReadonlyArray<unknown>
    let indices: Array<number> | undefined
    let transfer: Array<unknown> | undefined
    if (all !== undefined) {
      payloads = all
      if (this.batches.options?.transfer !== undefined) {
        for (let i = from; i < end; i++) {
          const transfers = Batches.transferOf(this.batches, input[i], i)
          if (transfers !== undefined) (transfer ??= []).push(...transfers)
        }
      }
    } else {
      const encodedOnes: Array<unknown> = []
      indices = []
      for (let i = from; i < end && !this.stopping; i++) {
        const payload = input[i]
        const encoded = Batches.encode(this.batches, payload)
        if (Exit.isFailure(encoded)) {
          this.settle(i, encoded)
          continue
        }
        encodedOnes.push(encoded.value)
        indices.push(i)
        const transfers = Batches.transferOf(this.batches, payload, i)
        if (transfers !== undefined) (transfer ??= []).push(...transfers)
      }
      payloads = encodedOnes
    }
    if (payloads.length === 0 || this.stopping) return
    const count = payloads.length
    Batches.send(this.batches, payloads, transfer, (done) => this.done(from, count, indices, done))
  }

  /**
   * A batch of `count` elements ended: each element it ran is settled, in its place (`from` onwards, or at `indices`
   * when some of its elements were not sent).
   */
  done(from: number, count: number, indices: ReadonlyArray<number> | undefined, done: Batches.Done): void {
    if (Exit.isSuccess(done)) {
      const answer = done.value
      const [, kinds, values] = answer
      const all = kinds === 0 ? Batches.decodeAll(this.batches, values) : undefined
      if (all !== undefined) this.store(from, indices, all)
      else this.settleEach(from, indices, answer)
    } else if (!(this.stopping && Cause.hasInterruptsOnly(done.cause))) {
      const failed = Exit.failCause(done.cause)
      for (let j = 0; j < count; j++) this.settle(indices === undefined ? from + j : indices[j]!, failed)
    }
    this.pump()
  }

  /** The results of a batch whose elements all succeeded, decoded, in their places. */
  store(from: number, indices: ReadonlyArray<number> | undefined, values: ReadonlyArray<unknown>): void {
    if (this.discard) return
    const results = this.results
    for (let j = 0; j < values.length; j++) {
      const index = indices === undefined ? from + j : indices[j]!
      results[index] = this.exitMode ? Exit.succeed(values[j]) : values[j]
    }
  }

  /** An answer's elements settled one by one: a success decoded in place, any other end through the task's codec. */
  settleEach(from: number, indices: ReadonlyArray<number> | undefined, answer: Batch.Answer): void {
    const [, kinds, values] = answer
    const decode = Codec.decoder(this.task.success)
    for (let j = 0; j < values.length; j++) {
      const index = indices === undefined ? from + j : indices[j]!
      if (kinds === 0 || kinds[j] === Protocol.SUCCESS) {
        const decoded = decode(values[j])
        if (Exit.isSuccess(decoded)) {
          if (this.exitMode) this.results[index] = decoded
          else if (!this.discard) this.results[index] = decoded.value
          continue
        }
      }
      this.settle(index, Batch.elementExit(this.task, answer, j))
    }
  }

  /** Element `index` ended with `exit`. */
  settle(index: number, exit: Exit.Exit<unknown, unknown>): void {
    if (this.exitMode) {
      this.results[index] = exit
    } else if (Exit.isSuccess(exit)) {
      if (!this.discard) this.results[index] = exit.value
    } else if (this.failure === undefined) {
      // The first failure fails the call: the rest is interrupted in its threads.
      this.failure = exit.cause
      this.stopping = true
      Batches.interruptAll(this.batches)
    }
  }

  /** Ends the call once no batch is in flight and nothing more will be sent. */
  check(): void {
    if (this.finished || this.batches.fibers.size > 0) return
    if (!this.stopping && this.next < this.input.length) return
    this.finished = true
    if (this.cancelled) return this.onSettled?.()
    if (this.failure !== undefined) return this.resume?.(Exit.failCause(this.failure))
    this.resume?.(Exit.succeed(this.discard ? undefined : this.results))
  }

  /** The caller is interrupted: the batches in flight are interrupted in their threads; it waits until they ended. */
  cancel(): Effect.Effect<void> {
    return Effect.callback<void>((resume) => {
      // Also run when the call ended with an interruption of its own (the pool closed under it): nothing to wait for.
      if (this.finished) return resume(Effect.void)
      this.cancelled = true
      this.stopping = true
      this.onSettled = () => resume(Effect.void)
      Batches.interruptAll(this.batches)
      this.check()
    })
  }
}
