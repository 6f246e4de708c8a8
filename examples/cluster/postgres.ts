/**
 * A private Postgres for the example: `initdb` into a temporary folder, `pg_ctl start` on a free port of
 * 127.0.0.1, no system service touched. Closing its scope stops the server and removes the folder. Run as root,
 * the server runs as the `postgres` user (Debian's package creates it), since Postgres refuses to run as root.
 */
import { Data, Effect } from "effect"
import type { Scope } from "effect"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { type CommandFailed, freePort, run } from "./processes.ts"

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

/** The folder of `initdb` and `pg_ctl`: `PG_BIN`, or the newest of Debian's `/usr/lib/postgresql/<version>/bin`. */
const binDir: Effect.Effect<string, PostgresNotFound> = Effect.suspend(() => {
  const base = "/usr/lib/postgresql"
  const versions = Fs.existsSync(base) ? Fs.readdirSync(base).sort((a, b) => Number(b) - Number(a)) : []
  const candidates = process.env.PG_BIN !== undefined
    ? [process.env.PG_BIN]
    : versions.map((version) => Path.join(base, version, "bin"))
  const bin = candidates.find((dir) => Fs.existsSync(Path.join(dir, "initdb")))
  return bin === undefined
    ? Effect.fail(
      new PostgresNotFound({
        message: "Postgres not found: install Debian's package (apt-get install -y postgresql), " +
          "or set PG_BIN to the folder of initdb and pg_ctl"
      })
    )
    : Effect.succeed(bin)
})

const asRoot = process.getuid?.() === 0

/** Runs a Postgres program, as the `postgres` user when this process is root. */
const pg = (bin: string, command: string, args: ReadonlyArray<string>) =>
  asRoot
    ? run("runuser", ["-u", "postgres", "--", Path.join(bin, command), ...args])
    : run(Path.join(bin, command), args)

/** A temporary folder the server's user owns, removed with the scope. */
const tempDir = Effect.acquireRelease(
  Effect.sync(() => {
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-threads-cluster-"))
    if (asRoot) {
      const id = (flag: string) => Number(ChildProcess.execFileSync("id", [flag, "postgres"]).toString())
      Fs.chownSync(dir, id("-u"), id("-g"))
    }
    return dir
  }),
  (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
)

/** Starts a private Postgres for the current scope. */
export const start: Effect.Effect<Postgres, PostgresNotFound | CommandFailed, Scope.Scope> = Effect.gen(function*() {
  const bin = yield* binDir
  const dir = yield* tempDir
  const data = Path.join(dir, "data")
  yield* pg(bin, "initdb", ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync"])
  const port = yield* freePort
  const settings = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`
  yield* Effect.acquireRelease(
    pg(bin, "pg_ctl", ["-D", data, "-o", settings, "-l", Path.join(dir, "log"), "-w", "start"]),
    () => Effect.ignore(pg(bin, "pg_ctl", ["-D", data, "-m", "fast", "-w", "stop"]))
  )
  const { pid, version } = yield* Effect.sync(() => ({
    // postmaster.pid has the server's pid on its first line
    pid: Number(Fs.readFileSync(Path.join(data, "postmaster.pid"), "utf8").split("\n")[0]),
    version: Fs.readFileSync(Path.join(data, "PG_VERSION"), "utf8").trim()
  }))
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, port, pid, version, dir }
})
