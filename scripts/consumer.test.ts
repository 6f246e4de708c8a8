import { spawn } from "node:child_process"
import * as path from "node:path"
import { expect, it } from "vitest"

const script = path.join(import.meta.dirname, "consumer-test.ts")

/** The script's own bound: well inside the test's timeout, so that a hung run ends with its output shown. */
const scriptTimeoutMs = 170_000

/**
 * Runs the consumer script in a process group of its own; past {@link scriptTimeoutMs} the whole group (the
 * script and the npm or tsc it waits for) is killed and the output so far is returned with `timedOut`.
 */
const runScript = (): Promise<{ readonly code: number | null; readonly output: string; readonly timedOut: boolean }> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script], { stdio: ["ignore", "pipe", "pipe"], detached: true })
    let output = ""
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL")
    }, scriptTimeoutMs)
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString()
    })
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString()
    })
    child.on("error", (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.on("close", (code) => {
      clearTimeout(timer)
      resolve({ code, output, timedOut })
    })
  })

it("the packed packages install with npm and run in a project outside the workspace", async () => {
  const { code, output, timedOut } = await runScript()
  expect(timedOut, `the consumer script did not finish within ${scriptTimeoutMs / 1000} s:\n${output}`).toBe(false)
  expect(code, output).toBe(0)
  expect(output).toMatch(/^ {2}\| consumer: ok$/m)
  expect(output).toContain("consumer test passed")
}, 180_000)
