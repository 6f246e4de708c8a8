/**
 * The thread side's state: one thread's runner session and its transitions (requests in order, interrupts,
 * recalls, replies to calls to the main thread, streaming credit, the per-turn flush). `ThreadRunner.serve` runs it
 * over a `RunnerPort`.
 *
 * @internal
 */
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import type * as Stream from "effect/Stream"
import * as Tracer from "effect/Tracer"
import type * as Task from "../../Task.ts"
import type { RunnerPort } from "../../ThreadPlatform.ts"
import type { CallMainError, Runner } from "../../ThreadRunner.ts"
import * as Codec from "../wire/codec.ts"
import * as Protocol from "../wire/protocol.ts"
import * as Batch from "./batch.ts"

/** The credit of a streaming request: how many more elements its caller can take, and who waits for more. */
interface Credit {
  credit: number
  waiter: (() => void) | undefined
}

/** A call to the main thread that waits for its reply. */
interface PendingCall {
  readonly task: Task.Any
  readonly resume: (exit: Exit.Exit<unknown, unknown>) => void
}

/**
 * The state of one thread's runner, and its transitions. Every message is handled synchronously here; fibers exist
 * only for requests whose handler is asynchronous.
 */
export class Session<R> {
  readonly byTag = new Map<string, Task.AnyHandler<R>>()
  /** The requests that wait, in the order they came; a dropped one leaves a hole. */
  waiting: Array<Protocol.Run | undefined> = []
  head = 0
  /** Where each waiting request is in `waiting`, by id: dropping one is O(1). */
  readonly slots = new Map<number, number>()
  readonly calls = new Map<number, PendingCall>()
  /** Batches that came before the runner could serve. */
  early: Array<unknown> | undefined = []
  outbox: Array<Protocol.FromThread> = []
  /** The request whose handler runs asynchronously, if any: its id, task and fiber. */
  runningId = -1
  runningTask: Task.Any | undefined = undefined
  fiber: Fiber.Fiber<unknown, unknown> | undefined = undefined
  runFork: ((effect: Effect.Effect<unknown, unknown, R>) => Fiber.Fiber<unknown, unknown>) | undefined = undefined
  nextCall = 0
  closed = false
  /** Reads the heap in use, once the pool asked for it with each batch (`WATCH_HEAP`). */
  watchHeap: (() => number) | undefined = undefined
  onClose: (() => void) | undefined = undefined

  readonly port: RunnerPort

  constructor(port: RunnerPort, handlers: ReadonlyArray<Task.AnyHandler<R>>) {
    this.port = port
    for (const handler of handlers) this.byTag.set(handler.task._tag, handler)
  }

  /** The runner can serve: says so, then handles what came before. */
  ready(context: Context.Context<R>): void {
    this.runFork = Effect.runForkWith(context)
    this.port.post([[Protocol.READY]])
    const early = this.early!
    this.early = undefined
    for (const batch of early) this.receive(batch)
  }

  readonly receive = (batch: unknown): void => {
    if (this.closed) return
    if (this.early !== undefined) {
      this.early.push(batch)
      return
    }
    for (const message of batch as Protocol.ToThreadBatch) {
      switch (message[0]) {
        case Protocol.RUN:
          this.slots.set(message[1], this.waiting.push(message) - 1)
          break
        case Protocol.INTERRUPT:
          if (this.fiber !== undefined && this.runningId === message[1]) this.fiber.interruptUnsafe()
          else if (this.drop(message[1])) this.post([Protocol.RESULT, message[1], Protocol.INTERRUPTED])
          break
        case Protocol.RECALL:
          if (this.drop(message[1])) this.post([Protocol.RESULT, message[1], Protocol.RECALLED])
          break
        case Protocol.REPLY: {
          const call = this.calls.get(message[1])
          this.calls.delete(message[1])
          call?.resume(Codec.toExit(call.task, message.slice(2) as unknown as Protocol.Outcome))
          break
        }
        case Protocol.CLOSE:
          this.close()
          return
        case Protocol.WATCH_HEAP:
          this.watchHeap = this.port.heapUsed
          break
        case Protocol.PULL:
          this.grant(message[1], message[2])
          break
      }
    }
    this.drain()
  }

  /** Takes a waiting request out, if it is there. */
  drop(id: number): boolean {
    const slot = this.slots.get(id)
    if (slot === undefined) return false
    this.slots.delete(id)
    this.waiting[slot] = undefined
    return true
  }

  /** Starts the requests that wait, one at a time, until one is asynchronous. */
  drain(): void {
    while (this.fiber === undefined && !this.closed) {
      if (this.head === this.waiting.length) {
        if (this.head > 0) {
          this.waiting = []
          this.head = 0
        }
        return
      }
      const next = this.waiting[this.head]
      this.waiting[this.head++] = undefined
      if (next === undefined) continue
      this.slots.delete(next[1])
      this.start(next)
    }
  }

  start(run: Protocol.Run): void {
    const [, id, tag, payload, trace] = run
    const handler = this.byTag.get(tag) ?? Batch.handlerFor(this.byTag, tag)
    if (handler === undefined) return this.post([Protocol.RESULT, id, Protocol.NOT_IMPLEMENTED])
    const task = handler.task
    const decoded = Codec.decodePayload(task, payload)
    if (Exit.isFailure(decoded)) return this.post([Protocol.RESULT, id, ...Codec.invalidOutcome(decoded)])
    let effect: Effect.Effect<unknown, unknown, R>
    try {
      effect = handler.stream === undefined
        ? handler.handle(decoded.value as never)
        : this.streamed(id, task as Task.AnyStream, handler.stream(decoded.value as never))
    } catch (defect) {
      return this.post([Protocol.RESULT, id, Protocol.DEFECT, Protocol.encodeDefect(defect)])
    }
    if (trace === undefined && Exit.isExit(effect)) return this.answer(id, task, effect)
    const fiber = this.runFork!(
      trace === undefined ? effect : Effect.withSpan(effect, `effect-threads.thread ${tag}`, {
        parent: Tracer.externalSpan({ traceId: trace[0], spanId: trace[1], sampled: trace[2] }),
        kind: "server"
      })
    )
    const exit = fiber.pollUnsafe()
    if (exit !== undefined) return this.answer(id, task, exit)
    this.runningId = id
    this.runningTask = task
    this.fiber = fiber
    fiber.addObserver(this.onDone)
  }

  /** The credit of each streaming request: how many more elements its caller can take, and who waits for more. */
  readonly credits = new Map<number, Credit>()

  /** The credit of streaming request `id`. */
  creditOf(id: number): Credit {
    let credit = this.credits.get(id)
    if (credit === undefined) this.credits.set(id, credit = { credit: 0, waiter: undefined })
    return credit
  }

  /** The caller of streaming request `id` can take `n` more elements. */
  grant(id: number, n: number): void {
    const credit = this.creditOf(id)
    credit.credit += n
    const waiter = credit.waiter
    credit.waiter = undefined
    waiter?.()
  }

  /** Waits until `entry` has credit again. */
  awaitCredit(entry: Credit): Effect.Effect<void> {
    return Effect.callback((resume) => {
      if (entry.credit > 0) return resume(Effect.void)
      entry.waiter = () => resume(Effect.void)
    })
  }

  /**
   * Runs a streaming handler's stream: its elements go out as CHUNKs, never more than the caller's credit, and its
   * next chunk is pulled only once the caller has room, so a slow caller slows the stream down here and memory stays
   * bounded on both sides (by the credit, plus one chunk of the stream's own making).
   */
  streamed(
    id: number,
    task: Task.AnyStream,
    stream: Stream.Stream<unknown, unknown, R>
  ): Effect.Effect<void, unknown, R> {
    const encode = Codec.of(task).encodeElement
    // Loaded only when a streaming task runs (an entry with one has loaded it already): other threads start faster.
    return Effect.flatMap(
      Effect.promise(() => import("effect/Stream")),
      (Stream) => Stream.runForEachArray(stream, (elements) => this.emit(id, encode, elements))
    ).pipe(Effect.ensuring(Effect.sync(() => this.credits.delete(id))))
  }

  /**
   * Sends `elements` as CHUNKs, each within the credit the caller has given, waiting for more when it runs out; once
   * all are sent, waits for credit before the stream's next chunk is pulled. Synchronous while there is credit.
   */
  emit(
    id: number,
    encode: Codec.Codec["encodeElement"],
    elements: ReadonlyArray<unknown>
  ): Effect.Effect<void> {
    const entry = this.creditOf(id)
    let at = 0
    const send = (): Effect.Effect<void> => {
      if (at < elements.length && entry.credit > 0) {
        const n = Math.min(entry.credit, elements.length - at)
        const encoded: Array<unknown> = []
        for (let i = at; i < at + n; i++) {
          const one = encode(elements[i])
          if (Exit.isFailure(one)) {
            return Effect.die(new Error(Codec.errorOf(one).message))
          }
          encoded.push(one.value)
        }
        entry.credit -= n
        at += n
        this.post([Protocol.CHUNK, id, encoded])
      }
      // More to send, or all sent and no room for the next chunk: wait for credit.
      return entry.credit > 0 && at >= elements.length ? Effect.void : Effect.flatMap(this.awaitCredit(entry), send)
    }
    return Effect.suspend(send)
  }

  readonly onDone = (exit: Exit.Exit<unknown, unknown>): void => {
    const task = this.runningTask
    this.runningTask = undefined
    this.fiber = undefined
    if (task === undefined || this.closed) return
    this.answer(this.runningId, task, exit)
    this.drain()
  }

  answer(id: number, task: Task.Any, exit: Exit.Exit<unknown, unknown>): void {
    this.post([Protocol.RESULT, id, ...Codec.encodeOutcome(task, exit)])
    // A batch's answer leaves before the next request starts: the pool knows that a batch sent ahead behind it has not
    // started while this answer has not come (`pool/placing.ts`), and its caller gets the results without delay.
    if (Batch.isBatch(task)) this.flush()
  }

  post(message: Protocol.FromThread): void {
    if (this.outbox.push(message) === 1) Protocol.queueMicrotask(this.flush)
  }

  /** Sends the turn's messages as one; if something cannot be cloned, one by one, answering what failed. */
  readonly flush = (): void => {
    const batch = this.outbox
    this.outbox = []
    if (batch.length === 0 || this.closed) return
    if (this.watchHeap !== undefined) batch.push([Protocol.HEAP, this.watchHeap()])
    try {
      this.port.post(batch)
    } catch {
      for (const message of batch) {
        try {
          this.port.post([message])
        } catch (cause) {
          this.undeliverable(message, cause)
        }
      }
    }
  }

  /** A message that could not be cloned: a result becomes an invalid result, a call fails on the thread's side. */
  undeliverable(message: Protocol.FromThread, cause: unknown): void {
    if (message[0] === Protocol.RESULT) {
      this.port.post([[Protocol.RESULT, message[1], ...Codec.uncloneable(message[3], cause)]])
    } else if (message[0] === Protocol.CALL) {
      const call = this.calls.get(message[1])
      this.calls.delete(message[1])
      call?.resume(Exit.fail(Codec.unsendable(message[2], message[3], cause, "the main thread")))
    }
  }

  readonly callMain: Runner["callMain"] = <T extends Task.Any>(task: T, payload: Task.Payload<T>) =>
    Effect.suspend((): Effect.Effect<Task.Success<T>, Task.Failure<T> | CallMainError> => {
      const encoded = Codec.encodePayload(task, payload)
      if (Exit.isFailure(encoded)) return encoded
      const id = this.nextCall++
      return Effect.callback<Task.Success<T>, Task.Failure<T> | CallMainError>((resume) => {
        this.calls.set(id, { task, resume: resume as PendingCall["resume"] })
        this.post([Protocol.CALL, id, task._tag, encoded.value])
        return Effect.sync(() => this.calls.delete(id))
      })
    })

  /** The main thread closes the thread: it holds no work. */
  close(): void {
    this.flush()
    this.closed = true
    this.port.close()
    this.onClose?.()
  }

  /** The session ended (closed, failed to start, or interrupted): stop serving, interrupt what runs. */
  readonly stop = (): void => {
    this.closed = true
    this.waiting = []
    this.slots.clear()
    this.fiber?.interruptUnsafe()
  }
}
