/**
 * The cluster protocol of effect-threads: `effect/cluster` entities whose RPCs carry one task run from a caller to a
 * runner and its outcome back: `Run` (a call), `RunStream` (a streaming task's elements), `RunBatch` (a batch of a
 * bulk call's elements) and `RunOnce` (a durable call, stored and deduplicated by its id).
 *
 * A run travels as the task's tag and its payload *encoded with the task's own schema*; the outcome comes back
 * encoded the same way: the success with the task's success schema, a typed failure wrapped in {@link TaskFailed}
 * and encoded with the task's failure schema, and the pool's own errors (`ThreadCrashed`, `AlreadyQuit`, ...) as
 * themselves, since they are schema classes. So a typed failure crosses both hops (thread to runner, runner to
 * caller) and is an instance of its class again at the caller.
 *
 * `Keyed` runs the calls of one entity id (a key) one at a time, in order; `Spread` runs them concurrently, and
 * the caller spreads its calls over many of its ids, which the cluster hashes onto shards, and so onto runners.
 * `DurableKeyed` and `DurableSpread` are the same for `RunOnce`.
 *
 * @since 0.3.0
 */
import { AlreadyQuit } from "@effect-threads/core/AlreadyQuit"
import * as Task from "@effect-threads/core/Task"
import * as TaskCodec from "@effect-threads/core/TaskCodec"
import * as ThreadError from "@effect-threads/core/ThreadError"
import * as ClusterSchema from "effect/cluster/ClusterSchema"
import * as Entity from "effect/cluster/Entity"
import type * as Exit from "effect/Exit"
import * as Rpc from "effect/rpc/Rpc"
import * as Schema from "effect/Schema"

/**
 * The task failed with its own typed failure; `error` is that failure encoded with the task's failure schema. The
 * caller decodes it and fails with the task's error itself: users never see this wrapper.
 *
 * @stability experimental
 * @category errors
 * @since 0.3.0
 */
export class TaskFailed extends Schema.TaggedError<TaskFailed>()("TaskFailed", {
  task: Schema.String,
  error: Schema.Unknown
}) {}

/** The pool's own errors (not a task's failure), as they cross back from a runner. */
const poolErrors = [
  ThreadError.ThreadStartFailed,
  ThreadError.ThreadCrashed,
  ThreadError.InvalidPayload,
  ThreadError.TaskNotImplemented,
  ThreadError.InvalidResult,
  ThreadError.BacklogFull,
  AlreadyQuit,
  ThreadError.InvalidLimit,
  ThreadError.InvalidOptions
] as const

/**
 * Every error a `Run` can come back with.
 *
 * @stability experimental
 * @category schemas
 * @since 0.3.0
 */
export const RunError = Schema.Union([TaskFailed, ...poolErrors])

/**
 * The errors of the pool itself that cross back from a runner as they are (not a task's own failure).
 *
 * @stability experimental
 * @category schemas
 * @since 0.3.0
 */
export const PoolError = Schema.Union(poolErrors)

/** What a run carries besides its payload: the options the runner's pool gets. */
const runFields = {
  task: Schema.String,
  payload: Schema.Unknown,
  priority: Schema.optional(Schema.Number),
  whenBacklogFull: Schema.optional(Schema.Literals(["wait", "fail"]))
}

/**
 * One task run: the task's tag and its encoded payload in, its encoded success out.
 *
 * @stability experimental
 * @category rpcs
 * @since 0.3.0
 */
export const Run = Rpc.make("Run", {
  payload: runFields,
  success: Schema.Unknown,
  error: RunError
})

/**
 * One run of a streaming task (`Task.stream`): the task's tag and its encoded payload in, its elements out, each
 * encoded with the task's element schema, as the caller takes them.
 *
 * @stability experimental
 * @category rpcs
 * @since 0.3.0
 */
export const RunStream = Rpc.make("RunStream", {
  payload: { ...runFields, bufferSize: Schema.optional(Schema.Number) },
  success: Schema.Unknown,
  error: RunError,
  stream: true
})

/**
 * One element's outcome in a batch, as it crosses back: its success encoded with the task's success schema, a
 * failure as a `Run`'s (a task's own in {@link TaskFailed}, the pool's as themselves), or a defect.
 *
 * @stability experimental
 * @category schemas
 * @since 0.4.0
 */
export const BatchOutcome = Schema.Exit(Schema.Unknown, RunError, Schema.Defect())

/**
 * One batch of a task's runs (`ThreadPool.forEach` over the cluster): the task's tag and its encoded payloads in,
 * each element's outcome out, in order. The runner runs the batch on its pool with `ThreadPool.forEach`: with
 * `failFast` the first failure fails the request (and interrupts the batch's other elements in their threads),
 * else every element runs and gives its own outcome.
 *
 * @stability experimental
 * @category rpcs
 * @since 0.4.0
 */
export const RunBatch = Rpc.make("RunBatch", {
  payload: {
    task: Schema.String,
    payloads: Schema.Array(Schema.Unknown),
    failFast: Schema.Boolean,
    priority: Schema.optional(Schema.Number),
    whenBacklogFull: Schema.optional(Schema.Literals(["wait", "fail"]))
  },
  success: Schema.Array(BatchOutcome),
  error: RunError
})

/**
 * One durable task run (`ClusterThreadPool.deferOnce`): `Run` with the caller's `id`, stored in the cluster's message
 * storage before it is sent (`Persisted`) and deduplicated by its task and id (the primary key): a second call of the
 * same task with the same id, on the same entity, gets the first one's outcome instead of a second run.
 *
 * @stability experimental
 * @category rpcs
 * @since 0.3.0
 */
export const RunOnce = Rpc.make("RunOnce", {
  payload: { id: Schema.String, ...runFields },
  success: Schema.Unknown,
  error: RunError,
  primaryKey: ({ id, task }) => `${task}/${id}`
}).annotate(ClusterSchema.Persisted, true)

/**
 * The entity for calls with a key: one entity id per key, its calls run one at a time, in order, on the runner that
 * owns the key's shard.
 *
 * @stability experimental
 * @category entities
 * @since 0.3.0
 */
export const Keyed = Entity.make("effect-threads/Keyed", [Run, RunStream])

/**
 * The entity for calls without a key: its calls run concurrently; the caller spreads them over many ids. It also
 * takes the batches of `forEach` ({@link RunBatch}, since 0.4.0).
 *
 * @stability experimental
 * @category entities
 * @since 0.3.0
 */
export const Spread = Entity.make("effect-threads/Spread", [Run, RunStream, RunBatch])

/**
 * The entity of durable calls with a key: like {@link Keyed}, one at a time per key, in order.
 *
 * @stability experimental
 * @category entities
 * @since 0.3.0
 */
export const DurableKeyed = Entity.make("effect-threads/DurableKeyed", [RunOnce])

/**
 * The entity of durable calls without a key: concurrent; a call's entity id is a hash of its `id` (see
 * {@link durableSpreadId}), so every caller sends the same id to the same entity, where its primary key is unique.
 *
 * @stability experimental
 * @category entities
 * @since 0.3.0
 */
export const DurableSpread = Entity.make("effect-threads/DurableSpread", [RunOnce])

/**
 * The entity id of a durable call without a key: one of 1,024 ids, chosen by a hash of the call's `id` (FNV-1a), the
 * same in every process.
 *
 * @stability experimental
 * @category entities
 * @since 0.3.0
 */
export const durableSpreadId = (id: string): string => {
  let hash = 0x811c9dc5
  for (let i = 0; i < id.length; i++) hash = Math.imul(hash ^ id.charCodeAt(i), 0x01000193)
  return `durable-${(hash >>> 0) % 1024}`
}

/**
 * Encodes a payload with its task's schema, or fails with `InvalidPayload` naming the field: the task's
 * `TaskCodec`, the codec of the pool and its threads.
 *
 * @stability experimental
 * @category encoding
 * @since 0.3.0
 */
export const encodePayload = (
  task: Task.Any,
  payload: unknown
): Exit.Exit<unknown, ThreadError.InvalidPayload> => TaskCodec.make(task).encodePayload(payload)

/**
 * Decodes a payload with its task's schema, or fails with `InvalidPayload` naming the field (the task's `TaskCodec`).
 * A runner no longer needs it: it hands the payload to its pool encoded (`TaskCodec.relay`).
 *
 * @stability experimental
 * @category encoding
 * @since 0.3.0
 */
export const decodePayload = (
  task: Task.Any,
  encoded: unknown
): Exit.Exit<unknown, ThreadError.InvalidPayload> => TaskCodec.make(task).decodePayload(encoded)

/**
 * Encodes (`"encode"`) or decodes (`"decode"`, at the caller) a success, a typed failure or a stream's element with
 * the task's schema for it (`schema` is the task's `success`, `failure` or `element`), with the task's `TaskCodec`; a
 * value that does not fit gives `InvalidResult` naming the field. A runner no longer encodes: its pool gives it the
 * outcome encoded by the thread (`TaskCodec.relay`).
 *
 * @stability experimental
 * @category encoding
 * @since 0.3.0
 */
export const convertResult = (
  direction: "encode" | "decode",
  task: Task.Any,
  schema: Task.AnySchema,
  value: unknown
): Exit.Exit<unknown, ThreadError.InvalidResult> => {
  const part = schema === task.failure
    ? "Failure"
    : Task.isStream(task) && schema === task.element
    ? "Element"
    : "Success"
  // A schema that is none of the task's: its parts as the task's success.
  const codec = part === "Success" && schema !== task.success
    ? TaskCodec.make(Task.make(task._tag, { success: schema }))
    : TaskCodec.make(task) as TaskCodec.TaskCodec<Task.Any>
  return codec[`${direction}${part}`](value as never)
}
