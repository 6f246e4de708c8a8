/**
 * The conformance tasks' implementations (`@effect-threads/conformance/handlers`), shared by every platform's worker
 * entry (`packages/node/test/fixtures/conformance-entry.ts`, `packages/browser/test/fixtures/browser-entry.ts`).
 */
import { Task, ThreadRunner } from "@effect-threads/core"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Stream from "effect/Stream"
import * as Api from "./api.ts"

/** `setTimeout` exists on every platform, but the ECMAScript library does not declare it. */
const later = (globalThis as unknown as { readonly setTimeout: (f: () => void, ms: number) => unknown }).setTimeout

const token = Math.random()
let interruptions = 0
let produced = 0

const spin = (ms: number): number => {
  const end = Date.now() + ms
  let spins = 0
  while (Date.now() < end) spins++
  return spins
}

export const handlers: ReadonlyArray<Task.AnyHandler<ThreadRunner.ThreadRunner>> = [
  Task.implement(Api.Add, ({ x, y }) => Effect.succeed(x + y)),
  Task.implement(Api.Echo, (value) => Effect.succeed(value)),
  Task.implement(Api.Fail, (reason) => Effect.fail(new Api.Rejected({ reason }))),
  Task.implement(Api.Die, (message) => Effect.die(new RangeError(message))),
  Task.implement(Api.AsyncThrow, (message) =>
    Effect.sync(() =>
      later(() => {
        throw new Error(message)
      }, 0)
    ).pipe(Effect.andThen(Effect.never))),
  Task.implement(Api.AsyncThrowTagged, (reason) =>
    Effect.sync(() =>
      later(() => {
        throw new Api.Rejected({ reason })
      }, 0)
    ).pipe(Effect.andThen(Effect.never))),
  Task.implement(Api.ThreadToken, () => Effect.succeed(token)),
  Task.implement(Api.Interruptions, () => Effect.succeed(interruptions)),
  Task.implement(Api.Hold, (id) =>
    ThreadRunner.callMain(Api.Started, id).pipe(
      Effect.andThen(ThreadRunner.callMain(Api.Wait, id)),
      Effect.as(id),
      Effect.orDie,
      Effect.onInterrupt(() => {
        interruptions++
        return Effect.ignore(ThreadRunner.callMain(Api.WasInterrupted, id))
      })
    )),
  Task.implement(Api.Spin, ({ id, ms }) =>
    ThreadRunner.callMain(Api.Started, id).pipe(
      Effect.orDie,
      Effect.andThen(Effect.sync(() => spin(ms)))
    )),
  Task.implement(Api.Record, (value) => Effect.orDie(ThreadRunner.callMain(Api.Ran, value)).pipe(Effect.as(token))),
  Task.implementStream(
    Api.Numbers,
    ({ count, fail, id }) =>
      (count === 0 ? Stream.iterate(1, (n) => n + 1) : Stream.range(1, count)).pipe(
        Stream.tap(() => Effect.sync(() => void produced++)),
        Stream.concat(fail ? Stream.fail(new Api.Rejected({ reason: `after ${count}` })) : Stream.empty),
        Stream.onExit((exit) =>
          Exit.hasInterrupts(exit) ? Effect.ignore(ThreadRunner.callMain(Api.WasInterrupted, id)) : Effect.void
        )
      )
  ),
  Task.implement(Api.Produced, () => Effect.sync(() => produced))
]
