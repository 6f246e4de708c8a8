// One call from a caller to the cluster and back: encode the payload with the task's schema, wait for a runner,
// send it to the entity of its key (or one of the spread ids), decode the outcome. Counts the calls in flight, each
// exactly once, and lets `stop` wait until none is left.
import { AlreadyQuit } from "@effect-threads/core/AlreadyQuit"
import type * as Task from "@effect-threads/core/Task"
import * as TaskCodec from "@effect-threads/core/TaskCodec"
import * as ThreadError from "@effect-threads/core/ThreadError"
import type * as ThreadPool from "@effect-threads/core/ThreadPool"
import * as Cause from "effect/Cause"
import * as ClusterError from "effect/cluster/ClusterError"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Latch from "effect/Latch"
import * as Result from "effect/Result"
import * as Stream from "effect/Stream"
import * as TaskEntity from "../TaskEntity.ts"
import { ClusterInterrupted } from "./runners.ts"
import type { RunnerWatch } from "./runners.ts"

type ClusterClientError =
  | ClusterError.MailboxFull
  | ClusterError.AlreadyProcessingMessage
  | ClusterError.PersistenceError
  | ClusterError.EntityNotAssignedToRunner

type SendError = ClusterClientError | (typeof TaskEntity.RunError)["Type"]

const isClusterError = (error: SendError): error is ClusterClientError =>
  error instanceof ClusterError.MailboxFull || error instanceof ClusterError.AlreadyProcessingMessage ||
  error instanceof ClusterError.PersistenceError || error instanceof ClusterError.EntityNotAssignedToRunner

/** A failure from a runner as the caller's: a task's own decoded, the cluster's own as `ThreadStartFailed`. */
const decodeFailure = <T extends Task.Any>(task: T, error: SendError): Effect.Effect<never, ThreadPool.RunError<T>> => {
  if (isClusterError(error)) {
    return Effect.fail(
      new ThreadError.ThreadStartFailed({
        message: `the cluster could not run ${task._tag}: ${error._tag}: ${error.message}`,
        cause: error
      })
    )
  }
  if (error._tag !== "TaskFailed") return Effect.fail(error)
  return Effect.flatMap(
    TaskCodec.make(task).decodeFailure(error.error),
    (decoded) => Effect.fail(decoded as Task.Failure<T>)
  )
}

/**
 * One element's outcome from a `RunBatch`, as a single call's would be: the success decoded with the task's schema
 * (`InvalidResult` if it does not fit), a task's own failure decoded back to its class, the pool's errors and
 * defects as they came.
 */
const decodeOutcome = <T extends Task.Any>(
  task: T,
  outcome: Exit.Exit<unknown, (typeof TaskEntity.RunError)["Type"]>
): Exit.Exit<Task.Success<T>, ThreadPool.RunError<T>> => {
  const codec = TaskCodec.make(task)
  if (Exit.isSuccess(outcome)) {
    return codec.decodeSuccess(outcome.value) as Exit.Exit<Task.Success<T>, ThreadPool.RunError<T>>
  }
  const error = Cause.findError(outcome.cause)
  if (Result.isFailure(error)) return outcome as Exit.Exit<never, never>
  if (error.success._tag !== "TaskFailed") return Exit.fail(error.success as ThreadPool.RunError<T>)
  const decoded = codec.decodeFailure(error.success.error)
  return Exit.fail((Exit.isSuccess(decoded) ? decoded.value : Cause.squash(decoded.cause)) as ThreadPool.RunError<T>)
}

/**
 * How many times a call is sent again after the cluster interrupted it (its caller did not), or, for a durable call,
 * after its storage failed; then it fails. Before each, it waits a little longer and for a runner to be up.
 */
const maxResends = 5
const resendAfter = (attempt: number) => Duration.millis(100 * 2 ** attempt)

/** A durable call the cluster could not store or read (`PersistenceError`): sent again, as `ClusterInterrupted`. */
class StorageFailed extends Data.TaggedError("StorageFailed")<{ readonly error: ClusterError.PersistenceError }> {}

/** The failure of a call sent again `maxResends` times, after the last attempt failed as the others did. */
const resentTooOften = (task: string, last: ClusterInterrupted | StorageFailed) =>
  last instanceof StorageFailed
    ? new ThreadError.ThreadStartFailed({
      message: `the cluster could not store the durable call of ${task} (${
        maxResends + 1
      } attempts): its database failed: ${last.error.message}`,
      cause: last.error
    })
    : new ThreadError.ThreadCrashed({
      task,
      message:
        `the call ended interrupted on the cluster ${
          maxResends + 1
        } times, and its caller did not interrupt it: a runner stops the calls it runs when it cannot refresh its ` +
        `shard locks (the database out of its reach), or the task interrupted itself. It was sent again each time ` +
        `but the last; the task may have run.`
    })

/** How a call is placed: an entity key, or none (spread), and the run options the runner's pool gets. */
interface Placement {
  readonly key?: string | undefined
  readonly priority?: number | undefined
  readonly whenBacklogFull?: "wait" | "fail" | undefined
}

/** The run options a runner passes to its pool, without the ones that are undefined. */
const runOptions = (placement: Placement) => ({
  ...(placement.priority === undefined ? {} : { priority: placement.priority }),
  ...(placement.whenBacklogFull === undefined ? {} : { whenBacklogFull: placement.whenBacklogFull })
})

/** @internal */
export const make = (options: { readonly spreadIds: number; readonly runners: RunnerWatch }) =>
  Effect.gen(function*() {
    const { runners, spreadIds } = options
    const keyed = yield* TaskEntity.Keyed.client
    const spread = yield* TaskEntity.Spread.client
    const durableKeyed = yield* TaskEntity.DurableKeyed.client
    const durableSpread = yield* TaskEntity.DurableSpread.client
    const drained = yield* Latch.make(false)
    const state = { next: 0, inFlight: 0, quit: false }
    const begin = (count = 1) => void (state.inFlight += count)
    const end = (count = 1) => {
      state.inFlight -= count
      if (state.quit && state.inFlight === 0) drained.openUnsafe()
    }
    const entity = (key: string | undefined) =>
      key === undefined ? spread(`spread-${state.next++ % spreadIds}`) : keyed(key)

    /** Encodes, counts the call in flight (once, released once), waits for a runner, sends, decodes. */
    const call = <T extends Task.Any>(
      task: T,
      payload: Task.Payload<T>,
      send: (encoded: unknown) => Effect.Effect<unknown, ThreadPool.RunError<T>>
    ): Effect.Effect<Task.Success<T>, ThreadPool.RunError<T>> =>
      Effect.uninterruptibleMask((restore) => {
        if (state.quit) return Effect.fail(new AlreadyQuit())
        const encoded = TaskCodec.make(task).encodePayload(payload)
        if (Exit.isFailure(encoded)) return encoded
        begin()
        return restore(
          runners.ready.pipe(
            Effect.andThen(Effect.suspend(() => send(encoded.value))),
            Effect.flatMap((value) => TaskCodec.make(task).decodeSuccess(value))
          )
        ).pipe(Effect.ensuring(Effect.sync(() => end())))
      })

    /**
     * Sends a call; sends it again (at least once, as always) when the cluster interrupted it or could not store it,
     * after a pause and once a runner is up, at most `maxResends` times.
     */
    const resending = <A, E>(
      task: string,
      send: Effect.Effect<A, E | ClusterInterrupted | StorageFailed>
    ): Effect.Effect<A, E | ThreadError.ThreadCrashed | ThreadError.ThreadStartFailed> => {
      const attempt = (n: number): Effect.Effect<A, E | ThreadError.ThreadCrashed | ThreadError.ThreadStartFailed> =>
        Effect.catch(send, (error) => {
          if (!(error instanceof ClusterInterrupted || error instanceof StorageFailed)) return Effect.fail(error)
          if (n >= maxResends) return Effect.fail(resentTooOften(task, error))
          return Effect.sleep(resendAfter(n)).pipe(Effect.andThen(runners.ready), Effect.andThen(attempt(n + 1)))
        })
      return attempt(0)
    }

    const run = <T extends Task.Any>(task: T, payload: Task.Payload<T>, placement: Placement = {}) =>
      call(task, payload, (encoded) =>
        resending(
          task._tag,
          runners.guard(
            task._tag,
            Effect.catch(
              entity(placement.key).Run({ task: task._tag, payload: encoded, ...runOptions(placement) }),
              (error) => decodeFailure(task, error)
            )
          )
        ))

    const runOnce = <T extends Task.Any>(task: T, payload: Task.Payload<T>, id: string, placement: Placement) =>
      call(task, payload, (encoded) => {
        const client = placement.key === undefined
          ? durableSpread(TaskEntity.durableSpreadId(id))
          : durableKeyed(placement.key)
        return resending(
          task._tag,
          runners.guardStored(
            task._tag,
            Effect.catch(
              client.RunOnce({ id, task: task._tag, payload: encoded, ...runOptions(placement) }),
              (error): Effect.Effect<never, ThreadPool.RunError<T> | StorageFailed> =>
                error instanceof ClusterError.PersistenceError
                  ? Effect.fail(new StorageFailed({ error }))
                  : decodeFailure(task, error)
            )
          )
        )
      })

    /**
     * Sends one batch of a bulk call to a spread id (`RunBatch`) and gives each element's outcome, decoded as a single
     * call's would be. A payload that does not fit its schema is that element's `InvalidPayload` (with `failFast`,
     * the batch's failure) and is not sent. Counted in flight per element. A batch the cluster interrupted is sent
     * again whole, as a call is: its elements may have run.
     */
    const runBatch = <T extends Task.Any>(
      task: T,
      payloads: ReadonlyArray<Task.Payload<T>>,
      options: ThreadPool.BatchRunOptions
    ): Effect.Effect<ReadonlyArray<Exit.Exit<Task.Success<T>, ThreadPool.RunError<T>>>, ThreadPool.RunError<T>> =>
      Effect.uninterruptibleMask((restore) => {
        if (state.quit) return Effect.fail(new AlreadyQuit())
        const codec = TaskCodec.make(task)
        const exits: Array<Exit.Exit<Task.Success<T>, ThreadPool.RunError<T>>> = []
        const sent: Array<number> = []
        const encoded: Array<unknown> = []
        for (let i = 0; i < payloads.length; i++) {
          const payload = codec.encodePayload(payloads[i]!)
          if (Exit.isSuccess(payload)) {
            sent.push(i)
            encoded.push(payload.value)
          } else if (options.failFast) {
            return Exit.failCause(payload.cause)
          } else {
            exits[i] = Exit.failCause(payload.cause)
          }
        }
        if (sent.length === 0) return Effect.succeed(exits)
        begin(sent.length)
        const request = { task: task._tag, payloads: encoded, failFast: options.failFast, ...runOptions(options) }
        return restore(
          runners.ready.pipe(
            Effect.andThen(resending(
              task._tag,
              runners.guard(
                task._tag,
                Effect.catch(spread(`spread-${state.next++ % spreadIds}`).RunBatch(request), (error) =>
                  decodeFailure(task, error))
              )
            )),
            Effect.map((outcomes) => {
              sent.forEach((index, j) =>
                exits[index] = decodeOutcome(task, outcomes[j]!)
              )
              return exits
            })
          )
        ).pipe(Effect.ensuring(Effect.sync(() => end(sent.length))))
      })

    const stream = <T extends Task.AnyStream>(
      task: T,
      payload: Task.Payload<T>,
      placement: Placement & { readonly bufferSize?: number | undefined } = {}
    ): Stream.Stream<Task.Element<T>, ThreadPool.RunError<T>> =>
      Stream.unwrap(Effect.gen(function*() {
        if (state.quit) return yield* new AlreadyQuit()
        const encoded = yield* TaskCodec.make(task).encodePayload(payload)
        // Released with the stream's scope: once, however the stream ends.
        yield* Effect.acquireRelease(Effect.sync(begin), () => Effect.sync(end))
        yield* runners.ready
        const request = {
          task: task._tag,
          payload: encoded,
          ...runOptions(placement),
          ...(placement.bufferSize === undefined ? {} : { bufferSize: placement.bufferSize })
        }
        return runners.guardStream(task._tag, entity(placement.key).RunStream(request)).pipe(
          Stream.catch((error) => Stream.fromEffect(decodeFailure(task, error))),
          Stream.mapEffect((element) => TaskCodec.make(task).decodeElement(element))
        )
      }))

    return {
      run,
      runOnce,
      runBatch,
      stream,
      inFlight: () => state.inFlight,
      quit: () => state.quit,
      /** Refuses new calls and waits until the calls in flight have settled; `AlreadyQuit` the second time. */
      stop: Effect.suspend(() => {
        if (state.quit) return Effect.fail(new AlreadyQuit())
        state.quit = true
        if (state.inFlight === 0) drained.openUnsafe()
        return drained.await
      })
    }
  })

/** @internal */
export type Calls = Effect.Success<ReturnType<typeof make>>
