/**
 * The README's code runs as printed: the `ts` blocks of its guide (see `blocks.ts`) are written into a temporary
 * project outside the workspace, whose `node_modules` links the workspace packages; the Node files and the browser
 * files (with the DOM library) are type-checked with the workspace's `tsc` and the options of `tsconfig.base.json`,
 * and the Node program runs on real threads and must print what the README says it prints. "Getting started" is
 * followed as a newcomer does, with its own settings, in `getting-started.test.ts`.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { extractBlocks, filesFor, guideBlocks, relativeImports, skipMarker } from "./blocks.ts"
import { makeProject, root, run, tsc, tsconfig } from "./project.ts"

const readme = fs.readFileSync(path.join(root, "README.md"), "utf8")
const blocks = extractBlocks(readme)

/** What the README says `node main.ts` prints. */
const printed = "78498 primes below 1,000,000 (threads started: 1)"

/** What the README says `node in-process.ts` prints. */
const printedInProcess = "ThreadCrashed, then 168 primes below 1,000 on a new thread (2 threads spawned)"

/** What the README says `node bulk.ts` prints. */
const printedBulk = "148933 primes below 2,000,000, and again 148933; with mode \"exit\": Success, Failure"

/** The packages a README file may import, and where the project's `node_modules` finds them. */
const links: ReadonlyArray<readonly [string, string]> = [
  ["@effect-threads/core", "packages/core"],
  ["@effect-threads/node", "packages/node"],
  ["@effect-threads/browser", "packages/browser"],
  ["effect", "node_modules/effect"],
  ["@types/node", "node_modules/@types/node"],
  ["vite", "examples/browser/node_modules/vite"]
]

let temp = ""
let failed = false

beforeAll(() => {
  temp = makeProject("effect-threads-readme-", links)
  for (const platform of ["node", "browser"] as const) {
    const dir = path.join(temp, platform)
    fs.mkdirSync(dir)
    for (const [name, code] of filesFor(blocks, platform)) fs.writeFileSync(path.join(dir, name), code)
  }
  fs.writeFileSync(path.join(temp, "node", "tsconfig.json"), tsconfig({ types: ["node"] }))
  fs.writeFileSync(
    path.join(temp, "browser", "tsconfig.json"),
    tsconfig({ lib: ["ES2023", "DOM", "DOM.Iterable"], types: [] })
  )
})

afterEach(({ task }) => {
  if (task.result?.state === "fail") failed = true
})

// Kept when a test failed (or with KEEP_README=1), to look at.
afterAll(() => {
  if (temp === "") return
  if (failed || process.env["KEEP_README"] !== undefined) console.log(`kept ${temp}`)
  else fs.rmSync(temp, { recursive: true, force: true })
})

describe("README", () => {
  it("every ts block names its file on its first line, no two blocks name one file, and imports only files it has", () => {
    const unnamed = guideBlocks(blocks).filter((block) => block.name === undefined)
    expect(unnamed.map((block) => `README.md:${block.line}`), `name them, or mark them ${skipMarker}`).toEqual([])
    const names = blocks.filter((block) => !block.skipped && block.name !== undefined).map((block) => block.name)
    expect(names.filter((name, i) => names.indexOf(name) !== i), "two blocks, one file").toEqual([])
    for (const platform of ["node", "browser"] as const) {
      const files = filesFor(blocks, platform)
      const missing = Array.from(files.values()).flatMap(relativeImports).filter((name) => !files.has(name))
      expect(missing, `${platform}: imported, defined by no block`).toEqual([])
    }
    // The skip list stays tiny: every block is checked unless there is a reason.
    expect(blocks.filter((block) => block.skipped).length).toBeLessThanOrEqual(1)
    expect(Array.from(filesFor(blocks, "node").keys()).sort()).toEqual(
      expect.arrayContaining(["api.ts", "count-primes.ts", "in-process.ts", "main.ts", "primes.ts"])
    )
    expect(Array.from(filesFor(blocks, "browser").keys()).sort()).toEqual(
      expect.arrayContaining(["api.ts", "count-primes.ts", "page.ts", "tasks.ts"])
    )
  })

  it("the Node files type-check (strict, the workspace's options)", async () => {
    const { code, stdout, stderr } = await run(tsc, ["-p", "."], path.join(temp, "node"))
    expect(code, stdout + stderr).toBe(0)
  }, 60_000)

  it("the browser files type-check (DOM)", async () => {
    const { code, stdout, stderr } = await run(tsc, ["-p", "."], path.join(temp, "browser"))
    expect(code, stdout + stderr).toBe(0)
  }, 60_000)

  it("the Node program runs on real threads and prints what the README says", async () => {
    const { code, stdout, stderr } = await run(process.execPath, ["main.ts"], path.join(temp, "node"))
    expect(code, stdout + stderr).toBe(0)
    expect(stdout).toBe(`${printed}\n`)
    expect(readme).toContain(`\`${printed}\``)
  }, 60_000)

  it("the bulk program (forEach, mapStream) runs on real threads and prints what the README says", async () => {
    const { code, stdout, stderr } = await run(process.execPath, ["bulk.ts"], path.join(temp, "node"))
    expect(code, stdout + stderr).toBe(0)
    expect(stdout).toBe(`${printedBulk}\n`)
    expect(readme).toContain(`\`${printedBulk}\``)
  }, 60_000)

  it("the in-process program runs without threads and prints what the README says", async () => {
    const { code, stdout, stderr } = await run(process.execPath, ["in-process.ts"], path.join(temp, "node"))
    expect(code, stdout + stderr).toBe(0)
    expect(stdout).toBe(`${printedInProcess}\n`)
    expect(readme).toContain(`\`${printedInProcess}\``)
  }, 60_000)
})
