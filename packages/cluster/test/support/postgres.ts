// A private Postgres for tests: initdb into a temporary folder, pg_ctl start on a free port, no system service.
// Run as root, it runs the server as the `postgres` user (Debian's package creates it); Postgres refuses root.
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"

const binDir = (): string => {
  if (process.env.PG_BIN !== undefined) return process.env.PG_BIN
  const base = "/usr/lib/postgresql"
  const versions = Fs.existsSync(base) ? Fs.readdirSync(base).sort((a, b) => Number(b) - Number(a)) : []
  if (versions[0] === undefined) throw new Error("no Postgres found: apt-get install -y postgresql (or set PG_BIN)")
  return Path.join(base, versions[0], "bin")
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
  readonly stop: () => void
}

export const startPostgres = async (): Promise<Postgres> => {
  const bin = binDir()
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-threads-pg-"))
  const root = process.getuid?.() === 0
  const run = (command: string, args: ReadonlyArray<string>): void => {
    const file = Path.join(bin, command)
    if (root) ChildProcess.execFileSync("runuser", ["-u", "postgres", "--", file, ...args], { stdio: "pipe" })
    else ChildProcess.execFileSync(file, args, { stdio: "pipe" })
  }
  if (root) {
    const uid = Number(ChildProcess.execFileSync("id", ["-u", "postgres"]).toString())
    const gid = Number(ChildProcess.execFileSync("id", ["-g", "postgres"]).toString())
    Fs.chownSync(dir, uid, gid)
  }
  const data = Path.join(dir, "data")
  run("initdb", ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync"])
  const port = await freePort()
  const settings = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`
  run("pg_ctl", ["-D", data, "-o", settings, "-l", Path.join(dir, "log"), "-w", "start"])
  return {
    port,
    stop: () => {
      try {
        run("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"])
      } finally {
        Fs.rmSync(dir, { recursive: true, force: true })
      }
    }
  }
}
