/**
 * A batch on the wire: many elements of one task in one request, for `ThreadPool.forEach` and `ThreadPool.mapStream`.
 *
 * A batch rides the pool as one ticket of a synthetic task (`batchTask`): its tag is the task's own behind a reserved
 * prefix, which the thread side recognises (`runner/batch.ts`); its payload and success cross as they are
 * (`Schema.Unknown`), since each element is encoded and decoded here with the task's own schemas. The request is
 * `[stop, payloads]`: the elements' encoded payloads, and whether the thread stops at the first element that does
 * not succeed. The answer is `[millis, kinds, values]`: how long the elements ran in the thread (the pool sizes its
 * next batches by it), how each one ended (`0` when every one succeeded, the common case: no array), and each one's
 * encoded value, for the elements the thread ran, in order.
 *
 * @internal
 */
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import * as Task from "../../Task.ts"
import type * as ThreadError from "../../ThreadError.ts"
import * as Codec from "./codec.ts"
import * as Protocol from "./protocol.ts"

/** The prefix of a batch's tag: `effect-threads/batch:<the task's tag>`. */
export const PREFIX = "effect-threads/batch:"

/** Whether a request's tag names a batch. */
export const isBatchTag = (tag: string): boolean => tag.startsWith(PREFIX)

/** The tag of the task whose elements a batch holds. */
export const taskTag = (batchTag: string): string => batchTag.slice(PREFIX.length)

/** What a thread is asked: whether to stop at the first element that does not succeed, and the encoded payloads. */
export type Request = readonly [stop: 0 | 1, payloads: ReadonlyArray<unknown>]

/** What a thread answers: its time running the elements, how each ended (`0`: all succeeded), their values
 * (a success's encoded value; for any other end, the rest of its outcome as an array). */
export type Answer = readonly [millis: number, kinds: ReadonlyArray<number> | 0, values: ReadonlyArray<unknown>]

const batches = new WeakMap<Task.Any, Task.Any>()
const batchTasks = new WeakSet<Task.Any>()

/** The synthetic task whose ticket carries a batch of `task`'s elements; made once per task. */
export const batchTask = (task: Task.Any): Task.Any => {
  let batch = batches.get(task)
  if (batch === undefined) {
    batch = Task.make(`${PREFIX}${task._tag}`, { payload: Schema.Unknown, success: Schema.Unknown })
    batches.set(task, batch)
    batchTasks.add(batch)
  }
  return batch
}

/**
 * A task's elements parsed as one array with its own schemas: a batch's payloads encoded (main thread) or decoded
 * (thread), its successes decoded, in one parse each, where a parse per element costs an `Exit` per element. A parse
 * that fails says only that some element does not match: the caller then parses element by element, for each one's
 * own outcome, as a single task's.
 */
export interface Many {
  readonly encodePayloads: (payloads: ReadonlyArray<unknown>) => Exit.Exit<ReadonlyArray<unknown>, unknown>
  readonly decodePayloads: (payloads: ReadonlyArray<unknown>) => Exit.Exit<ReadonlyArray<unknown>, unknown>
  readonly decodeSuccesses: (values: ReadonlyArray<unknown>) => Exit.Exit<ReadonlyArray<unknown>, unknown>
}

const manies = new WeakMap<Task.Any, Many>()

/** The array parsers of `task`'s elements ({@link Many}), made once per task. */
export const many = (task: Task.Any): Many => {
  let parsers = manies.get(task)
  if (parsers === undefined) {
    const payloads = Schema.Array(task.payload)
    parsers = {
      encodePayloads: plainOr(task.payload, Codec.encoder(payloads)),
      decodePayloads: plainOr(task.payload, Codec.decoder(payloads)),
      decodeSuccesses: plainOr(task.success, Codec.decoder(Schema.Array(task.success)))
    }
    manies.set(task, parsers)
  }
  return parsers
}

const isNumber = (value: unknown): boolean => typeof value === "number"
const isString = (value: unknown): boolean => typeof value === "string"
const isBoolean = (value: unknown): boolean => typeof value === "boolean"
const isAnything = (): boolean => true

/**
 * The type test of a schema whose parse, either way, is that test and gives its input back: `Schema.Number`,
 * `Schema.String`, `Schema.Boolean`, `Schema.Unknown`, with no check and no transformation (Effect's parser of each is
 * this very refinement). `undefined` for any other schema.
 */
export const plainTest = (schema: Task.AnySchema): ((value: unknown) => boolean) | undefined => {
  const ast = schema.ast
  if (ast.checks !== undefined || ast.encoding !== undefined || ast.context !== undefined) return undefined
  switch (ast._tag) {
    case "Number":
      return isNumber
    case "String":
      return isString
    case "Boolean":
      return isBoolean
    case "Unknown":
      return isAnything
    default:
      return undefined
  }
}

/**
 * An array parser of `schema`'s values: with a plain schema ({@link plainTest}), the test of each value, the array
 * itself when all pass (what the parse would give, without the copy and the `Exit` of each step), and the parse
 * otherwise, for its error; else the parse.
 */
const plainOr = (
  schema: Task.AnySchema,
  parse: (input: unknown) => Exit.Exit<unknown, unknown>
): (values: ReadonlyArray<unknown>) => Exit.Exit<ReadonlyArray<unknown>, unknown> => {
  const test = plainTest(schema)
  if (test === undefined) return parse as (values: ReadonlyArray<unknown>) => Exit.Exit<ReadonlyArray<unknown>, unknown>
  return (values) => {
    for (let i = 0; i < values.length; i++) {
      if (!test(values[i])) return parse(values) as Exit.Exit<ReadonlyArray<unknown>, unknown>
    }
    return Exit.succeed(values)
  }
}

/** Whether `task` is a batch's synthetic task ({@link batchTask}). */
export const isBatchTask = (task: Task.Any): boolean => batchTasks.has(task)

/**
 * How one element that did not simply succeed ended (its outcome, encoded: `Codec.encodeOutcome`, or
 * `Codec.invalidOutcome` for a payload the thread could not decode), as the thread writes it into an answer: its
 * kind, and the rest of its outcome (the value, or the path and the message) as an array.
 */
export const elementOf = (outcome: Protocol.Outcome): readonly [kind: number, rest: ReadonlyArray<unknown>] => [
  outcome[0],
  outcome.slice(1)
]

/** The outcome of element `i` of an answer, as the thread encoded it. */
const outcomeOf = (kinds: ReadonlyArray<number> | 0, values: ReadonlyArray<unknown>, i: number): Protocol.Outcome =>
  kinds === 0 || kinds[i] === Protocol.SUCCESS
    ? [Protocol.SUCCESS, values[i]]
    : [kinds[i]!, ...(values[i] as ReadonlyArray<unknown>)] as unknown as Protocol.Outcome

/** Element `i` of an answer, decoded with the task's schemas: what a single call of it would have given. */
export const elementExit = (
  task: Task.Any,
  answer: Answer,
  i: number
): Exit.Exit<unknown, unknown | ThreadError.InvalidResult | ThreadError.TaskNotImplemented> =>
  Codec.toExit(task, outcomeOf(answer[1], answer[2], i))
