/**
 * Every runtime Effect users run: Node 22, 24 and 26, Bun and Deno (`../runtimes.ts`), each from the npm registry.
 * The packages run as a user gets them: built, packed and installed with plain npm into a throwaway project outside
 * the workspace (`scripts/pack.ts`, shared with the consumer test: the tarballs are built once per run). vitest runs
 * on the workspace's Node 24 only; on each runtime it spawns two programs in that project, all runtimes at once:
 *
 * - `fixtures/checks.ts` (copied to `checks/`), the pool on real threads through `@effect-threads/node` (results,
 *   typed failures, crashes, start failures, interrupt, timeout, streaming, keys, recycling, transfer lists,
 *   `resourceLimits`, close), which prints what it saw as JSON; the assertions are here;
 * - the README's Node program (`readme/main.ts` with `api.ts`, `count-primes.ts` and `primes.ts`, extracted by
 *   `scripts/readme`), run as a user runs it (`node main.ts`, `bun main.ts`, `deno run -A main.ts`).
 *
 * What differs between runtimes is asserted as such (`resourceLimits`), and listed in the README's "Runtimes".
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { installPacked, type PackedProject, packPackages, readJson } from "../../scripts/pack.ts"
import { extractBlocks, filesFor } from "../../scripts/readme/blocks.ts"
import { type Ran, root, runFile, type Runtime, runtimes } from "../runtimes.ts"

const readme = fs.readFileSync(path.join(root, "README.md"), "utf8")
/** What the README says `node main.ts` prints. */
const printed = "78498 primes below 1,000,000 (threads started: 1)"
/** The workspace's effect: the packages are installed beside it. */
const effect = String(
  (readJson(path.join(root, "package.json"))["devDependencies"] as Record<string, unknown>)["effect"]
)
/** A runtime's programs get two minutes: five runtimes share a loaded machine. */
const timeoutMs = 120_000

let project: PackedProject | undefined
const runs = new Map<string, { readonly checks: Promise<Ran>; readonly readme: Promise<Ran> }>()

beforeAll(async () => {
  const installed = await installPacked({
    packed: await packPackages(),
    packages: ["core", "node"],
    dependencies: { effect },
    prefix: "effect-threads-runtimes-"
  })
  project = installed
  const checks = path.join(installed.dir, "checks")
  fs.mkdirSync(checks)
  for (const file of fs.readdirSync(path.join(root, "runtimes", "fixtures"))) {
    fs.copyFileSync(path.join(root, "runtimes", "fixtures", file), path.join(checks, file))
  }
  const programs = path.join(installed.dir, "readme")
  fs.mkdirSync(programs)
  for (const [name, code] of filesFor(extractBlocks(readme), "node")) fs.writeFileSync(path.join(programs, name), code)
  for (const runtime of runtimes) {
    runs.set(runtime.name, {
      checks: runFile(runtime, "checks.ts", checks, timeoutMs),
      readme: runFile(runtime, "main.ts", programs, timeoutMs)
    })
  }
}, 600_000)

afterAll(async () => {
  await Promise.all(Array.from(runs.values(), (run) => Promise.all([run.checks, run.readme])))
  project?.remove()
})

const runsOf = (runtime: Runtime) => {
  const found = runs.get(runtime.name)
  if (found === undefined) throw new Error(`${runtime.name} was not started`)
  return found
}

/** A report of `checks.ts`: the runtime it ran on, and what each check saw (plain JSON). */
interface Report {
  readonly runtime: { readonly name: string; readonly version: string }
  readonly checks: Readonly<Record<string, unknown>>
  /** How the threads of each pool ended, once it closed. */
  readonly pools: Readonly<Record<string, unknown>>
}

const reportOf = async (runtime: Runtime): Promise<Report> => {
  const { code, stdout, stderr } = await runsOf(runtime).checks
  expect(code, `${runtime.name} exit code; stderr:\n${stderr}`).toBe(0)
  const last = stdout.trim().split("\n").at(-1) ?? ""
  return JSON.parse(last) as Report
}

const checkOf = async (runtime: Runtime, name: string): Promise<unknown> => (await reportOf(runtime)).checks[name]
const poolOf = async (runtime: Runtime, name: string): Promise<unknown> => (await reportOf(runtime)).pools[name]

const cleanExit = { exitCode: 0, error: null, terminated: false }
const crashed = (task: string, exitCode: number) => ({ _tag: "ThreadCrashed", task, exitCode })

/**
 * What each runtime does with a thread past its `resourceLimits`: the task's outcome, and how the pool's threads
 * ended (the one that ran it, then its replacement where there was one, which closed with the pool).
 */
const pastHeapLimit = (runtime: Runtime) => {
  if (runtime.name.startsWith("Node")) {
    const error = expect.stringContaining("memory limit")
    return {
      says: "a thread past its heap limit is ThreadCrashed",
      exit: { failure: { _tag: "ThreadCrashed", task: "Hog", exitCode: 1, message: error } },
      exits: [{ exitCode: 1, error, terminated: false }, { error: null }]
    }
  }
  if (runtime.name === "Bun") {
    // The pool's grace period is short here (for Deno's silent thread): a thread that takes longer to close, holding
    // 256 MB on a loaded machine, is terminated, which is no error.
    return {
      says: "not enforced (the thread keeps its 256 MB)",
      exit: { success: "kept 256 MB" },
      exits: [{ error: null }]
    }
  }
  return {
    says: "a thread past its heap limit stops without a word (no exit, no error) until it is terminated",
    exit: { success: "no answer within 5 seconds" },
    exits: [{ error: null, terminated: true }, { error: null }]
  }
}

describe.each(runtimes)("$name ($version)", { timeout: timeoutMs + 30_000 }, (runtime) => {
  it("the README's Node program prints what the README says, and nothing on stderr", async () => {
    const { code, stdout, stderr } = await runsOf(runtime).readme
    expect(code, stderr).toBe(0)
    expect(stdout).toBe(`${printed}\n`)
    expect(stderr).toBe("")
    expect(readme).toContain(`\`${printed}\``)
  })

  it("runs on the version its package installs, and every check finished", async () => {
    const report = await reportOf(runtime)
    expect(report.runtime.version).toBe(runtime.version)
    const failed = Object.entries(report.checks).filter(([, check]) =>
      typeof check === "object" && check !== null && "checkFailed" in check
    )
    expect(failed).toEqual([])
    expect(Object.keys(report.checks).length).toBe(13)
  })

  it("close: every thread of every pool ended; pools closed after their work end each thread cleanly", async () => {
    const { pools } = await reportOf(runtime)
    expect(Object.keys(pools).length).toBe(9)
    const alive = Object.entries(pools).filter(([, pool]) =>
      !(typeof pool === "object" && pool !== null && "alive" in pool && pool.alive === 0)
    )
    expect(alive).toEqual([])
    expect(pools["oneThread"]).toEqual({ spawned: 1, alive: 0, exits: [cleanExit] })
    expect(pools["twoThreads"]).toEqual({ spawned: 2, alive: 0, exits: [cleanExit, cleanExit] })
  })

  it("results: successes and structured values come back; two tasks at once run on two threads", async () => {
    expect(await checkOf(runtime, "results")).toEqual({
      add: 5,
      echo: { a: [1, "b", { c: true }], d: null, e: { map: [["k", 1]] }, f: { bytes: [1, 2] } },
      echoTypes: [true, true],
      sumsRight: true
    })
    expect(await checkOf(runtime, "spread")).toEqual({ twoAtOnceOnThreads: 2 })
  })

  it("failures: a typed failure is an instance of its Schema.TaggedError class; defects; uncloneable payloads", async () => {
    expect(await checkOf(runtime, "failures")).toMatchObject({
      failed: { failure: { _tag: "Rejected", reason: "nope" } },
      instanceOfRejected: true,
      died: { defect: "RangeError: bad" },
      uncloneable: { failure: { _tag: "InvalidPayload", task: "Echo", path: "$.f" } },
      after: 2
    })
  })

  it("crashes: process.exit in a thread and an uncaught error are ThreadCrashed with the exit code", async () => {
    expect(await checkOf(runtime, "crashes")).toMatchObject({
      exited: { failure: crashed("Exit", 3) },
      exitedZero: { failure: crashed("Exit", 0) },
      threw: { failure: { ...crashed("AsyncThrow", 1), message: expect.stringContaining("Error: boom") } },
      after: 2,
      threadsCrashed: 3,
      threadsStarted: 4
    })
    expect(await poolOf(runtime, "crashes")).toMatchObject({
      exits: [{ exitCode: 3 }, { exitCode: 0 }, { exitCode: 1, error: "Error: boom" }, cleanExit]
    })
  })

  it("start failures: an entry that throws at load, or is missing, is ThreadStartFailed", async () => {
    const startFailed = (says: string) => ({
      failure: { _tag: "ThreadStartFailed", message: expect.stringContaining(says) }
    })
    expect(await checkOf(runtime, "startFailures")).toMatchObject({
      throwsAtLoad: startFailed("this entry throws at load"),
      missing: startFailed("no-such-entry.ts")
    })
  })

  it("interrupt: an interrupted caller's task is interrupted in its thread, which stays", async () => {
    expect(await checkOf(runtime, "interrupt")).toEqual({
      exit: { interrupted: true },
      heardInThread: true,
      interruptionsInThread: 1,
      sameThread: true
    })
  })

  it("timeout: Effect.timeout interrupts a task in its thread; a loop that cannot hear it loses its thread", async () => {
    const timedOut = { failure: { _tag: "TimeoutError" } }
    expect(await checkOf(runtime, "timeout")).toMatchObject({ exit: timedOut, heardInThread: true, sameThread: true })
    expect(await checkOf(runtime, "spinning")).toMatchObject({ exit: timedOut, newThread: true, threadsStarted: 2 })
    expect(await poolOf(runtime, "spinning")).toMatchObject({ exits: [{ terminated: true }, { error: null }] })
  })

  it("streaming: elements, then the typed failure; a consumer that stops stops the stream in its thread", async () => {
    expect(await checkOf(runtime, "streaming")).toMatchObject({
      beforeFailure: [1, 2, 3, 4, 5],
      failing: { failure: { _tag: "Rejected", reason: "after 5" } },
      taken: [1, 2, 3],
      stoppedInThread: true
    })
  })

  it("keys: a key's tasks run on one thread, in order", async () => {
    expect(await checkOf(runtime, "keys")).toEqual({ onThreads: 1, order: [0, 1, 2, 3, 4, 5] })
  })

  it("recycling: after N tasks, and past a heap size", async () => {
    expect(await checkOf(runtime, "recycling")).toMatchObject({ afterTasks: 1, heapAbove: { threadsRecycled: 1 } })
    expect(await poolOf(runtime, "recycleAfterTasks")).toEqual({ spawned: 2, alive: 0, exits: [cleanExit, cleanExit] })
  })

  it("transfer lists: a transferred buffer arrives whole and is detached on the sender's side", async () => {
    expect(await checkOf(runtime, "transfer")).toEqual({ length: 16, leftBehind: 0 })
  })

  it(`resourceLimits: ${pastHeapLimit(runtime).says}`, async () => {
    const expected = pastHeapLimit(runtime)
    expect(await checkOf(runtime, "resourceLimits")).toMatchObject({ exit: expected.exit, after: 2 })
    expect(await poolOf(runtime, "resourceLimits")).toMatchObject({ exits: expected.exits })
  })
})
