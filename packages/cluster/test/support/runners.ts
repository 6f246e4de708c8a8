// Runner processes for the Postgres tests: each runs fixtures/runner.ts against the test's Postgres, on its own port.
import * as ChildProcess from "node:child_process"
import { freePort, startPostgres } from "./postgres.ts"
import type { Postgres } from "./postgres.ts"

export interface Runner {
  readonly pid: number
  readonly exited: Promise<{ readonly code: number | null; readonly signal: string | null }>
  readonly kill: (signal: NodeJS.Signals) => void
  /** Resolves once the process has exited and everything it printed has been read. */
  readonly closed: Promise<void>
  /** Everything the runner has printed so far. */
  readonly output: () => string
  /** Resolves once the runner has printed `line` (a whole line). */
  readonly printed: (line: string) => Promise<void>
}

export const spawnRunner = (pgPort: number, port: number): Promise<Runner> =>
  new Promise((resolve, reject) => {
    const child = ChildProcess.spawn(process.execPath, [new URL("../fixtures/runner.ts", import.meta.url).pathname], {
      env: { ...process.env, PG_PORT: String(pgPort), RUNNER_PORT: String(port) },
      stdio: ["ignore", "pipe", "inherit"]
    })
    const exited = new Promise<{ code: number | null; signal: string | null }>((done) =>
      child.once("exit", (code, signal) => done({ code, signal }))
    )
    const closed = new Promise<void>((done) => child.once("close", () => done()))
    child.once("error", reject)
    let out = ""
    const waiting: Array<{ readonly line: string; readonly done: () => void }> = []
    const hasLine = (line: string) => out.split("\n").includes(line)
    const printed = (line: string) =>
      hasLine(line) ? Promise.resolve() : new Promise<void>((done) => waiting.push({ line, done }))
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString()
      for (let i = waiting.length - 1; i >= 0; i--) {
        if (hasLine(waiting[i]!.line)) waiting.splice(i, 1)[0]!.done()
      }
    })
    void printed("ready").then(() =>
      resolve({ pid: child.pid!, exited, closed, kill: (signal) => child.kill(signal), output: () => out, printed })
    )
    void exited.then(({ code }) => reject(new Error(`runner exited before it was ready (${code}): ${out}`)))
  })

/** A client process (fixtures/client.ts) that sends one durable call of `Slow` with the id `id`. */
export const spawnClient = (pgPort: number, id: string, ms: number) => {
  const child = ChildProcess.spawn(process.execPath, [new URL("../fixtures/client.ts", import.meta.url).pathname], {
    env: { ...process.env, PG_PORT: String(pgPort), ID: id, MS: String(ms) },
    stdio: ["ignore", "ignore", "inherit"]
  })
  const exited = new Promise<string | null>((done) => child.once("exit", (_code, signal) => done(signal)))
  return { kill: () => child.kill("SIGKILL"), exited }
}

export interface TestCluster {
  readonly pg: Postgres
  readonly runners: ReadonlyArray<Runner>
}

/** A private Postgres and `count` runners, all ready; stopping kills what is left and removes the database. */
export const startCluster = async (count: number): Promise<TestCluster> => {
  const pg = await startPostgres()
  const runners: Array<Runner> = []
  try {
    for (let i = 0; i < count; i++) runners.push(await spawnRunner(pg.port, await freePort()))
  } catch (error) {
    for (const runner of runners) runner.kill("SIGKILL")
    pg.stop()
    throw error
  }
  return { pg, runners }
}

export const stopCluster = async ({ pg, runners }: TestCluster): Promise<void> => {
  for (const runner of runners) runner.kill("SIGKILL")
  await Promise.all(runners.map((runner) => runner.exited))
  pg.stop()
}
