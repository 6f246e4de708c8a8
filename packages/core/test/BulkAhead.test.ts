/**
 * A bulk call's next batch sent ahead on a default pool (one task per thread): over threads the test drives
 * (`support/ModelThreads.ts`, each request answered when the test says), so every step is deterministic. A thread
 * holds its running batch and the next one, none in the backlog; ordinary tasks keep their place in the backlog; a
 * thread that dies fails only the batch it ran, the batch sent ahead behind it runs elsewhere; a free thread takes a
 * batch sent ahead that has not started; interrupting the call frees the threads. And on the thread's side: a batch's
 * answer leaves before the thread starts its next request.
 */
import { Task, ThreadError, ThreadPool, ThreadRunner } from "@effect-threads/core"
import { type RunnerPort, ThreadPlatform } from "@effect-threads/core/ThreadPlatform"
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Protocol from "../src/internal/wire/protocol.ts"
import { failureOf, turn, until } from "./helpers.ts"
import { type ModelThread, ModelThreads, type Request } from "./support/ModelThreads.ts"

const Echo = Task.make("Echo", { payload: Schema.Number, success: Schema.Number })

/** The elements of a batch request, or the payload of a single one. */
const elementsOf = (request: Request): ReadonlyArray<number> | number =>
  Array.isArray(request.payload) ? (request.payload as [0 | 1, ReadonlyArray<number>])[1] : request.payload as number

/** Runs a bulk call on `pool`. */
const on = (pool: ThreadPool.ExecutorShape) => Effect.provideService(ThreadPool.Executor, pool)

/** The first element a thread holds (its running request's), for ordering threads in assertions. */
const firstOf = (thread: ModelThread): number => {
  const first = thread.held[0] === undefined ? Infinity : elementsOf(thread.held[0])
  return typeof first === "number" ? first : first[0] ?? Infinity
}

/** What each live thread holds, as elements, its running request first; the threads ordered by what they run. */
const holdings = (threads: ModelThreads) =>
  threads.alive().toSorted((a, b) => firstOf(a) - firstOf(b)).map((thread) => thread.held.map(elementsOf))

/** The live thread whose running request starts with element `n`. */
const running = (threads: ModelThreads, n: number): ModelThread => {
  const thread = threads.alive().find((thread) => firstOf(thread) === n)
  assert.isDefined(thread, `a thread runs ${n}`)
  return thread!
}

/**
 * Each live thread holds two batches, its running one and one sent ahead, together the four of the call: gives the
 * batches they run, in order.
 */
const sentAhead = (threads: ModelThreads): ReadonlyArray<ReadonlyArray<number> | number> => {
  const held = holdings(threads)
  assert.deepStrictEqual(held.map((requests) => requests.length), held.map(() => 2))
  return held.map((requests) => requests[0]!)
}

/**
 * The thread answers the request it runs: a batch's elements each succeed as themselves, having run for `millis` in
 * all; a single task too.
 */
const answer = (thread: ModelThread, millis = 1): void => {
  const request = thread.held.shift()!
  const elements = elementsOf(request)
  const outcome = Array.isArray(elements) ? [Protocol.SUCCESS, [millis, 0, elements]] : [Protocol.SUCCESS, elements]
  thread.events.onBatch([[Protocol.RESULT, request.id, ...outcome]])
}

/** The thread answers the one-element batch it runs: its element died (a defect, "boom"). */
const dies = (thread: ModelThread): void => {
  const request = thread.held.shift()!
  const defect = [Protocol.DEFECT, Protocol.encodeDefect(new Error("boom"))]
  thread.events.onBatch([[Protocol.RESULT, request.id, Protocol.SUCCESS, [1, [Protocol.DEFECT], [defect.slice(1)]]]])
}

/** Lets the pool and the test's threads settle: what threads said is delivered, turn by turn, until nothing moves. */
const rest = (threads: ModelThreads) =>
  Effect.gen(function*() {
    let quiet = 0
    while (quiet < 5) {
      const before = threads.version
      threads.deliver()
      yield* turn
      quiet = threads.pending() || threads.version !== before ? 0 : quiet + 1
    }
  })

/** Answers every request the threads hold, turn by turn, until none holds any. */
const answerAll = (threads: ModelThreads) =>
  Effect.gen(function*() {
    while (threads.alive().some((thread) => thread.held.length > 0)) {
      for (const thread of threads.alive()) if (thread.held.length > 0) answer(thread)
      yield* rest(threads)
    }
  })

/**
 * A started pool of `size` threads over model threads, all of them ready, and how to close it (the threads' exits
 * delivered as they come), checking that no thread saw a breach of the protocol.
 */
const poolOf = (size: number, options: Partial<ThreadPool.Options> = {}) =>
  Effect.gen(function*() {
    const threads = new ModelThreads(() => Date.now(), () => {}, () => {})
    const scope = yield* Scope.make()
    const pool = yield* ThreadPool.make({
      minThreads: size,
      maxThreads: size,
      logException: () => Effect.void,
      ...options
    }).pipe(
      Effect.provideService(ThreadPlatform, threads.platform),
      Scope.provide(scope)
    )
    yield* Effect.forkChild(pool.start)
    yield* rest(threads)
    for (const thread of threads.alive()) threads.ready(thread)
    yield* rest(threads)
    const close = Effect.gen(function*() {
      const closing = yield* Effect.forkChild(Scope.close(scope, Exit.void))
      while (closing.pollUnsafe() === undefined) yield* rest(threads)
      // No request was sent twice, nor after it was answered, nor held by two threads at once.
      assert.deepStrictEqual(threads.violations, [])
    })
    return { pool, threads, close }
  })

describe("a bulk call's next batch, sent ahead", () => {
  it.effect("each thread holds its running batch and the next, none backlogged; results in order", () =>
    Effect.gen(function*() {
      const { close, pool, threads } = yield* poolOf(2)
      const call = yield* Effect.forkChild(
        ThreadPool.forEach(Echo, [0, 1, 2, 3, 4, 5, 6, 7], { batchSize: 2 }).pipe(on(pool))
      )
      yield* rest(threads)
      assert.deepStrictEqual(sentAhead(threads), [[0, 1], [2, 3]])
      const stats = yield* pool.statistics
      assert.strictEqual(stats.backloggedWorkCount, 0)
      assert.strictEqual(stats.busyWorkerCount, 2)
      assert.strictEqual(stats.tasksInFlight, 4)
      // A thread answers: it goes on with the batch it holds, at once, and stays busy.
      const thread = running(threads, 0)
      const next = elementsOf(thread.held[1]!)
      answer(thread)
      yield* rest(threads)
      assert.deepStrictEqual(thread.held.map(elementsOf), [next])
      assert.strictEqual((yield* pool.statistics).busyWorkerCount, 2)
      yield* answerAll(threads)
      assert.deepStrictEqual(yield* Fiber.join(call), [0, 1, 2, 3, 4, 5, 6, 7])
      const after = yield* pool.statistics
      assert.strictEqual(after.idleWorkerCount, 2)
      assert.strictEqual(after.tasksInFlight, 0)
      yield* close
    }))

  it.effect("a batch measured to run long is not sent ahead: it waits in the backlog for the first free thread", () =>
    Effect.gen(function*() {
      const { close, pool, threads } = yield* poolOf(2)
      const call = yield* Effect.forkChild(
        ThreadPool.forEach(Echo, Array.from({ length: 12 }, (_, i) => i), { batchSize: 2 }).pipe(on(pool))
      )
      yield* rest(threads)
      // The first batches, not measured yet, go ahead.
      assert.deepStrictEqual(sentAhead(threads), [[0, 1], [2, 3]])
      // [0, 1] ran 40 ms (20 an element): its thread goes on with the batch it holds, and the next batch, expected to
      // run 40 ms, waits in the backlog.
      const thread = running(threads, 0)
      answer(thread, 40)
      yield* rest(threads)
      assert.strictEqual(thread.held.length, 1)
      assert.strictEqual((yield* pool.statistics).backloggedWorkCount, 1)
      while (threads.alive().some((thread) => thread.held.length > 0)) {
        for (const thread of threads.alive()) if (thread.held.length > 0) answer(thread, 40)
        yield* rest(threads)
        for (const thread of threads.alive()) assert.isAtMost(thread.held.length, 1)
      }
      assert.deepStrictEqual(yield* Fiber.join(call), Array.from({ length: 12 }, (_, i) => i))
      yield* close
    }))

  it.effect("mapStream: two batches a thread fit in bufferSize, the second sent ahead", () =>
    Effect.gen(function*() {
      const { close, pool, threads } = yield* poolOf(2)
      const stream = yield* Effect.forkChild(
        Stream.range(0, 63).pipe(ThreadPool.mapStream(Echo, { bufferSize: 16 }), Stream.runCollect, on(pool))
      )
      yield* rest(threads)
      // The first batches (one element each, nothing measured yet) answer in no time: the next ones are a quarter of
      // the bound, two a thread.
      assert.deepStrictEqual(sentAhead(threads), [[0], [1]])
      answer(running(threads, 0), 0)
      answer(running(threads, 1), 0)
      yield* rest(threads)
      for (const thread of threads.alive()) if (thread.held.length > 0) answer(thread, 0)
      yield* rest(threads)
      const held = holdings(threads)
      assert.deepStrictEqual(held.map((requests) => requests.length), [2, 2])
      for (const requests of held) for (const request of requests) assert.lengthOf(request as Array<number>, 4)
      yield* answerAll(threads)
      assert.deepStrictEqual(yield* Fiber.join(stream), Array.from({ length: 64 }, (_, i) => i))
      yield* close
    }))

  it.effect("an ordinary task keeps its place in the backlog: it runs after the batch sent ahead, before the next", () =>
    Effect.gen(function*() {
      const { close, pool, threads } = yield* poolOf(1)
      const call = yield* Effect.forkChild(
        ThreadPool.forEach(Echo, [0, 1, 2, 3, 4, 5], { batchSize: 2 }).pipe(on(pool))
      )
      yield* rest(threads)
      const single = yield* Effect.forkChild(pool.deferToThread(Echo, 100))
      yield* rest(threads)
      const thread = threads.alive()[0]!
      assert.deepStrictEqual(holdings(threads), [[[0, 1], [2, 3]]])
      assert.strictEqual((yield* pool.statistics).backloggedWorkCount, 1)
      // The next batch waits behind the task: nothing more is sent ahead while it waits.
      answer(thread)
      yield* rest(threads)
      assert.deepStrictEqual(holdings(threads), [[[2, 3]]])
      answer(thread)
      yield* rest(threads)
      assert.deepStrictEqual(holdings(threads), [[100]])
      answer(thread)
      yield* rest(threads)
      assert.strictEqual(yield* Fiber.join(single), 100)
      assert.deepStrictEqual(holdings(threads), [[[4, 5]]])
      answer(thread)
      yield* rest(threads)
      assert.deepStrictEqual(yield* Fiber.join(call), [0, 1, 2, 3, 4, 5])
      yield* close
    }))

  it.effect("a thread that dies fails the batch it ran; the batch sent ahead behind it runs elsewhere, once", () =>
    Effect.gen(function*() {
      const { close, pool, threads } = yield* poolOf(2)
      const call = yield* Effect.forkChild(
        ThreadPool.forEach(Echo, [0, 1, 2, 3, 4, 5, 6, 7], { batchSize: 2, mode: "exit" }).pipe(on(pool))
      )
      yield* rest(threads)
      assert.deepStrictEqual(sentAhead(threads), [[0, 1], [2, 3]])
      const [first, second] = [running(threads, 0), running(threads, 2)]
      const [aheadOfFirst, aheadOfSecond] = [elementsOf(first.held[1]!), elementsOf(second.held[1]!)]
      threads.crash(first)
      yield* rest(threads)
      // The batch sent ahead to it had not started: it waits for a thread (the replacement, once ready); it does
      // not fail.
      const replacement = threads.alive().find((thread) => thread !== second)!
      threads.ready(replacement)
      yield* rest(threads)
      assert.deepStrictEqual(replacement.held.map(elementsOf), [aheadOfFirst])
      // The second thread answers [2, 3], then dies in the middle of the batch sent ahead to it, which it had
      // started: that one fails.
      answer(second)
      yield* rest(threads)
      threads.crash(second)
      yield* rest(threads)
      for (const thread of threads.alive()) if (!thread.ready) threads.ready(thread)
      yield* rest(threads)
      yield* answerAll(threads)
      const exits = yield* Fiber.join(call)
      const crashed = exits.flatMap((exit, i) =>
        Exit.isFailure(exit) && failureOf(exit) instanceof ThreadError.ThreadCrashed ? [i] : []
      )
      assert.deepStrictEqual(crashed, [0, 1, ...aheadOfSecond as ReadonlyArray<number>].toSorted((a, b) => a - b))
      assert.deepStrictEqual(
        exits.filter(Exit.isSuccess).map((exit) => exit.value),
        [2, 3, ...aheadOfFirst as ReadonlyArray<number>].toSorted((a, b) => a - b)
      )
      assert.strictEqual((yield* pool.statistics).threadsCrashed, 2)
      yield* close
    }))

  it.effect("stop while a batch waits ahead, then the thread dies: the call and stop both end", () =>
    Effect.gen(function*() {
      const { close, pool, threads } = yield* poolOf(1)
      const call = yield* Effect.forkChild(
        ThreadPool.forEach(Echo, [0, 1, 2, 3, 4, 5], { batchSize: 2, mode: "exit" }).pipe(on(pool))
      )
      yield* rest(threads)
      assert.deepStrictEqual(holdings(threads), [[[0, 1], [2, 3]]])
      const stopping = yield* Effect.forkChild(pool.stop)
      yield* rest(threads)
      threads.crash(threads.alive()[0]!)
      yield* rest(threads)
      // the batch that ran fails with the thread; what had not started fails as a stopped pool's work does
      const tags = (yield* Fiber.join(call)).map((exit) =>
        Exit.isSuccess(exit) ? "ran" : (failureOf(exit) as { readonly _tag: string })._tag
      )
      assert.deepStrictEqual(tags, [
        "ThreadCrashed",
        "ThreadCrashed",
        "AlreadyQuit",
        "AlreadyQuit",
        "AlreadyQuit",
        "AlreadyQuit"
      ])
      yield* Fiber.join(stopping)
      const stats = yield* pool.statistics
      assert.deepStrictEqual([stats.backloggedWorkCount, stats.tasksInFlight], [0, 0])
      yield* close
    }))

  it.effect("a thread that retires after its task (recycle) gets nothing sent ahead: no thread runs past it", () =>
    Effect.gen(function*() {
      for (const recycle of [{ afterTasks: 1 }, { heapAbove: 1e12 }]) {
        const { close, pool, threads } = yield* poolOf(1, { recycle })
        const call = yield* Effect.forkChild(
          ThreadPool.forEach(Echo, [0, 1, 2, 3, 4, 5], { batchSize: 2 }).pipe(on(pool))
        )
        yield* rest(threads)
        // one batch on the one thread, the others in the backlog
        assert.deepStrictEqual(holdings(threads), [[[0, 1]]])
        while (call.pollUnsafe() === undefined) {
          for (const thread of threads.alive()) if (!thread.ready && !thread.leaving) threads.ready(thread)
          // never two threads at work with maxThreads 1, nor two batches on one
          assert.isAtMost(threads.alive().filter((thread) => thread.held.length > 0).length, 1)
          assert.isTrue(threads.alive().every((thread) => thread.held.length <= 1))
          for (const thread of threads.alive()) if (thread.held.length > 0) answer(thread)
          yield* rest(threads)
        }
        assert.deepStrictEqual(yield* Fiber.join(call), [0, 1, 2, 3, 4, 5])
        yield* close
      }
    }))

  it.effect("a thread that becomes free takes back a batch sent ahead that has not started", () =>
    Effect.gen(function*() {
      const { close, pool, threads } = yield* poolOf(2)
      const call = yield* Effect.forkChild(ThreadPool.forEach(Echo, [0, 1, 2, 3], { batchSize: 1 }).pipe(on(pool)))
      yield* rest(threads)
      assert.deepStrictEqual(sentAhead(threads), [[0], [1]])
      const [first, second] = [running(threads, 0), running(threads, 1)]
      const waiting = elementsOf(first.held[1]!)
      answer(second)
      yield* rest(threads)
      answer(second)
      yield* rest(threads)
      // The second thread is free while a batch waits behind [0]: it takes it.
      assert.deepStrictEqual(first.held.map(elementsOf), [[0]])
      assert.deepStrictEqual(second.held.map(elementsOf), [waiting])
      yield* answerAll(threads)
      assert.deepStrictEqual(yield* Fiber.join(call), [0, 1, 2, 3])
      yield* close
    }))

  it.effect("a batch asked back after it started runs where it is, and later batches are still taken back", () =>
    Effect.gen(function*() {
      const { close, pool, threads } = yield* poolOf(2)
      const call = yield* Effect.forkChild(ThreadPool.forEach(Echo, [0, 1, 2, 3], { batchSize: 1 }).pipe(on(pool)))
      yield* rest(threads)
      assert.deepStrictEqual(sentAhead(threads), [[0], [1]])
      const [first, second] = [running(threads, 0), running(threads, 1)]
      const waiting = elementsOf(first.held[1]!)
      answer(second)
      yield* rest(threads)
      // The second thread becomes free and asks back the batch waiting behind [0]; in the same turn, before that
      // reaches the first thread, the first answers [0] and starts it: the request to give it back comes too late.
      answer(second)
      answer(first)
      yield* rest(threads)
      assert.deepStrictEqual(first.held.map(elementsOf), [waiting])
      assert.deepStrictEqual(second.held, [])
      yield* answerAll(threads)
      assert.deepStrictEqual(yield* Fiber.join(call), [0, 1, 2, 3])
      // The next call: a free thread still takes back a batch sent ahead to the other.
      const again = yield* Effect.forkChild(ThreadPool.forEach(Echo, [4, 5, 6, 7], { batchSize: 1 }).pipe(on(pool)))
      yield* rest(threads)
      assert.deepStrictEqual(sentAhead(threads), [[4], [5]])
      const [busy, free] = [running(threads, 4), running(threads, 5)]
      const behind = elementsOf(busy.held[1]!)
      answer(free)
      yield* rest(threads)
      answer(free)
      yield* rest(threads)
      assert.deepStrictEqual(busy.held.map(elementsOf), [[4]])
      assert.deepStrictEqual(free.held.map(elementsOf), [behind])
      yield* answerAll(threads)
      assert.deepStrictEqual(yield* Fiber.join(again), [4, 5, 6, 7])
      yield* close
    }))

  it.effect("interrupting the call interrupts both batches on a thread; the thread is free after", () =>
    Effect.gen(function*() {
      const { close, pool, threads } = yield* poolOf(1)
      const call = yield* Effect.forkChild(
        ThreadPool.forEach(Echo, [0, 1, 2, 3, 4, 5], { batchSize: 2 }).pipe(on(pool))
      )
      yield* rest(threads)
      const thread = threads.alive()[0]!
      assert.deepStrictEqual(holdings(threads), [[[0, 1], [2, 3]]])
      const interrupting = yield* Effect.forkChild(Fiber.interrupt(call))
      yield* rest(threads)
      // The batch sent ahead was dropped by the thread; the running one was asked to stop.
      assert.deepStrictEqual(holdings(threads), [[[0, 1]]])
      assert.isTrue(thread.held[0]!.interrupted)
      const request = thread.held.shift()!
      thread.events.onBatch([[Protocol.RESULT, request.id, Protocol.INTERRUPTED]])
      yield* rest(threads)
      yield* Fiber.join(interrupting)
      assert.isTrue(Exit.hasInterrupts(yield* Fiber.await(call)))
      const stats = yield* pool.statistics
      assert.strictEqual(stats.idleWorkerCount, 1)
      assert.strictEqual(stats.busyWorkerCount, 0)
      assert.strictEqual(stats.tasksInFlight, 0)
      // The thread takes work again.
      const next = yield* Effect.forkChild(pool.deferToThread(Echo, 9))
      yield* rest(threads)
      answer(thread)
      yield* rest(threads)
      assert.strictEqual(yield* Fiber.join(next), 9)
      yield* close
    }))

  it.effect("ordered, mapStream gives the results before a failed batch and then fails, though it failed first", () =>
    Effect.gen(function*() {
      const { close, pool, threads } = yield* poolOf(2)
      const taken: Array<number> = []
      const stream = yield* Effect.forkChild(
        Stream.make(0, 1, 2, 3).pipe(
          ThreadPool.mapStream(Echo, { batchSize: 1 }),
          Stream.runForEach((n) => Effect.sync(() => taken.push(n))),
          on(pool),
          Effect.exit
        )
      )
      yield* rest(threads)
      assert.deepStrictEqual(sentAhead(threads), [[0], [1]])
      // [1] dies first: nothing is given yet, nothing fails yet, and the batches after it are interrupted.
      const failing = running(threads, 1)
      dies(failing)
      yield* rest(threads)
      assert.isUndefined(stream.pollUnsafe())
      assert.deepStrictEqual(taken, [])
      for (const thread of threads.alive()) {
        for (const held of thread.held) {
          if (firstOf(thread) !== 0 || held !== thread.held[0]) assert.isTrue(held.interrupted)
        }
      }
      // [0] answers: it is given, then the stream fails with [1]'s defect (once the batches interrupted have ended).
      answer(running(threads, 0))
      yield* rest(threads)
      while (stream.pollUnsafe() === undefined) {
        for (const thread of threads.alive()) {
          const held = thread.held.shift()
          if (held !== undefined) thread.events.onBatch([[Protocol.RESULT, held.id, Protocol.INTERRUPTED]])
        }
        yield* rest(threads)
      }
      const exit = yield* Fiber.join(stream)
      assert.deepStrictEqual(taken, [0])
      assert.isTrue(Exit.isFailure(exit) && Cause.hasDies(exit.cause))
      yield* close
    }))

  it.effect("ordered, an upstream that fails after a batch failed replaces neither that failure nor earlier results", () =>
    Effect.gen(function*() {
      const { close, pool, threads } = yield* poolOf(2)
      const taken: Array<number> = []
      const gate = yield* Deferred.make<void, string>()
      const stream = yield* Effect.forkChild(
        Stream.make(0, 1).pipe(
          Stream.concat(Stream.fromEffect(Deferred.await(gate)).pipe(Stream.as(9))),
          ThreadPool.mapStream(Echo, { batchSize: 1 }),
          Stream.runForEach((n) => Effect.sync(() => taken.push(n))),
          on(pool),
          Effect.exit
        )
      )
      yield* rest(threads)
      // [1] dies first, then the upstream fails, then [0] answers
      const failing = running(threads, 1)
      dies(failing)
      yield* rest(threads)
      yield* Deferred.fail(gate, "upstream")
      yield* rest(threads)
      while (stream.pollUnsafe() === undefined) {
        for (const thread of threads.alive()) if (thread.held.length > 0) answer(thread)
        yield* rest(threads)
      }
      const exit = yield* Fiber.join(stream)
      assert.deepStrictEqual(taken, [0])
      assert.isTrue(Exit.isFailure(exit) && Cause.hasDies(exit.cause) && !Cause.hasFails(exit.cause))
      yield* close
    }))

  it.live("a thread posts a batch's answer before it starts its next request", () =>
    Effect.gen(function*() {
      const posts: Array<ReadonlyArray<ReadonlyArray<unknown>>> = []
      let deliver: ((batch: unknown) => void) | undefined
      const port: RunnerPort = {
        post: (batch) => void posts.push(structuredClone(batch) as ReadonlyArray<ReadonlyArray<unknown>>),
        listen: (onBatch) => {
          deliver = onBatch
        },
        close: () => {}
      }
      const fiber = ThreadRunner.serve(port, [Task.implement(Echo, (n) => Effect.succeed(n))])
      yield* until("the runner listens", Effect.sync(() => deliver !== undefined))
      // Two batches and a single task in one message, each answered at once: each batch's answer is a post of its own.
      deliver!([
        [Protocol.RUN, 1, "effect-threads/batch:Echo", [1, [1, 2]]],
        [Protocol.RUN, 2, "effect-threads/batch:Echo", [1, [3]]],
        [Protocol.RUN, 3, "Echo", 4]
      ])
      yield* until("the single task is answered", Effect.sync(() => posts.length === 4))
      const results = posts.slice(1).map((batch) => batch.map((message) => message.slice(0, 3)))
      assert.deepStrictEqual(results, [
        [[Protocol.RESULT, 1, Protocol.SUCCESS]],
        [[Protocol.RESULT, 2, Protocol.SUCCESS]],
        [[Protocol.RESULT, 3, Protocol.SUCCESS]]
      ])
      yield* Fiber.interrupt(fiber)
    }))
})
