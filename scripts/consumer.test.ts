import { spawn } from "node:child_process"
import * as path from "node:path"
import { expect, it } from "vitest"

const script = path.join(import.meta.dirname, "consumer-test.ts")

const runScript = (): Promise<{ readonly code: number | null; readonly output: string }> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script], { stdio: ["ignore", "pipe", "pipe"] })
    let output = ""
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString()
    })
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString()
    })
    child.on("error", reject)
    child.on("close", (code) => resolve({ code, output }))
  })

it("the packed packages install with npm and run in a project outside the workspace", async () => {
  const { code, output } = await runScript()
  expect(code, output).toBe(0)
  expect(output).toMatch(/^ {2}\| consumer: ok$/m)
  expect(output).toContain("consumer test passed")
}, 180_000)
