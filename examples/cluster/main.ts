/**
 * The example in one command: starts a private Postgres and three runner processes, waits until they share the
 * shards, runs a job of tasks over them with a live view of which runner served what, then stops everything, also
 * on Ctrl-C. `--kill` (SIGKILL) or `--term` (SIGTERM) stops runner-2 a third of the way in, to watch the cluster
 * carry on without it.
 *
 *   node main.ts [--tasks 2000] [--ms 5] [--concurrency 64] [--threads 2] [--kill | --term] [--default-sharding]
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Cause, Console, Effect, Option } from "effect"
import { parseArgs } from "node:util"
import * as Cluster from "./cluster.ts"
import * as Job from "./job.ts"
import * as Postgres from "./postgres.ts"
import type { Runner } from "./runners.ts"
import type { Sharding } from "./settings.ts"
import { live, seconds } from "./view.ts"

const { values: args } = parseArgs({
  options: {
    tasks: { type: "string", default: "2000" },
    ms: { type: "string", default: "5" },
    concurrency: { type: "string", default: "64" },
    threads: { type: "string", default: "2" },
    kill: { type: "boolean", default: false },
    term: { type: "boolean", default: false },
    "default-sharding": { type: "boolean", default: false }
  }
})

/** A numeric option: a whole number, at least `min`; anything else stops the example with a clear message. */
const whole = (name: string, text: string, min: number): number => {
  const n = Number(text)
  if (!Number.isInteger(n) || n < min) {
    console.error(`--${name} takes a whole number of at least ${min}, got ${JSON.stringify(text)}`)
    process.exit(2)
  }
  return n
}

const settings = {
  runners: 3,
  tasks: whole("tasks", args.tasks, 1),
  ms: whole("ms", args.ms, 0),
  concurrency: whole("concurrency", args.concurrency, 1),
  threads: whole("threads", args.threads, 1),
  signal: args.kill ? "SIGKILL" as const : args.term ? "SIGTERM" as const : undefined,
  sharding: (args["default-sharding"] ? "default" : "tuned") as Sharding
}

const count = (n: number): string => n.toLocaleString("en")

/** Starts the cluster for the current scope, saying what it does. */
const startCluster = Effect.gen(function*() {
  yield* Console.log(`effect-threads cluster example (Node ${process.version})`)
  const postgres = yield* Postgres.start
  yield* Console.log(
    `Postgres ${postgres.version} (pid ${postgres.pid}) on 127.0.0.1:${postgres.port}, data in ${postgres.dir}`
  )
  const runners = yield* Cluster.startRunners(postgres, settings)
  for (const runner of runners) {
    yield* Console.log(`${runner.name} (pid ${runner.pid}) serves on 127.0.0.1:${runner.port}`)
  }
  // registered after the runners: runs before they are stopped
  yield* Effect.addFinalizer(() => Console.log("stopping the runners (SIGTERM) and Postgres"))
  return { postgres, runners }
})

/** The job, with its live view, then its summary. */
const job = (runners: ReadonlyArray<Runner>) =>
  Effect.gen(function*() {
    const victim = runners[1]!
    const fault = settings.signal === undefined
      ? undefined
      : { runner: victim, signal: settings.signal, after: Math.floor(settings.tasks / 3) }
    yield* Console.log(
      `job: ${count(settings.tasks)} tasks of ${settings.ms} ms, ${settings.concurrency} in flight` +
        (fault === undefined ? "" : `; ${fault.signal} to ${victim.name} after ${count(fault.after)} tasks`)
    )
    const progress = Job.makeProgress(settings.tasks)
    const report = yield* Effect.scoped(
      Effect.andThen(live(progress, runners), Job.run({ ...settings, total: settings.tasks, fault }, progress))
    )
    yield* Console.log(
      `done: ${count(report.total)} tasks in ${seconds(report.ms)} (${
        count(Math.round(report.total / report.ms * 1000))
      }` +
        ` tasks/s), each settled once`
    )
    for (const runner of runners) {
      yield* Console.log(`  ${runner.name} (pid ${runner.pid}) served ${count(report.served.get(runner.name) ?? 0)}`)
    }
    if (report.fault !== undefined) {
      yield* Console.log(
        `${report.fault.signal} to ${report.fault.runner} at ${seconds(report.fault.at)} (${count(report.fault.done)}` +
          ` tasks done); longest time after it with no task settling: ${(report.fault.stall / 1000).toFixed(2)} s`
      )
    }
  })

const program = Effect.gen(function*() {
  const dir = yield* Effect.scoped(Effect.gen(function*() {
    const { postgres, runners } = yield* startCluster
    const started = performance.now()
    yield* Console.log(`waiting for the runners to share the shards (${settings.sharding} sharding settings)`)
    yield* Effect.gen(function*() {
      yield* Cluster.awaitSpread(runners)
      yield* Console.log(`every runner serves (${seconds(performance.now() - started)})`)
      yield* job(runners)
    }).pipe(Effect.provide(Cluster.client(postgres, settings.sharding)))
    return postgres.dir
  }))
  yield* Console.log(`stopped; removed ${dir}`)
})

/** A failure as one line, or the whole cause for a defect; nothing for Ctrl-C. */
const report = (cause: Cause.Cause<{ readonly message: string }>) =>
  Cause.hasInterruptsOnly(cause) ? Effect.void : Console.error(
    Option.match(Cause.findErrorOption(cause), {
      onNone: () => Cause.pretty(cause),
      onSome: (error) => `failed: ${error.message}`
    })
  )

NodeRuntime.runMain(Effect.tapCause(program, report), { disableErrorReporting: true })
