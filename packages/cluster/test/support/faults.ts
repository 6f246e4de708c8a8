// Faults for the outage test: a TCP proxy between a runner and Postgres that the test can pause (the runner is cut
// off from the database: its connections hang, nothing is refused), and stopping the test's Postgres
// (`pg_ctl stop -m immediate`) and starting it again on the same port and data.
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Path from "node:path"

export interface Proxy {
  /** Where processes connect instead of Postgres. */
  readonly port: number
  /** From now on nothing crosses, either way, on any connection; new connections wait too. */
  readonly pause: () => void
  /** Everything held crosses, and what follows. */
  readonly resume: () => void
  readonly close: () => Promise<void>
}

/** A proxy on 127.0.0.1 to `target`, the port of a local Postgres. */
export const startProxy = (target: number): Promise<Proxy> =>
  new Promise((resolve, reject) => {
    let paused = false
    const sockets = new Set<Net.Socket>()
    const held: Array<() => void> = []
    const track = (socket: Net.Socket) => {
      sockets.add(socket)
      socket.on("close", () => sockets.delete(socket))
      // A connection reset by either side ends the pair; nothing to report.
      socket.on("error", () => socket.destroy())
    }
    const connect = (client: Net.Socket) => {
      const upstream = Net.connect(target, "127.0.0.1")
      track(upstream)
      client.pipe(upstream)
      upstream.pipe(client)
      client.on("close", () => upstream.destroy())
      upstream.on("close", () => client.destroy())
      if (paused) {
        client.pause()
        upstream.pause()
      }
    }
    const server = Net.createServer((client) => {
      track(client)
      if (paused) {
        client.pause()
        held.push(() => connect(client))
      } else {
        connect(client)
      }
    })
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      resolve({
        port: (server.address() as Net.AddressInfo).port,
        pause: () => {
          paused = true
          for (const socket of sockets) socket.pause()
        },
        resume: () => {
          paused = false
          for (const socket of sockets) socket.resume()
          for (const open of held.splice(0)) open()
        },
        close: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy()
            server.close(() => done())
          })
      })
    })
  })

/** The Postgres server (the postmaster) listening on `port`: its command line (from /proc) and its user. */
const server = (port: number): { readonly args: ReadonlyArray<string>; readonly uid: number; readonly gid: number } => {
  for (const pid of Fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue
    let args: Array<string>
    let status: string
    try {
      args = Fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter((arg) => arg !== "")
      status = Fs.readFileSync(`/proc/${pid}/status`, "utf8")
    } catch {
      continue
    }
    const at = args.indexOf("-p")
    if (Path.basename(args[0] ?? "") !== "postgres" || at < 0 || args[at + 1] !== String(port)) continue
    const id = (field: string) => Number(/\s(\d+)/.exec(status.split("\n").find((l) => l.startsWith(field)) ?? "")?.[1])
    return { args, uid: id("Uid:"), gid: id("Gid:") }
  }
  throw new Error(`no Postgres server found on port ${port}`)
}

export interface Restartable {
  /** `pg_ctl stop -m immediate`: every connection is dropped, new ones are refused. */
  readonly stop: () => void
  /** Starts it again with the same data and settings, and waits until it accepts connections. */
  readonly start: () => void
}

/**
 * Stops and starts the Postgres server (of `startPostgres`) that listens on `port`, with the `pg_ctl` beside its
 * program, as its user, with the same data and settings.
 */
export const restartable = (port: number): Restartable => {
  const { args, gid, uid } = server(port)
  const pgCtl = Path.join(Path.dirname(args[0]!), "pg_ctl")
  const data = args[args.indexOf("-D") + 1]!
  const options = args.slice(1).filter((_, i, all) => all[i] !== "-D" && all[i - 1] !== "-D").join(" ")
  const run = (pgCtlArgs: ReadonlyArray<string>) =>
    void ChildProcess.execFileSync(pgCtl, pgCtlArgs, { stdio: "pipe", cwd: Path.dirname(data), uid, gid })
  return {
    stop: () => run(["-D", data, "-m", "immediate", "-w", "stop"]),
    start: () => run(["-D", data, "-o", options, "-l", Path.join(Path.dirname(data), "log"), "-w", "start"])
  }
}
