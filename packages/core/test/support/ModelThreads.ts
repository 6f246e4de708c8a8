/**
 * A `ThreadPlatform` whose threads the test drives, for the pool's model test (`PoolModel.property.test.ts`): each
 * thread speaks the wire protocol as `ThreadRunner.serve` does (READY first, requests run one at a time in the order
 * they came, a queued request dropped on INTERRUPT or RECALL and answered so, CLOSE ends the thread), but nothing
 * runs by itself: the test says when a thread is ready, answers the request it runs (success, typed failure, defect,
 * or interrupted once it was asked to stop), crashes it, or makes the next spawn throw.
 *
 * What a thread says of its own (the answers to INTERRUPT and RECALL of a queued request, its exit after CLOSE or
 * `terminate`) waits in the thread until {@link ModelThreads.deliver}, which the test calls between turns of the
 * event loop: batches and exits come as events, never from inside `spawn`, `post` or `terminate`.
 */
import * as Protocol from "../../src/internal/wire/protocol.ts"
import type { ThreadEvents, ThreadExit, ThreadHandle, ThreadPlatformShape } from "../../src/ThreadPlatform.ts"

/** A request a thread holds: received, not answered. */
export interface Request {
  readonly id: number
  readonly payload: unknown
  /** The pool asked to interrupt it while it ran. */
  interrupted: boolean
}

/** How the test answers the request a thread runs. */
export type Answer = "success" | "failure" | "defect" | "interrupted"

/** What the test is told when a thread's exit is delivered. */
export interface Exited {
  readonly thread: ModelThread
  readonly exit: ThreadExit
  /** The ids the pool still counted on the thread: the requests it held and the answers it had not delivered. */
  readonly held: ReadonlyArray<number>
}

/** One thread of the platform. */
export class ModelThread {
  readonly id: number
  readonly events: ThreadEvents
  /** When it was spawned, by the platform's clock. */
  readonly spawnedAt: number
  /** Requests held, in the order they came; the first runs once the thread is ready. */
  readonly held: Array<Request> = []
  /** Answers of its own (INTERRUPTED, RECALLED for queued requests), sent at the next delivery once ready. */
  readonly outbox: Array<Protocol.FromThread> = []
  ready = false
  /** The pool asked it to close, or terminated it: it takes no more requests. */
  leaving = false
  /** Its exit, once decided; delivered at the next delivery. */
  exit: ThreadExit | undefined = undefined
  exited = false

  constructor(id: number, events: ThreadEvents, spawnedAt: number) {
    this.id = id
    this.events = events
    this.spawnedAt = spawnedAt
  }

  /** The ids the pool counts on this thread: held requests and undelivered answers. */
  holds(): Array<number> {
    return [...this.held.map((request) => request.id), ...this.outbox.map((message) => message[1] as number)]
  }

  /** Whether the thread is alive and not on its way out. */
  get live(): boolean {
    return !this.exited && this.exit === undefined
  }
}

/** The platform, and the test's hands on its threads. */
export class ModelThreads {
  readonly threads: Array<ModelThread> = []
  /** Protocol breaches seen by the threads (a request run twice, work sent to a closing thread, ...). */
  readonly violations: Array<string> = []
  /** Spawns that threw. */
  spawnsThrown = 0
  /** How many of the next spawns throw. */
  throwNext = 0
  /** Bumped by every event either way: the test waits until it stops moving. */
  version = 0
  /** Ids answered so far (by the test or by a thread's own answer): a request is run at most once. */
  readonly answered = new Set<number>()
  /** The payload of each request id seen. */
  readonly payloads = new Map<number, unknown>()
  readonly now: () => number
  readonly onExited: (exited: Exited) => void
  readonly onRun: (thread: ModelThread, request: Request) => void

  /**
   * `now` reads the time (the test's clock); `onExited` hears each exit as it is delivered, `onRun` each request as
   * it arrives.
   */
  constructor(
    now: () => number,
    onExited: (exited: Exited) => void,
    onRun: (thread: ModelThread, request: Request) => void
  ) {
    this.now = now
    this.onExited = onExited
    this.onRun = onRun
  }

  readonly platform: ThreadPlatformShape = {
    spawn: (id, events) => {
      this.version++
      if (this.throwNext > 0) {
        this.throwNext--
        this.spawnsThrown++
        throw new Error(`thread ${id} could not be spawned`)
      }
      const thread = new ModelThread(id, events, this.now())
      this.threads.push(thread)
      const handle: ThreadHandle = {
        post: (batch) => this.receive(thread, batch as Protocol.ToThreadBatch),
        terminate: () => {
          this.version++
          if (thread.live) thread.exit = { terminated: true }
          thread.leaving = true
        }
      }
      return handle
    }
  }

  /** Threads alive (their exit not delivered). */
  alive(): Array<ModelThread> {
    return this.threads.filter((thread) => !thread.exited)
  }

  /** The thread holding the request whose payload is `payload`, if any. */
  holderOf(payload: unknown): ModelThread | undefined {
    return this.threads.find((thread) =>
      !thread.exited && thread.holds().some((id) => this.payloads.get(id) === payload)
    )
  }

  /** The thread holding request `id`, if any. */
  holder(id: number): ModelThread | undefined {
    return this.threads.find((thread) => !thread.exited && thread.holds().includes(id))
  }

  private receive(thread: ModelThread, batch: Protocol.ToThreadBatch): void {
    this.version++
    if (!thread.live) return
    for (const message of batch) {
      switch (message[0]) {
        case Protocol.RUN: {
          const id = message[1]
          if (thread.leaving) this.violations.push(`request ${id} sent to thread ${thread.id}, which is closing`)
          if (this.answered.has(id)) this.violations.push(`request ${id} sent again after it was answered`)
          if (this.holder(id) !== undefined) this.violations.push(`request ${id} held by two threads`)
          this.payloads.set(id, message[3])
          const request: Request = { id, payload: message[3], interrupted: false }
          this.onRun(thread, request)
          thread.held.push(request)
          break
        }
        case Protocol.INTERRUPT:
          this.stop(thread, message[1], Protocol.INTERRUPTED)
          break
        case Protocol.RECALL:
          this.stop(thread, message[1], Protocol.RECALLED)
          break
        case Protocol.CLOSE:
          if (thread.holds().length > 0) {
            this.violations.push(`thread ${thread.id} asked to close while it holds ${thread.holds().join(", ")}`)
          }
          thread.leaving = true
          thread.exit = { exitCode: 0 }
          return
      }
    }
  }

  /** INTERRUPT or RECALL of `id`: the request that runs hears it (INTERRUPT only); a queued one is dropped. */
  private stop(thread: ModelThread, id: number, answer: typeof Protocol.INTERRUPTED | typeof Protocol.RECALLED): void {
    const at = thread.held.findIndex((request) => request.id === id)
    if (at < 0) return
    if (at === 0 && thread.ready) {
      if (answer === Protocol.INTERRUPTED) thread.held[0]!.interrupted = true
      return
    }
    thread.held.splice(at, 1)
    if (answer === Protocol.INTERRUPTED) this.answered.add(id)
    thread.outbox.push([Protocol.RESULT, id, answer])
  }

  /** Thread `thread` says it is ready (its entry loaded). */
  ready(thread: ModelThread): void {
    this.version++
    thread.ready = true
    thread.events.onBatch([[Protocol.READY]])
  }

  /** The test answers the request `thread` runs; gives it. */
  answer(thread: ModelThread, how: Answer): Request {
    this.version++
    const request = thread.held.shift()!
    this.answered.add(request.id)
    const n = request.payload as number
    const outcome: Protocol.Outcome = how === "success"
      ? [Protocol.SUCCESS, 2 * n + 1]
      : how === "failure"
      ? [Protocol.FAILURE, `refused ${n}`]
      : how === "defect"
      ? [Protocol.DEFECT, Protocol.encodeDefect(new Error(`defect ${n}`))]
      : [Protocol.INTERRUPTED]
    thread.events.onBatch([[Protocol.RESULT, request.id, ...outcome]])
    return request
  }

  /** The thread dies on its own (an uncaught error, exit code 1), at the next delivery. */
  crash(thread: ModelThread): void {
    this.version++
    thread.exit = { exitCode: 1, error: new Error(`thread ${thread.id} crashed`) }
  }

  /** Whether a delivery would deliver something. */
  pending(): boolean {
    return this.threads.some((thread) =>
      !thread.exited && (thread.exit !== undefined || (thread.ready && thread.outbox.length > 0))
    )
  }

  /** Delivers what the threads said of their own, and the exits decided; gives whether anything was delivered. */
  deliver(): boolean {
    let delivered = false
    for (const thread of this.threads) {
      if (thread.exited) continue
      if (thread.exit === undefined && thread.ready && thread.outbox.length > 0) {
        const batch = thread.outbox.splice(0)
        delivered = true
        this.version++
        thread.events.onBatch(batch)
      }
      if (thread.exit !== undefined) {
        const held = thread.holds()
        thread.exited = true
        thread.held.length = 0
        thread.outbox.length = 0
        delivered = true
        this.version++
        this.onExited({ thread, exit: thread.exit, held })
        thread.events.onExit(thread.exit)
      }
    }
    return delivered
  }
}
