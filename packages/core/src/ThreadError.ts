/**
 * The errors of running a task on a thread, besides the task's own typed failure and {@link AlreadyQuit}, and the
 * pool's own: options out of range ({@link InvalidOptions}), a `currentLimit` that is not a number of threads
 * ({@link InvalidLimit}).
 *
 * Each is a `Schema.TaggedError`, so it can be matched with `Effect.catchTag` and encoded across a thread. Each
 * names the task it concerns, if any, and says what happened in its `message`.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * The thread could not start: its entry file is missing, does not parse, throws while loading, or never said it
 * was ready within the start timeout. The thread is not respawned until work asks for it again.
 *
 * @stability stable
 * @category errors
 * @since 0.1.0
 */
export class ThreadStartFailed extends Schema.TaggedError<ThreadStartFailed>()("ThreadStartFailed", {
  message: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {}

/**
 * The thread died while it held the task: the task called `process.exit`, threw asynchronously, ran out of its
 * `resourceLimits` memory, or the thread was terminated. `exitCode` is set when the platform reported one. Whatever
 * was thrown (an `Error`, an Effect error, `null`, a string, an object whose `toString` throws), `message` says what it
 * was, as far as it survived crossing threads, and `cause` holds it unless it cannot be read. The thread is replaced
 * for the tasks that come after.
 *
 * @stability stable
 * @category errors
 * @since 0.1.0
 */
export class ThreadCrashed extends Schema.TaggedError<ThreadCrashed>()("ThreadCrashed", {
  task: Schema.String,
  message: Schema.String,
  exitCode: Schema.optional(Schema.Number),
  cause: Schema.optional(Schema.Defect())
}) {}

/**
 * The payload was rejected before anything was sent: it does not match the task's payload schema, or it holds a
 * value that cannot be cloned to another thread (a function, a symbol). `path` locates the offending field.
 *
 * @stability stable
 * @category errors
 * @since 0.1.0
 */
export class InvalidPayload extends Schema.TaggedError<InvalidPayload>()("InvalidPayload", {
  task: Schema.String,
  path: Schema.String,
  message: Schema.String
}) {}

/**
 * The thread does not implement the task: its entry file has no handler for this tag. Also the failure, at once, of
 * a streaming task (`Task.stream`) given to a call that runs a plain task (`deferToThread`, `callInThread`,
 * `broadcast`, ...) from code the type check did not see: it runs with `ThreadPool.stream`.
 *
 * @stability stable
 * @category errors
 * @since 0.1.0
 */
export class TaskNotImplemented extends Schema.TaggedError<TaskNotImplemented>()("TaskNotImplemented", {
  task: Schema.String,
  message: Schema.String
}) {}

/**
 * A task's result could not reach its caller: its success or typed failure does not match the task's schema (when
 * encoded on the side that ran it, or decoded on the side that asked), or it holds a value that cannot be cloned
 * (a function, a symbol). `path` locates the offending field (`$` for the whole value, `$.a.b[1]` below it), where
 * it is known. The thread that ran the task is unharmed.
 *
 * @stability stable
 * @category errors
 * @since 0.1.0
 */
export class InvalidResult extends Schema.TaggedError<InvalidResult>()("InvalidResult", {
  task: Schema.String,
  path: Schema.optional(Schema.String),
  message: Schema.String
}) {}

/**
 * The pool's backlog was full (`maxBacklog`) and the task was submitted with `whenBacklogFull: "fail"`: it was not
 * taken. `limit` is the bound.
 *
 * @stability stable
 * @category errors
 * @since 0.2.0
 */
export class BacklogFull extends Schema.TaggedError<BacklogFull>()("BacklogFull", {
  task: Schema.String,
  limit: Schema.Number,
  message: Schema.String
}) {}

/**
 * The pool's `currentLimit` gave something that is not a number of workers (negative, NaN, fractional), or failed.
 * The caller whose task needed a new worker gets it, instead of a task that waits forever. Also exported as
 * `TeamPool.InvalidLimit`, its name before 0.4.0: one class under both names.
 *
 * @stability stable
 * @category errors
 * @since 0.4.0
 */
export class InvalidLimit extends Schema.TaggedError<InvalidLimit>()("InvalidLimit", {
  message: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {}

/**
 * The pool's options are out of range, so no pool was made (or, from `adjustPoolsize`, its size is unchanged):
 * `minThreads` and `maxThreads` do not describe a pool (Twisted's assertions `0 <= min <= max`),
 * `concurrentTasksPerThread` is not a positive integer, `maxBacklog` is not a non-negative integer or `Infinity`, a
 * `recycle` bound is not positive, or a duration is negative or unreadable. `message` names the option and the value.
 * Also exported as `ThreadPool.InvalidPoolSize`, its name before 0.4.0 (deprecated): one class under both names.
 *
 * @stability stable
 * @category errors
 * @since 0.4.0
 */
export class InvalidOptions extends Schema.TaggedError<InvalidOptions>()("InvalidOptions", {
  message: Schema.String
}) {}

/**
 * Any error of running a task on a thread.
 *
 * @stability stable
 * @category models
 * @since 0.1.0
 */
export type ThreadError =
  | ThreadStartFailed
  | ThreadCrashed
  | InvalidPayload
  | TaskNotImplemented
  | InvalidResult
  | BacklogFull

export {
  /**
   * How any value reads in an error's message, without ever throwing: `null`, a symbol, a string, an object with
   * no prototype, an object whose `toString` or getters throw, a `Proxy` whose every trap throws. An error-like
   * value reads `name: message`; long texts are cut at 1,000 characters. The pool uses it for what a thread or a
   * task died of; use it wherever an `unknown` cause becomes text.
   *
   * @stability stable
   * @category utils
   * @since 0.4.0
   */
  describe
} from "./internal/describe.ts"
