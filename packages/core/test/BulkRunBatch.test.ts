/**
 * `ThreadPool.forEach` on an executor that runs batches elsewhere (`ExecutorShape.runBatch`, the cluster's): the
 * input cut into batches, results in order, the first failure fails the call and interrupts the batches in flight,
 * `mode: "exit"` (a batch that fails as a whole gives its failure to each of its elements), `discard`, `batchSize`,
 * and a `key` still element by element. The executor here is the test's: it records every request it is given.
 */
import { AlreadyQuit, Task, ThreadPool } from "@effect-threads/core"
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { failureOf } from "./helpers.ts"

class Odd extends Schema.TaggedError<Odd>()("Odd", { n: Schema.Number }) {}

const EvenOnly = Task.make("EvenOnly", { payload: Schema.Number, success: Schema.Number, failure: Odd })

/** What the test's executor saw: each batch's payloads and options, each single run's payload. */
interface Seen {
  readonly batches: Array<{ readonly payloads: ReadonlyArray<number>; readonly options: ThreadPool.BatchRunOptions }>
  readonly singles: Array<number>
  interrupted: number
}

const outcome = (n: number): Exit.Exit<number, Odd> => n % 2 === 0 ? Exit.succeed(n * 10) : Exit.fail(new Odd({ n }))

/**
 * An executor whose `runBatch` answers each element as `outcome` says (all of them, or up to the first failure
 * with `failFast`); a payload of -1 makes its batch wait until interrupted; -2 makes its batch fail as a whole.
 */
const executorOf = (seen: Seen, entered?: Deferred.Deferred<void>): ThreadPool.ExecutorShape => {
  const unused = Effect.die("not used by forEach")
  const executor: ThreadPool.ExecutorShape = {
    name: "batches",
    deferToThread: (_task, payload) => {
      seen.singles.push(payload as number)
      return Effect.flatten(Effect.succeed(outcome(payload as number))) as never
    },
    callInThread: () => unused,
    callInThreadWithCallback: () => unused,
    callMultipleInThread: () => unused,
    stream: () => Stream.die("not used by forEach"),
    stop: Effect.void,
    statistics: unused,
    dumpStats: Effect.void,
    runBatch: (_task, payloads, options) =>
      Effect.suspend(() => {
        const batch = payloads as ReadonlyArray<number>
        seen.batches.push({ payloads: batch, options })
        if (batch.includes(-1)) {
          return (entered === undefined
            ? Effect.never
            : Effect.andThen(Deferred.succeed(entered, void 0), Effect.never))
            .pipe(Effect.onInterrupt(() => Effect.sync(() => seen.interrupted++)))
        }
        if (batch.includes(-2)) return Effect.fail(new AlreadyQuit.AlreadyQuit())
        const exits: Array<Exit.Exit<number, Odd>> = []
        for (const n of batch) {
          const exit = outcome(n)
          exits.push(exit)
          if (options.failFast && Exit.isFailure(exit)) break
        }
        return Effect.succeed(exits) as never
      })
  }
  return executor
}

const fresh = (): Seen => ({ batches: [], singles: [], interrupted: 0 })

describe("forEach over an executor's runBatch", () => {
  it.effect("cuts the input into batches, gives the results in order, and passes the run options", () =>
    Effect.gen(function*() {
      const seen = fresh()
      const input = Array.from({ length: 100 }, (_, i) => 2 * i)
      const results = yield* ThreadPool.forEach(EvenOnly, input, { concurrency: 4, priority: 3 }).pipe(
        Effect.provideService(ThreadPool.Executor, executorOf(seen))
      )
      assert.deepStrictEqual(results, input.map((n) => n * 10))
      // about a 2 * concurrency th of the input a batch: 100 / 8, rounded up
      assert.deepStrictEqual(seen.batches.map((b) => b.payloads.length), [13, 13, 13, 13, 13, 13, 13, 9])
      assert.deepStrictEqual(seen.batches.flatMap((b) => b.payloads), input)
      assert.isTrue(seen.batches.every((b) => b.options.failFast && b.options.priority === 3))
      assert.deepStrictEqual(seen.singles, [])
    }))

  it.effect("batchSize sets the size; an empty input sends nothing", () =>
    Effect.gen(function*() {
      const seen = fresh()
      const executor = executorOf(seen)
      const results = yield* ThreadPool.forEach(EvenOnly, [0, 2, 4, 6, 8], { batchSize: 2 }).pipe(
        Effect.provideService(ThreadPool.Executor, executor)
      )
      assert.deepStrictEqual(results, [0, 20, 40, 60, 80])
      assert.deepStrictEqual(seen.batches.map((b) => b.payloads), [[0, 2], [4, 6], [8]])
      const none = yield* ThreadPool.forEach(EvenOnly, [], { batchSize: 2 }).pipe(
        Effect.provideService(ThreadPool.Executor, executor)
      )
      assert.deepStrictEqual(none, [])
      assert.strictEqual(seen.batches.length, 3)
    }))

  it.effect("the first failure fails the call with the task's own error; discard gives nothing", () =>
    Effect.gen(function*() {
      const seen = fresh()
      const executor = executorOf(seen)
      const failure = failureOf(
        yield* Effect.exit(
          ThreadPool.forEach(EvenOnly, [0, 2, 3, 4, 5], { batchSize: 10 }).pipe(
            Effect.provideService(ThreadPool.Executor, executor)
          )
        )
      )
      assert.deepStrictEqual(failure, new Odd({ n: 3 }))
      const discarded = yield* ThreadPool.forEach(EvenOnly, [0, 2, 4], { discard: true }).pipe(
        Effect.provideService(ThreadPool.Executor, executor)
      )
      assert.isUndefined(discarded)
    }))

  it.effect("a failure interrupts the batches still in flight", () =>
    Effect.gen(function*() {
      const seen = fresh()
      const entered = yield* Deferred.make<void>()
      const executor = executorOf(seen, entered)
      // the hanging batch is sent first; the failing one fails once the hanging one is in flight
      const failing = Effect.andThen(Deferred.await(entered), Effect.succeed(Exit.fail(new Odd({ n: 1 }))))
      const gated: ThreadPool.ExecutorShape = {
        ...executor,
        runBatch: (task, payloads, options) =>
          (payloads as ReadonlyArray<number>).includes(1)
            ? Effect.map(failing, (exit) => [exit as never])
            : executor.runBatch!(task, payloads, options)
      }
      const failure = failureOf(
        yield* Effect.exit(
          ThreadPool.forEach(EvenOnly, [-1, 1], { batchSize: 1, concurrency: 2 }).pipe(
            Effect.provideService(ThreadPool.Executor, gated)
          )
        )
      )
      assert.deepStrictEqual(failure, new Odd({ n: 1 }))
      assert.strictEqual(seen.interrupted, 1)
    }))

  it.effect("mode exit: every element's Exit; a batch that fails as a whole gives its failure to each element", () =>
    Effect.gen(function*() {
      const seen = fresh()
      const exits = yield* ThreadPool.forEach(EvenOnly, [0, 1, -2, 2], { mode: "exit", batchSize: 2 }).pipe(
        Effect.provideService(ThreadPool.Executor, executorOf(seen))
      )
      assert.deepStrictEqual(exits[0], Exit.succeed(0))
      assert.deepStrictEqual(exits[1], Exit.fail(new Odd({ n: 1 })))
      assert.strictEqual(exits.length, 4)
      for (const exit of exits.slice(2)) {
        assert.isTrue(Exit.isFailure(exit) && Cause.squash(exit.cause) instanceof AlreadyQuit.AlreadyQuit)
      }
      assert.isTrue(seen.batches.every((b) => !b.options.failFast))
    }))

  it.effect("with a key, elements run one by one over deferToThread (in order, on the key's worker)", () =>
    Effect.gen(function*() {
      const seen = fresh()
      const results = yield* ThreadPool.forEach(EvenOnly, [0, 2, 4], { key: "k" }).pipe(
        Effect.provideService(ThreadPool.Executor, executorOf(seen))
      )
      assert.deepStrictEqual(results, [0, 20, 40])
      assert.deepStrictEqual(seen.singles, [0, 2, 4])
      assert.strictEqual(seen.batches.length, 0)
    }))

  it.effect("mapStream: each upstream chunk cut into batches of batchSize, in order; the first failure fails it", () =>
    Effect.gen(function*() {
      const seen = fresh()
      const executor = executorOf(seen)
      const input = Array.from({ length: 50 }, (_, i) => 2 * i)
      const results = yield* Stream.fromIterable(input).pipe(
        ThreadPool.mapStream(EvenOnly, { batchSize: 20 }),
        Stream.runCollect,
        Effect.provideService(ThreadPool.Executor, executor)
      )
      assert.deepStrictEqual(results, input.map((n) => n * 10))
      assert.deepStrictEqual(seen.batches.map((b) => b.payloads.length), [20, 20, 10])
      // an upstream that gives one element a chunk: each goes at once, alone
      const single = yield* Stream.fromIterable([0, 2, 4]).pipe(
        Stream.rechunk(1),
        ThreadPool.mapStream(EvenOnly, { ordered: false }),
        Stream.runCollect,
        Effect.provideService(ThreadPool.Executor, executor)
      )
      assert.sameMembers(single, [0, 20, 40])
      assert.deepStrictEqual(seen.batches.slice(3).map((b) => b.payloads), [[0], [2], [4]])
      const taken: Array<number> = []
      const failed = yield* Stream.fromIterable([0, 2, 3, 4]).pipe(
        Stream.rechunk(1),
        ThreadPool.mapStream(EvenOnly, { concurrency: 1 }),
        Stream.runForEach((n) => Effect.sync(() => void taken.push(n))),
        Effect.provideService(ThreadPool.Executor, executor),
        Effect.flip
      )
      assert.deepStrictEqual(failed, new Odd({ n: 3 }))
      assert.deepStrictEqual(taken, [0, 20])
    }))
})
