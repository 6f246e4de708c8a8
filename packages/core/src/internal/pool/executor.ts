/**
 * The bulk calls (`ThreadPool.forEach`, `ThreadPool.mapStream`) on any executor: on a pool made by this package, in
 * batches (`bulk.ts`, `stage.ts`); on another executor (the cluster's, which runs each task on a runner process),
 * element by element over its `deferToThread`, a bounded number at a time, with the same results, order and
 * failures.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
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
  let index = 0
  return Stream.mapEffect(
    self,
    (payload) => executor.deferToThread(task, payload as never, runOptions(options, payload, index++)),
    { concurrency: concurrencyOf(options), unordered: options?.ordered === false }
  )
}
