// An embedded cluster whose `Hang` runs tell the test, in order, when they start and stop in the runner's threads.
import * as Task from "@effect-threads/core/Task"
import type * as ThreadPool from "@effect-threads/core/ThreadPool"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as NodeCluster from "../../src/NodeCluster.ts"
import { Started, Stopped, tasks } from "../fixtures/api.ts"

/**
 * Runs `body` over an embedded cluster whose `Hang` runs log, in order, when they start and stop in the runner's
 * threads (`started <id>`, `stopped <id>`: main-thread calls of the tasks).
 */
export const withEvents = <A, E>(
  body: (events: Array<string>) => Effect.Effect<A, E, ThreadPool.Executor>
): Effect.Effect<A, unknown> =>
  Effect.suspend(() => {
    const events: Array<string> = []
    const log = (what: string) => (id: string) => Effect.sync(() => void events.push(`${what} ${id}`))
    return body(events).pipe(Effect.provide(NodeCluster.layerEmbedded({
      tasks,
      entry: new URL("../fixtures/tasks.ts", import.meta.url),
      minThreads: 1,
      maxThreads: 4,
      mainHandlers: [Task.implement(Started, log("started")), Task.implement(Stopped, log("stopped"))]
    })))
  })

/** Waits until `event` is in the log (polled; the test's timeout bounds the wait). */
export const waitFor = (events: ReadonlyArray<string>, event: string): Effect.Effect<boolean> =>
  Effect.sync(() => events.includes(event)).pipe(
    Effect.repeat({ until: (seen) => seen, schedule: Schedule.spaced("5 millis") })
  )
