// Type-checked by ../consumer-test.ts in a throwaway npm project against the packed .d.ts files, with
// `skipLibCheck: false`, by TypeScript 7 (strict, otherwise tsc's defaults) and TypeScript 5.9 (strict and
// exactOptionalPropertyTypes). A type that names a path the exports map blocks fails as TS2307; one that silently
// became `any` fails the `NotAny` checks below.
import { BrowserThreadPool } from "@effect-threads/browser"
import { ThreadPool } from "@effect-threads/core"
import * as Task from "@effect-threads/core/Task"
import { NodeThreadPool, NodeThreadRunner } from "@effect-threads/node"
import { Effect, Layer, Schema } from "effect"

/** `true` unless `T` is `any`. */
type NotAny<T> = 0 extends 1 & T ? false : true

export class Negative extends Schema.TaggedError<Negative>()("Negative", { n: Schema.Number }) {}

export const Square = Task.make("Square", { payload: Schema.Number, success: Schema.Number, failure: Negative })

export const serve = (): void => {
  NodeThreadRunner.serve([
    Task.implement(Square, (n) => n < 0 ? Effect.fail(new Negative({ n })) : Effect.succeed(n * n))
  ])
}

export const nodeLayer = NodeThreadPool.layer({ entry: new URL("./tasks.mjs", import.meta.url), maxThreads: 2 })
export const nodeLayerErrorIsTyped: NotAny<Layer.Error<typeof nodeLayer>> = true
export const nodeLayerError: Layer.Error<typeof nodeLayer> = new ThreadPool.InvalidOptions({ message: "x" })
// The name before 0.4.0, deprecated: the same class.
export const nodeLayerErrorAlias: Layer.Error<typeof nodeLayer> = new ThreadPool.InvalidPoolSize({ message: "x" })

export const browserLayer = BrowserThreadPool.layer({
  spawn: () => new Worker(new URL("./tasks.js", import.meta.url), { type: "module" })
})
export const browserLayerErrorIsTyped: NotAny<Layer.Error<typeof browserLayer>> = true

export const made = NodeThreadPool.make({ entry: "./tasks.mjs" })
export const madeErrorIsTyped: NotAny<Effect.Error<typeof made>> = true

export const program: Effect.Effect<number, Negative | ThreadPool.InvalidPoolSize | unknown> = Effect.gen(function*() {
  const square = yield* ThreadPool.deferToThread(Square, 4)
  const stats = yield* ThreadPool.statistics
  return square + stats.threadsStarted
}).pipe(Effect.provide(nodeLayer))

export const squareType: NotAny<Effect.Success<typeof program>> = true
