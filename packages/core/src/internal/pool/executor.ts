/**
 * The bulk calls (`ThreadPool.forEach`, `ThreadPool.mapStream`) on any executor: on a pool made by this package, in
 * batches (`bulk.ts`, `stage.ts`); on another executor (the cluster's, which runs each task on a runner process),
 * in batches over its `runBatch` when it has one (without a `key`), else element by element over its `deferToThread`,
 * a bounded number at a time, with the same results, order and failures.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Stream from "effect/Stream"
import type * as Task from "../../Task.ts"
import type * as ThreadPool from "../../ThreadPool.ts"
import * as Batches from "./batches.ts"
import * as Bulk from "./bulk.ts"
import type * as Section from "./section.ts"
import * as Stage from "./stage.ts"

/** The sections of the pools made here, by their public shape. */
const sections = new WeakMap<object, Section.Section>()

/** Registers a pool's shape, so that bulk calls on it run in batches. */
export const register = <S extends object>(shape: S, section: Section.Section): S => {
  sections.set(shape, section)
  return shape
}

/** How many tasks an executor that is not a pool runs at once for one bulk call, unless told. */
const defaultConcurrency = 16

/** Elements in flight at once, element by element: `concurrency` (`Infinity`: no bound), or the default. */
const concurrencyOf = (options: Batches.Options | undefined): number | "unbounded" =>
  options?.concurrency === Infinity ? "unbounded" : options?.concurrency ?? defaultConcurrency

/** The options of one element's run, element by element. */
const runOptions = (options: Batches.Options | undefined, payload: unknown, index: number): ThreadPool.RunOptions => ({
  priority: options?.priority,
  whenBacklogFull: options?.whenBacklogFull,
  key: options?.key,
  transfer: options?.transfer?.(payload as never, index)
})

/** `forEach` on `executor`. */
export const forEach = (
  executor: ThreadPool.ExecutorShape,
  task: Task.Any,
  payloads: Iterable<unknown>,
  options: Bulk.ForEachOptions | undefined
): Effect.Effect<unknown, unknown> => {
  const invalid = Batches.validate(options)
  if (invalid !== undefined) return Effect.fail(invalid)
  const section = sections.get(executor)
  if (section !== undefined) return Bulk.forEach(section, task, payloads, options)
  if (executor.runBatch !== undefined && options?.key === undefined) {
    return inBatches(executor.runBatch, task, payloads, options)
  }
  const concurrency = concurrencyOf(options)
  const run = (payload: unknown, index: number): Effect.Effect<unknown, unknown> =>
    executor.deferToThread(task, payload as never, runOptions(options, payload, index))
  if (options?.mode === "exit") {
    return Effect.forEach(payloads, (payload, index) => Effect.exit(run(payload, index)), { concurrency })
  }
  return options?.discard === true
    ? Effect.forEach(payloads, run, { concurrency, discard: true })
    : Effect.forEach(payloads, run, { concurrency })
}

/** The most elements one request of `runBatch` carries, unless `batchSize` says otherwise. */
const maxBatch = 1024

/**
 * `forEach` over an executor's `runBatch` (one request a batch, to another process): the input cut into batches of
 * `batchSize`, or of about a `2 * concurrency`th of it (at most `maxBatch`), `concurrency` batches at a time. The
 * first failure (by the input's order within a batch) fails the call and interrupts the batches in flight; with
 * `mode: "exit"`, a batch that fails as a whole (the executor could not run it) gives its failure to each element.
 */
const inBatches = (
  runBatch: NonNullable<ThreadPool.ExecutorShape["runBatch"]>,
  task: Task.Any,
  payloads: Iterable<unknown>,
  options: Bulk.ForEachOptions | undefined
): Effect.Effect<unknown, unknown> =>
  Effect.suspend(() => {
    const input = Array.isArray(payloads) ? payloads as ReadonlyArray<unknown> : Array.from(payloads)
    const concurrency = concurrencyOf(options)
    const batches = cut(
      input,
      options?.batchSize ?? Math.min(maxBatch, Math.max(1, Math.ceil(input.length / (2 * lanesOf(concurrency)))))
    )
    const exitMode = options?.mode === "exit"
    const run = batchRunner(runBatch, task, options, !exitMode)
    const flat = <A>(results: ReadonlyArray<ReadonlyArray<A>>): Array<A> => results.flat() as Array<A>
    if (exitMode) {
      return Effect.map(
        Effect.forEach(batches, (batch) =>
          Effect.matchCause(run(batch), {
            onFailure: (cause) => batch.map(() => Exit.failCause(cause)),
            onSuccess: (exits) => exits
          }), { concurrency }),
        flat
      )
    }
    const values = (batch: ReadonlyArray<unknown>) => Effect.flatMap(run(batch), valuesOf)
    return options?.discard === true
      ? Effect.forEach(batches, values, { concurrency, discard: true })
      : Effect.map(Effect.forEach(batches, values, { concurrency }), flat)
  })

/** Batches in flight at once, as a number (`"unbounded"` counts as the default, for sizing batches only). */
const lanesOf = (concurrency: number | "unbounded"): number =>
  concurrency === "unbounded" ? defaultConcurrency : concurrency

/** `elements` cut into batches of at most `size`, in order (itself when it fits in one). */
const cut = <A>(elements: ReadonlyArray<A>, size: number): Array<ReadonlyArray<A>> => {
  if (elements.length <= size) return elements.length === 0 ? [] : [elements]
  const batches: Array<ReadonlyArray<A>> = []
  for (let start = 0; start < elements.length; start += size) batches.push(elements.slice(start, start + size))
  return batches
}

/** Runs one batch over `runBatch` with the call's run options. */
const batchRunner = (
  runBatch: NonNullable<ThreadPool.ExecutorShape["runBatch"]>,
  task: Task.Any,
  options: Batches.Options | undefined,
  failFast: boolean
) => {
  const batchOptions: ThreadPool.BatchRunOptions = {
    failFast,
    priority: options?.priority,
    whenBacklogFull: options?.whenBacklogFull
  }
  return (batch: ReadonlyArray<unknown>) => runBatch(task as Task.Any & Task.NotStream<Task.Any>, batch, batchOptions)
}

/** The elements of a batch as values, or the batch's first failure. */
const valuesOf = (exits: ReadonlyArray<Exit.Exit<unknown, unknown>>): Effect.Effect<Array<unknown>, unknown> => {
  const out: Array<unknown> = []
  for (const exit of exits) {
    if (Exit.isFailure(exit)) return Effect.failCause(exit.cause)
    out.push(exit.value)
  }
  return Effect.succeed(out)
}

/**
 * `mapStream` over an executor's `runBatch`: each chunk the upstream gives is cut into batches of `batchSize`, or of
 * about a `concurrency`th of `bufferSize` (at most `maxBatch`), so a slow upstream's elements go at once, a fast
 * one's together; `concurrency` batches at a time, in order or as they end. The first failure fails the stream.
 */
const streamInBatches = (
  runBatch: NonNullable<ThreadPool.ExecutorShape["runBatch"]>,
  task: Task.Any,
  options: Stage.StageOptions | undefined
) =>
<A, E, R>(self: Stream.Stream<A, E, R>): Stream.Stream<unknown, unknown, R> => {
  const concurrency = concurrencyOf(options)
  const size = options?.batchSize ??
    Math.min(maxBatch, Math.max(1, Math.floor((options?.bufferSize ?? Stage.defaultBufferSize) / lanesOf(concurrency))))
  const run = batchRunner(runBatch, task, options, true)
  return Stream.chunks(self).pipe(
    Stream.map((chunk) => cut(chunk, size)),
    Stream.flattenIterable,
    Stream.mapEffect((batch) => Effect.flatMap(run(batch), valuesOf), {
      concurrency,
      unordered: options?.ordered === false
    }),
    Stream.flattenIterable
  )
}

/** `mapStream` on `executor`. */
export const mapStream = (
  executor: ThreadPool.ExecutorShape,
  task: Task.Any,
  options: Stage.StageOptions | undefined
) =>
<A, E, R>(self: Stream.Stream<A, E, R>): Stream.Stream<unknown, unknown, R> => {
  const invalid = Batches.validate(options)
  if (invalid !== undefined) return Stream.fail(invalid)
  const section = sections.get(executor)
  if (section !== undefined) return Stage.mapStream(section, task, options)(self)
  if (executor.runBatch !== undefined && options?.key === undefined) {
    return streamInBatches(executor.runBatch, task, options)(self)
  }
  let index = 0
  return Stream.mapEffect(
    self,
    (payload) => executor.deferToThread(task, payload as never, runOptions(options, payload, index++)),
    { concurrency: concurrencyOf(options), unordered: options?.ordered === false }
  )
}
