// The runners' pool statistics in the cluster's database: each runner writes its own row every second and removes it
// when it stops; a client adds up the rows written in the last few seconds (a runner killed drops out by itself).
import type * as ThreadPool from "@effect-threads/core/ThreadPool"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as SqlClient from "effect/sql/SqlClient"

const Statistics = Schema.Struct({
  idleWorkerCount: Schema.Number,
  busyWorkerCount: Schema.Number,
  backloggedWorkCount: Schema.Number,
  workerCount: Schema.Number,
  threadsStarted: Schema.Number,
  threadsCrashed: Schema.Number,
  // Absent from the rows of runners of an earlier version: 0.
  threadsTerminated: Schema.Number.pipe(Schema.withDecodingDefaultKey(Effect.succeed(0))),
  tasksInFlight: Schema.Number,
  waitingForRoom: Schema.Number,
  threadsRecycled: Schema.Number
})

const fromJson = Schema.decodeUnknownEffect(Schema.fromJsonString(Statistics))

/** How often a runner writes its row. */
const every = "1 second"

/** A row older than this is a runner that is gone. */
const freshSeconds = 5

const createTable = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE TABLE IF NOT EXISTS effect_threads_runner_statistics (
    address TEXT PRIMARY KEY,
    statistics TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
  )`
})

/** @internal Writes the runner's statistics every second while the scope is open, and removes them when it closes. */
export const publish = (
  address: string,
  pool: ThreadPool.ThreadPoolShape
): Effect.Effect<void, never, SqlClient.SqlClient | Scope.Scope> =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const state = { created: false, failing: false }
    const write = Effect.gen(function*() {
      // Runners that start together may race on the table's creation: it is tried again until it is there.
      if (!state.created) yield* createTable
      state.created = true
      const json = JSON.stringify(yield* pool.statistics)
      yield* sql`INSERT INTO effect_threads_runner_statistics (address, statistics, updated_at)
        VALUES (${address}, ${json}, now())
        ON CONFLICT (address) DO UPDATE SET statistics = EXCLUDED.statistics, updated_at = EXCLUDED.updated_at`
      state.failing = false
    }).pipe(
      // One failure (the database away for a moment) skips one write; a warning when writes start failing.
      Effect.catchCause((cause) => {
        if (state.failing) return Effect.void
        state.failing = true
        return Effect.logWarning("effect-threads: could not write the pool's statistics", cause)
      })
    )
    const remove = sql`DELETE FROM effect_threads_runner_statistics WHERE address = ${address}`
    yield* Effect.addFinalizer(() => Effect.ignore(remove))
    yield* Effect.forkScoped(Effect.repeat(write, Schedule.spaced(every)))
  })

/**
 * @internal The statistics of the runners that wrote theirs in the last few seconds (fails while no runner has
 * created the table yet).
 */
export const read: Effect.Effect<ReadonlyArray<ThreadPool.Statistics>, unknown, SqlClient.SqlClient> = Effect.gen(
  function*() {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{ readonly statistics: string }>`SELECT statistics FROM effect_threads_runner_statistics
      WHERE updated_at > now() - make_interval(secs => ${freshSeconds})`
    return yield* Effect.forEach(rows, (row) => fromJson(row.statistics))
  }
)
