/**
 * Runner processes for the example: each is `node runner.ts` with its settings in its environment, a child of this
 * process in its own process group. Closing the scope stops it with SIGTERM (it finishes what it runs, hands its shards over and exits) and
 * waits for it to exit; one that is still there after 20 seconds gets SIGKILL.
 */
import { Data, Effect } from "effect"
import type { Scope } from "effect"
import * as ChildProcess from "node:child_process"
import { type CommandFailed, freePort, tail } from "./processes.ts"
import { readyLine, type Sharding } from "./settings.ts"

/** How a runner process ended: its exit code, or the signal that ended it. */
export interface Exited {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

/** A runner process. */
export interface Runner {
  readonly name: string
  readonly pid: number
  readonly port: number
  readonly kill: (signal: NodeJS.Signals) => Effect.Effect<void>
  /** Waits for it to exit. */
  readonly exited: Effect.Effect<Exited>
  readonly hasExited: () => boolean
}

/** A runner that exited, or did not say it was ready, before it served. */
export class RunnerFailed extends Data.TaggedError("RunnerFailed")<{ readonly message: string }> {}

export interface RunnerOptions {
  readonly name: string
  /** The cluster's database. */
  readonly url: string
  readonly sharding: Sharding
  /** Threads of its pool. */
  readonly threads: number
}

interface Child extends Runner {
  readonly process: ChildProcess.ChildProcess
  /** The end of its standard output; of both its outputs. */
  readonly stdout: () => string
  readonly output: () => string
}

const spawn = (options: RunnerOptions, port: number): Effect.Effect<Child> =>
  Effect.sync(() => {
    const child = ChildProcess.spawn(process.execPath, [new URL("./runner.ts", import.meta.url).pathname], {
      env: {
        ...process.env,
        PG_URL: options.url,
        RUNNER_NAME: options.name,
        RUNNER_PORT: String(port),
        THREADS: String(options.threads),
        SHARDING: options.sharding
      },
      detached: true,
      stdio: ["ignore", "pipe", "pipe"]
    })
    let exit: Exited | undefined
    const exited = new Promise<Exited>((resolve) =>
      child.once("exit", (code, signal) => {
        exit = { code, signal }
        resolve(exit)
      })
    )
    const out = tail(child.stdout)
    const err = tail(child.stderr)
    return {
      name: options.name,
      pid: child.pid ?? -1,
      port,
      process: child,
      kill: (signal) => Effect.sync(() => void child.kill(signal)),
      exited: Effect.promise(() => exited),
      hasExited: () => exit !== undefined,
      stdout: out.text,
      output: () => out.text() + err.text()
    }
  })

/** SIGTERM, and SIGKILL if it is still there after 20 seconds; waits for it to exit. */
const stop = (runner: Runner): Effect.Effect<void> =>
  runner.hasExited() ? Effect.void : runner.kill("SIGTERM").pipe(
    Effect.andThen(runner.exited),
    Effect.timeoutOrElse({
      duration: "20 seconds",
      orElse: () => Effect.andThen(runner.kill("SIGKILL"), runner.exited)
    }),
    Effect.asVoid
  )

/** Waits for the runner to print that it serves; fails if it exits first, or says nothing for a minute. */
const awaitReady = (runner: Child): Effect.Effect<void, RunnerFailed> =>
  Effect.callback<void, RunnerFailed>((resume) => {
    // it may have said so before this listens
    if (runner.stdout().includes(readyLine)) return resume(Effect.void)
    const stdout = runner.process.stdout!
    const detach = () => {
      stdout.off("data", onData)
      runner.process.off("exit", onExit)
    }
    // the `tail` listener was attached first, so `stdout()` already holds the chunk
    const onData = () => {
      if (!runner.stdout().includes(readyLine)) return
      detach()
      resume(Effect.void)
    }
    const onExit = (code: number | null) => {
      detach()
      resume(
        Effect.fail(
          new RunnerFailed({ message: `${runner.name} exited (${code}) before it served:\n${runner.output()}` })
        )
      )
    }
    stdout.on("data", onData)
    runner.process.once("exit", onExit)
    if (runner.hasExited()) onExit(runner.process.exitCode)
    return Effect.sync(detach)
  }).pipe(
    Effect.timeoutOrElse({
      duration: "1 minute",
      orElse: () => Effect.fail(new RunnerFailed({ message: `${runner.name} did not start within a minute` }))
    })
  )

/** Starts a runner process for the current scope and waits until it serves. */
export const spawnRunner = (options: RunnerOptions): Effect.Effect<Runner, RunnerFailed | CommandFailed, Scope.Scope> =>
  Effect.gen(function*() {
    const port = yield* freePort
    const runner = yield* Effect.acquireRelease(spawn(options, port), stop)
    yield* awaitReady(runner)
    return runner
  })
