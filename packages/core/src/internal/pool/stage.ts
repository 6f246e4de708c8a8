/**
 * `ThreadPool.mapStream` on a pool: a `Stream` stage that runs a task on each element on the pool's threads, in
 * batches (`batches.ts`) formed from what the upstream has given while the threads were busy: a batch goes as soon as
 * it is full (`sizer.ts`), or at once while a thread may be idle. Backpressure: the elements between the upstream and
 * the consumer (waiting to be batched, in flight, and answered but not taken) are at most `bufferSize`; past it, and
 * while a full batch waits for room, the upstream is not pulled. Results come in the input's order (`ordered`, the
 * default) or as their batches end. The first failure (an element's, the upstream's, or a batch's own) fails the
 * stream after the elements already given, and interrupts the batches in flight in their threads; a consumer that
 * stops (takes fewer, is interrupted) interrupts them too.
 *
 * @internal
 */
import type { NonEmptyReadonlyArray } from "effect/Array"
import * as Cause from "effect/Cause"
import * as Channel from "effect/Channel"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Task from "../../Task.ts"
import type * as ThreadPoolOptions from "../../ThreadPoolOptions.ts"
import * as Batch from "../wire/batch.ts"
import * as Codec from "../wire/codec.ts"
import * as Protocol from "../wire/protocol.ts"
import * as Batches from "./batches.ts"
import * as Bulk from "./bulk.ts"
import type * as Section from "./section.ts"
import * as Sizer from "./sizer.ts"

/** Options of `mapStream` (the public `MapStreamOptions`, its `transfer` called with any payload). */
export type StageOptions = ThreadPoolOptions.MapStreamOptions<never>

/** How many elements may be between the upstream and the consumer, unless `bufferSize` says otherwise. */
export const defaultBufferSize = 16_384

/** The stage: `stream.pipe(mapStream(pool, task, options))`. */
export const mapStream =
  (pool: Section.Section, task: Task.Any, options: StageOptions | undefined) =>
  <A, E, R>(self: Stream.Stream<A, E, R>): Stream.Stream<unknown, unknown, R> =>
    Stream.unwrap(
      Effect.gen(function*(): Effect.fn.Return<Stream.Stream<unknown, unknown>, unknown, Scope.Scope | R> {
        if (Task.isStream(task)) return yield* Bulk.streamingTask(task)
        const queue = yield* Queue.unbounded<Chunk, unknown>()
        const context = yield* Effect.context<never>()
        const stage = new Stage(Batches.make(pool, task, options, true, context), queue, options)
        yield* Effect.addFinalizer(() => stage.close())
        yield* Effect.forkScoped(
          Stream.runForEachArray(self, (elements) => stage.offer(elements)).pipe(
            Effect.onExit((exit) => Effect.sync(() => stage.upstreamEnded(exit)))
          )
        )
        // Each batch's results go out as one chunk of the stream, as they are: no copy per element.
        return Stream.fromChannel(Channel.fromQueue(queue)).pipe(Stream.mapArray((taken) => {
          stage.taken(taken.length)
          return taken
        }))
      })
    )

/** A chunk of the stage's stream: one batch's results. */
type Chunk = NonEmptyReadonlyArray<unknown>

const isNonEmpty = (results: ReadonlyArray<unknown>): results is Chunk => results.length > 0

/**
 * A batch of the stage: its fiber, and once it has ended its results (those of its elements before the first that
 * failed) and that failure, if any.
 */
interface Slot {
  fiber: Fiber.Fiber<unknown, unknown> | undefined
  results: ReadonlyArray<unknown> | undefined
  failure: Cause.Cause<unknown> | undefined
}

/** One stage under way. */
class Stage {
  readonly batches: Batches.Batches
  readonly queue: Queue.Queue<Chunk, unknown>
  readonly ordered: boolean
  readonly bound: number
  /** Payloads waiting to be batched (encoded when their batch goes). */
  pending: Array<unknown> = []
  /** What each of them transfers, in the same places, when the call transfers anything (`transfer`). */
  transfers: Array<ReadonlyArray<unknown> | undefined> | undefined
  /** Elements taken from the upstream and not yet taken by the consumer. */
  held = 0
  /** The index of the next element from the upstream (for `transfer`). */
  index = 0
  /** The batches in flight or waiting to be given in order, oldest first. */
  readonly slots: Array<Slot> = []
  upstreamDone = false
  stopped = false
  /** Ordered, a batch failed: nothing more is sent; the stream fails once the batches before it have been given. */
  halted = false
  /** The upstream's pull, waiting for room. */
  waiter: (() => void) | undefined = undefined
  /** The stage's close, waiting for the batches in flight to end. */
  onSettled: (() => void) | undefined = undefined

  constructor(batches: Batches.Batches, queue: Queue.Queue<Chunk, unknown>, options: StageOptions | undefined) {
    this.batches = batches
    this.queue = queue
    this.ordered = options?.ordered ?? true
    this.bound = options?.bufferSize ?? defaultBufferSize
    this.transfers = options?.transfer === undefined ? undefined : []
  }

  /**
   * The size of the next batch: the sizer's, within the bound's share of one of two batches a thread (the one it runs
   * and the one sent ahead to it: both fit in the bound).
   */
  size(): number {
    const threads = this.batches.sizer.threads
    return Math.min(Sizer.next(this.batches.sizer, Infinity), Math.max(1, Math.floor(this.bound / (2 * threads))))
  }

  /**
   * Elements from the upstream: encoded and batched as there is room (a large chunk is taken in parts, so the bound
   * holds for it too); waits while the stage has no room for more.
   */
  offer(elements: ReadonlyArray<unknown>): Effect.Effect<void, unknown> {
    let at = 0
    const step = (): Effect.Effect<void, unknown> =>
      Effect.suspend(() => {
        if (this.stopped || this.halted) return Effect.interrupt
        const room = Math.min(elements.length - at, this.bound - this.held)
        if (room > 0) {
          if (this.transfers !== undefined) {
            for (let i = at; i < at + room; i++) {
              this.transfers.push(Batches.transferOf(this.batches, elements[i], this.index + i - at))
            }
          }
          if (this.pending.length === 0 && at === 0 && room === elements.length) this.pending = elements.slice()
          else for (let i = at; i < at + room; i++) this.pending.push(elements[i])
          at += room
          this.index += room
          this.held += room
        }
        this.dispatch()
        if (this.stopped) return Effect.interrupt
        if (at < elements.length) return Effect.flatMap(this.room(), step)
        return this.hasRoom() ? Effect.void : this.room()
      })
    return step()
  }

  /** Waits until the stage has room (or has stopped). */
  room(): Effect.Effect<void> {
    return Effect.callback<void>((resume) => {
      if (this.hasRoom()) return resume(Effect.void)
      this.waiter = () => resume(Effect.void)
    })
  }

  /** Whether the upstream may give more: under the bound, and no full batch waits for room. */
  hasRoom(): boolean {
    return this.stopped || this.halted || (this.held < this.bound && this.pending.length < this.size())
  }

  wake(): void {
    if (this.waiter !== undefined && this.hasRoom()) {
      const waiter = this.waiter
      this.waiter = undefined
      waiter()
    }
  }

  /** Sends batches: a full one while there is room, or what waits while a thread may be idle or the upstream ended. */
  dispatch(): void {
    const threads = this.batches.sizer.threads
    while (!this.stopped && !this.halted && this.pending.length > 0 && Batches.hasRoom(this.batches)) {
      const size = this.size()
      if (this.pending.length < size && this.batches.fibers.size >= threads && !this.upstreamDone) return
      const whole = this.pending.length <= size
      const payloads = this.encode(whole ? this.pending : this.pending.slice(0, size))
      this.pending = whole ? [] : this.pending.slice(size)
      if (payloads === undefined) return
      // Each element's transfers go with its own batch: one transferred with another's would be detached here.
      let transfer: Array<unknown> | undefined
      if (this.transfers !== undefined) {
        const own = whole ? this.transfers : this.transfers.slice(0, size)
        this.transfers = whole ? [] : this.transfers.slice(size)
        for (const transfers of own) if (transfers !== undefined) (transfer ??= []).push(...transfers)
      }
      const slot: Slot = { fiber: undefined, results: undefined, failure: undefined }
      this.slots.push(slot)
      slot.fiber = Batches.send(this.batches, payloads, transfer, (done) => this.done(slot, done))
    }
  }

  /**
   * A batch's payloads encoded: in one parse, else one by one, the first that cannot be encoded failing the stream
   * (`undefined`: nothing of this batch is sent).
   */
  encode(payloads: ReadonlyArray<unknown>): ReadonlyArray<unknown> | undefined {
    const all = Batches.encodeAll(this.batches, payloads)
    if (all !== undefined) return all
    const encoded: Array<unknown> = []
    for (const payload of payloads) {
      const one = Batches.encode(this.batches, payload)
      if (Exit.isFailure(one)) {
        this.fail(one.cause)
        return undefined
      }
      encoded.push(one.value)
    }
    return encoded
  }

  /**
   * A batch ended: its results are given (in order, or at once). Its failure fails the stream: at once, unordered;
   * ordered, once the batches before it have been given (their own failure first, if one fails), the batches after
   * it interrupted and nothing more sent meanwhile.
   */
  done(slot: Slot, done: Batches.Done): void {
    slot.fiber = undefined
    if (this.stopped) return this.settled()
    if (Exit.isFailure(done)) {
      slot.results = []
      slot.failure = done.cause
    } else {
      const [, kinds, values] = done.value
      const all = kinds === 0 ? Batches.decodeAll(this.batches, values) : undefined
      if (all !== undefined) slot.results = all
      else {
        const results: Array<unknown> = []
        slot.results = results
        slot.failure = this.decode(done.value, results)
      }
    }
    if (slot.failure !== undefined && !this.ordered) {
      this.give()
      return this.fail(slot.failure)
    }
    if (slot.failure !== undefined) this.halt(slot)
    this.give()
    if (this.halted) return
    this.dispatch()
    this.wake()
    this.end()
  }

  /**
   * Decodes an answer's results one by one into `results`, up to its first element that did not succeed: that one's
   * failure.
   */
  decode(answer: Batch.Answer, results: Array<unknown>): Cause.Cause<unknown> | undefined {
    const [, kinds, values] = answer
    const decode = Codec.decoder(this.batches.task.success)
    for (let j = 0; j < values.length; j++) {
      // A success, the common case, decoded in place; any other end (or a success that does not decode: an
      // InvalidResult) through the task's codec.
      const decoded = kinds === 0 || kinds[j] === Protocol.SUCCESS ? decode(values[j]) : undefined
      const exit = decoded !== undefined && Exit.isSuccess(decoded)
        ? decoded
        : Batch.elementExit(this.batches.task, answer, j)
      if (Exit.isFailure(exit)) return exit.cause
      results.push(exit.value)
    }
    return undefined
  }

  /** Ordered, `slot` failed: nothing more is sent, and the batches after it are interrupted (never given). */
  halt(slot: Slot): void {
    this.halted = true
    for (let i = this.slots.indexOf(slot) + 1; i < this.slots.length; i++) this.slots[i]!.fiber?.interruptUnsafe()
    this.wake()
  }

  /**
   * Gives the results that may go: in order, the ended batches at the head, up to a failed one, whose failure then
   * fails the stream; else every ended batch.
   */
  give(): void {
    let kept = 0
    for (let i = 0; i < this.slots.length; i++) {
      const slot = this.slots[i]!
      if (slot.results === undefined) {
        if (this.ordered) {
          this.slots.splice(0, i)
          return
        }
        this.slots[kept++] = slot
        continue
      }
      if (isNonEmpty(slot.results)) Queue.offerUnsafe(this.queue, slot.results)
      if (this.ordered && slot.failure !== undefined) {
        this.slots.splice(0, i + 1)
        return this.fail(slot.failure)
      }
    }
    this.slots.length = kept
  }

  /** The consumer took `n` elements: room for more. */
  taken(n: number): void {
    this.held -= n
    this.dispatch()
    this.wake()
  }

  /**
   * The upstream ended. A failure fails the stream; so does an interruption, which sends nothing more: the consumer
   * stopped (its scope interrupts the upstream before the stage closes), the stage stopped it, or it was interrupted
   * on its own. Only an upstream that ended sends what waits.
   */
  upstreamEnded(exit: Exit.Exit<void, unknown>): void {
    this.upstreamDone = true
    // Halted (a batch failed), the failure it waits to give is the stream's: it came first, and an upstream that
    // fails after it (or ends interrupted by the stage) replaces neither it nor the results due before it.
    if (this.halted && Exit.isFailure(exit)) return
    if (Exit.isFailure(exit)) return this.fail(exit.cause)
    this.dispatch()
    this.end()
  }

  /** The stream ends once the upstream has and every batch has been given. */
  end(): void {
    if (
      !this.stopped && !this.halted && this.upstreamDone && this.pending.length === 0 &&
      this.batches.fibers.size === 0
    ) {
      this.stopped = true
      Queue.endUnsafe(this.queue)
    }
  }

  /** The first failure: the stream fails after what was given; the batches in flight are interrupted. */
  fail(cause: Cause.Cause<unknown>): void {
    if (this.stopped) return
    this.stopped = true
    Queue.failCauseUnsafe(this.queue, cause)
    Batches.interruptAll(this.batches)
    this.wake()
  }

  settled(): void {
    if (this.batches.fibers.size === 0) this.onSettled?.()
  }

  /** The consumer's scope closes: the batches in flight are interrupted in their threads, and it waits for them. */
  close(): Effect.Effect<void> {
    return Effect.callback<void>((resume) => {
      this.stopped = true
      this.onSettled = () => resume(Effect.void)
      Batches.interruptAll(this.batches)
      this.wake()
      this.settled()
    })
  }
}
