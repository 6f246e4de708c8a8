// A fault for the outage test: a TCP proxy between a runner and Postgres that the test can pause (the runner is cut
// off from the database: its connections hang, nothing is refused). Stopping Postgres itself is the test Postgres's
// own `halt` and `restart` (support/postgres.ts).
import * as Net from "node:net"

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
