/**
 * The harness of the pool's model test (`PoolModel.property.test.ts`): the pool under test, made with
 * `ThreadPool.make` over the threads the test drives (`ModelThreads.ts`) with the TestClock, the steps, and the model
 * of what each step must have done, checked once the pool is at rest.
 */
import { ThreadPool } from "@effect-threads/core"
import { ThreadPlatform } from "@effect-threads/core/ThreadPlatform"
import { assert } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import { TestClock } from "effect/testing"
import { type Call, Echo, failureTag, type Kind, kindOf } from "./ModelCalls.ts"
import { type Answer, type Exited, type ModelThread, ModelThreads } from "./ModelThreads.ts"

const startTimeout = 2_500
const grace = 1_000
/** Each step of time: no deadline (a multiple of it plus one of the two above) falls on one exactly. */
const tick = 700

/** One step. */
export type Op =
  | { readonly _tag: "Submit"; readonly key: string | undefined; readonly priority: number }
  | { readonly _tag: "Ready"; readonly i: number }
  | { readonly _tag: "Answer"; readonly i: number; readonly how: number }
  | { readonly _tag: "Crash"; readonly i: number }
  | { readonly _tag: "ThrowNextSpawn" }
  | { readonly _tag: "Interrupt"; readonly i: number }
  | { readonly _tag: "Adjust"; readonly min: number; readonly max: number }
  | { readonly _tag: "Advance" }
  | { readonly _tag: "Start" }
  | { readonly _tag: "Stop" }
  | { readonly _tag: "Close" }

/** The pool's options, drawn. */
export type Config = {
  readonly minThreads: number
  readonly extra: number
  readonly capacity: number
  started: boolean
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

type PoolShape = Effect.Success<ReturnType<typeof ThreadPool.make>>

/** The pool under test, the threads the test drives, and the model of what must have happened. */
class Harness {
  readonly calls: Array<Call> = []
  readonly threads: ModelThreads
  /** Other fibers (start, stop, close, ...): each must end, and how. */
  readonly others: Array<{ readonly what: string; readonly fiber: Fiber.Fiber<unknown, unknown>; now: boolean }> = []
  readonly interruptedAt = new Map<Call, number>()
  readonly sentOnce = new Set<Call>()
  /** The call being submitted in this step. */
  submitting: Call | undefined = undefined
  /** The thread each key was last sent to. */
  readonly bound = new Map<string, ModelThread>()
  stopFiber: Fiber.Fiber<void, unknown> | undefined = undefined
  closeFiber: Fiber.Fiber<void> | undefined = undefined
  quitting = false
  closing = false
  now = 0
  crashes = 0
  terminations = 0
  thrownBefore = 0
  size: { minThreads: number; maxThreads: number }
  /** Bumped when a fiber of the test ends: part of what must stop moving for the pool to be at rest. */
  ended = 0
  readonly context: Context.Context<never>
  readonly root: Scope.Closeable
  readonly poolScope: Scope.Closeable
  pool!: PoolShape

  constructor(config: Config) {
    this.root = Scope.makeUnsafe()
    this.poolScope = Scope.makeUnsafe()
    this.context = Effect.runSync(Layer.buildWithScope(TestClock.layer({ warningDelay: "1 hour" }), this.root))
    const clock = Context.get(this.context, Clock.Clock)
    this.threads = new ModelThreads(
      () => clock.currentTimeMillisUnsafe(),
      (exited) => this.exited(exited),
      (thread, request) => this.sent(thread, this.calls[request.payload as number]!)
    )
    this.size = { minThreads: config.minThreads, maxThreads: config.minThreads + config.extra }
  }

  async open(config: Config): Promise<void> {
    this.pool = await Effect.runPromiseWith(this.context)(
      ThreadPool.make({
        ...this.size,
        concurrentTasksPerThread: config.capacity,
        startTimeout: `${startTimeout} millis`,
        interruptGracePeriod: `${grace} millis`,
        logException: () => Effect.void
      }).pipe(Scope.provide(this.poolScope), Effect.provideService(ThreadPlatform, this.threads.platform))
    )
    if (config.started) this.fork("start", this.pool.start)
    await this.rest()
    this.check()
  }

  /**
   * A request reaches a thread. A key's tasks go one at a time, in the order they were submitted, to the thread the
   * key is bound to while that thread takes work; a task without a key, sent for the first time, leaves no waiting
   * task without a key of a higher priority, or of its priority and older, behind.
   */
  sent(thread: ModelThread, call: Call): void {
    const violations = this.threads.violations
    // A spawn that threw this step settled what it took before the model could see it: nothing to compare with.
    if (this.threads.spawnsThrown > this.thrownBefore) return
    // Settled as far as the model knows (a caller resumes a turn after its task settled).
    const pending = this.calls.filter((other) =>
      other.expected === undefined && !(other.interrupted && this.threads.holderOf(other.n) === undefined)
    )
    const first = !this.sentOnce.has(call)
    this.sentOnce.add(call)
    const waiting = (other: Call) =>
      other !== call && other.key === undefined && !other.interrupted && this.threads.holderOf(other.n) === undefined
    if (call.key === undefined) {
      // A task just submitted takes an idle or a new thread before the backlog is looked at (Twisted's Team).
      if (call === this.submitting) return
      const before = pending.filter((other) =>
        waiting(other) && (other.priority > call.priority || (other.priority === call.priority && other.n < call.n))
      )
      if (first && before.length > 0) {
        violations.push(`call ${call.n} (priority ${call.priority}) sent before ${before.map((o) => o.n).join(", ")}`)
      }
      return
    }
    const ahead = pending.filter((other) => other.key === call.key && other.n < call.n)
    if (ahead.length > 0) violations.push(`call ${call.n} of key ${call.key} sent before ${ahead[0]!.n}`)
    const bound = this.bound.get(call.key)
    if (bound !== undefined && bound !== thread && bound.live && !bound.leaving) {
      violations.push(`call ${call.n} of key ${call.key} sent to thread ${thread.id}, not ${bound.id}`)
    }
    this.bound.set(call.key, thread)
  }

  fork<A, E>(what: string, effect: Effect.Effect<A, E>, now = false): Fiber.Fiber<A, E> {
    const fiber = Effect.runForkWith(this.context)(effect)
    fiber.addObserver(() => void this.ended++)
    this.others.push({ what, fiber, now })
    return fiber
  }

  /**
   * A thread's exit was delivered: what it held settles, unless the scope closed (that settled everything). A thread
   * that was not ready failed to start, unless the pool terminated it because an interrupted request it held was not
   * answered within the grace period before its start timeout: the pool then counts it as terminated while it held
   * work, and fails the rest of what it held with ThreadCrashed, as for a thread that was serving.
   */
  exited({ exit, held, thread }: Exited): void {
    if (this.closing) return
    const calls = held.map((id) => this.calls[this.threads.payloads.get(id) as number]!)
    const graceEnds = Math.min(
      ...calls.filter((call) => call.interrupted).map((call) => this.interruptedAt.get(call)! + grace)
    )
    const serving = thread.ready || (exit.terminated === true && graceEnds < thread.spawnedAt + startTimeout)
    if (serving && held.length > 0) {
      if (exit.terminated === true) this.terminations++
      else this.crashes++
    }
    for (const call of calls) this.settle(call, serving ? "ThreadCrashed" : "ThreadStartFailed")
  }

  settle(call: Call, kind: Kind): void {
    assert.isUndefined(call.expected, `call ${call.n} settled twice (${call.expected}, then ${kind})`)
    call.expected = call.interrupted ? "interrupted" : kind
  }

  /** Waits until the pool is at rest: nothing to deliver and nothing moving for a few turns of the event loop. */
  async rest(): Promise<void> {
    let quiet = 0
    for (let i = 0; i < 5_000; i++) {
      const before = this.threads.version + this.ended
      this.threads.deliver()
      await turn()
      if (this.threads.pending() || this.threads.version + this.ended !== before) quiet = 0
      else if (++quiet === 5) return
    }
    assert.fail("the pool never came to rest")
  }

  pending(): Array<Call> {
    return this.calls.filter((call) => call.fiber.pollUnsafe() === undefined)
  }

  pick<A>(items: ReadonlyArray<A>, i: number): A | undefined {
    return items.length === 0 ? undefined : items[i % items.length]
  }

  async step(op: Op): Promise<void> {
    this.thrownBefore = this.threads.spawnsThrown
    this.submitting = undefined
    const live = this.threads.threads.filter((thread) => thread.live)
    switch (op._tag) {
      case "Submit": {
        const n = this.calls.length
        const fiber = Effect.runForkWith(this.context)(
          this.pool.deferToThread(Echo, n, { key: op.key, priority: op.priority })
        )
        const call: Call = {
          n,
          key: op.key,
          priority: op.priority,
          fiber,
          interrupted: false,
          expected: undefined,
          exits: 0
        }
        fiber.addObserver(() => {
          call.exits++
          this.ended++
        })
        this.calls.push(call)
        this.submitting = call
        if (this.quitting) this.settle(call, "AlreadyQuit")
        break
      }
      case "Ready": {
        const thread = this.pick(live.filter((thread) => !thread.ready), op.i)
        if (thread !== undefined) this.threads.ready(thread)
        break
      }
      case "Answer": {
        const thread = this.pick(live.filter((thread) => thread.ready && thread.held.length > 0), op.i)
        if (thread === undefined) break
        const how: Answer = op.how === 3
          ? thread.held[0]!.interrupted ? "interrupted" : "success"
          : (["success", "failure", "defect"] as const)[op.how]!
        const request = this.threads.answer(thread, how)
        this.settle(this.calls[request.payload as number]!, how)
        break
      }
      case "Crash": {
        const thread = this.pick(live, op.i)
        if (thread !== undefined) this.threads.crash(thread)
        break
      }
      case "ThrowNextSpawn":
        this.threads.throwNext = 1
        break
      case "Interrupt": {
        const call = this.pick(this.pending().filter((call) => !call.interrupted), op.i)
        if (call === undefined) break
        call.interrupted = true
        this.interruptedAt.set(call, this.now)
        call.fiber.interruptUnsafe()
        break
      }
      case "Adjust": {
        const size = { minThreads: op.min, maxThreads: op.max }
        const exit = await Effect.runPromiseWith(this.context)(Effect.exit(this.pool.adjustPoolsize(size)))
        if (op.min > op.max) assert.strictEqual(failureTag(exit), "InvalidOptions")
        else {
          assert.isTrue(Exit.isSuccess(exit), `adjustPoolsize ${JSON.stringify(size)}`)
          this.size = size
        }
        break
      }
      case "Advance":
        await Effect.runPromiseWith(this.context)(TestClock.adjust(tick))
        this.now += tick
        break
      case "Start":
        this.fork("start", this.pool.start, this.quitting)
        break
      case "Stop":
        if (this.quitting) this.fork("a second stop", this.pool.stop, true)
        else {
          this.quitting = true
          this.stopFiber = this.fork("stop", this.pool.stop)
        }
        break
      case "Close":
        if (this.closing) break
        this.quitting = true
        this.closing = true
        for (const call of this.calls) if (call.expected === undefined) call.expected = "interrupted"
        this.closeFiber = this.fork("close", Scope.close(this.poolScope, Exit.void))
        break
    }
    await this.rest()
    this.check()
  }

  /** After every step, at rest: the model's expectations. */
  check(): void {
    assert.deepStrictEqual(this.threads.violations, [], "the wire protocol was kept")
    const alive = this.threads.alive()
    const spawnThrew = this.threads.spawnsThrown > this.thrownBefore
    // `stop` returns once no thread is left; what no thread ran fails with AlreadyQuit.
    if (this.stopFiber !== undefined && !this.closing && alive.length === 0) {
      for (const call of this.calls) {
        if (call.expected === undefined && !call.interrupted) this.settle(call, "AlreadyQuit")
      }
    }
    for (const call of this.calls) {
      const exit = call.fiber.pollUnsafe()
      const held = this.threads.holderOf(call.n) !== undefined
      const due = call.expected !== undefined || (call.interrupted && !held)
      if (exit === undefined) {
        assert.isFalse(due, `call ${call.n} should have ended (${call.expected ?? "interrupted"})`)
        continue
      }
      const kind = kindOf(call, exit)
      if (!due) {
        // A spawn that throws fails what was placed on its thread before the platform heard of it.
        assert.isTrue(spawnThrew && kind === "ThreadStartFailed", `call ${call.n} ended unexpectedly: ${kind}`)
        this.settle(call, "ThreadStartFailed")
      }
      assert.strictEqual(kind, call.interrupted ? "interrupted" : call.expected, `how call ${call.n} ended`)
      assert.strictEqual(call.exits, 1, `call ${call.n} ended once`)
    }
    const pending = this.pending()
    const s = Effect.runSync(this.pool.statistics)
    assert.strictEqual(s.idleWorkerCount + s.busyWorkerCount, s.workerCount, "idle + busy = workerCount")
    assert.strictEqual(s.workerCount, alive.length, "workerCount = the threads alive")
    const busy = alive.filter((thread) => thread.holds().length > 0).length
    assert.strictEqual(s.busyWorkerCount, busy, "busy = the threads holding a request")
    assert.strictEqual(s.tasksInFlight, pending.length, "tasksInFlight = the callers waiting")
    const blocked = (call: Call) =>
      call.key !== undefined && pending.some((other) => other.key === call.key && other.n < call.n)
    const backlog = pending.filter((call) => this.threads.holderOf(call.n) === undefined && !blocked(call)).length
    assert.strictEqual(s.backloggedWorkCount, backlog, "backloggedWorkCount")
    assert.strictEqual(s.waitingForRoom, 0)
    assert.strictEqual(s.threadsStarted, this.threads.threads.length + this.threads.spawnsThrown, "threadsStarted")
    assert.strictEqual(s.threadsCrashed, this.crashes, "threadsCrashed")
    assert.strictEqual(s.threadsTerminated, this.terminations, "threadsTerminated")
    assert.deepStrictEqual(Effect.runSync(this.pool.size), this.size, "size")
    for (const thread of alive) {
      if (thread.ready) continue
      const age = this.now - thread.spawnedAt
      assert.isBelow(age, startTimeout, `thread ${thread.id}, not ready, outlived the start timeout`)
    }
    for (const call of pending) {
      if (!call.interrupted) continue
      const since = this.now - this.interruptedAt.get(call)!
      assert.isBelow(since, grace, `call ${call.n}, interrupted, outlived the grace period`)
    }
    const gone = alive.length === 0
    if (this.stopFiber !== undefined) assert.strictEqual(this.stopFiber.pollUnsafe() !== undefined, gone, "stop ends")
    if (this.closeFiber !== undefined) assert.strictEqual(this.closeFiber.pollUnsafe() !== undefined, gone, "close")
    for (const other of this.others) {
      const exit = other.fiber.pollUnsafe()
      if (other.now) assert.strictEqual(failureTag(exit ?? Exit.void), "AlreadyQuit", `${other.what} after quit`)
      else if (exit !== undefined && Exit.isFailure(exit)) {
        assert.include(["ThreadStartFailed", "AlreadyQuit"], failureTag(exit), `how ${other.what} failed`)
      }
    }
  }

  /** Closes the pool (if the steps did not) and checks that everything ended and no thread is left. */
  async finish(): Promise<void> {
    if (!this.closing) await this.step({ _tag: "Close" })
    assert.deepStrictEqual(this.threads.alive(), [], "no thread is left")
    for (const call of this.calls) assert.isDefined(call.fiber.pollUnsafe(), `call ${call.n} ended`)
    for (const other of this.others) assert.isDefined(other.fiber.pollUnsafe(), `${other.what} ended`)
    const s = Effect.runSync(this.pool.statistics)
    assert.deepStrictEqual(
      [s.workerCount, s.busyWorkerCount, s.idleWorkerCount, s.tasksInFlight, s.backloggedWorkCount],
      [0, 0, 0, 0, 0]
    )
  }

  /** After a failure: ends what is left, whatever state the pool is in. */
  async dispose(): Promise<void> {
    if (!this.closing) {
      this.closing = true
      Effect.runForkWith(this.context)(Scope.close(this.poolScope, Exit.void))
    }
    for (let i = 0; i < 100 && this.threads.alive().length > 0; i++) {
      this.threads.deliver()
      await turn()
    }
    for (const call of this.calls) call.fiber.interruptUnsafe()
    await Effect.runPromise(Scope.close(this.root, Exit.void))
  }
}

/** Runs the steps on a new pool, checking after each one; closes the pool and checks that nothing is left. */
export const scenario = async (config: Config, ops: ReadonlyArray<Op>): Promise<void> => {
  const harness = new Harness(config)
  try {
    await harness.open(config)
    for (const op of ops) await harness.step(op)
    await harness.finish()
  } finally {
    await harness.dispose()
  }
}
