/**
 * The cluster package's README runs as printed (`packages/cluster/README.md`): its `ts` blocks, named by their first
 * line as in the root README, are written into a throwaway project, type-checked with the workspace's options, and
 * its two programs on the embedded cluster (`main.ts`, `once.ts`) run and print what the README says.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { extractBlocks, filesFor, guideBlocks, relativeImports } from "./blocks.ts"
import { makeProject, root, run, tsc, tsconfig } from "./project.ts"

const readme = fs.readFileSync(path.join(root, "packages", "cluster", "README.md"), "utf8")
const blocks = guideBlocks(extractBlocks(readme))
const files = filesFor(blocks, "node")

/** What the README says `node main.ts` and `node once.ts` print. */
const programs = [
  {
    file: "main.ts",
    does: "runs the embedded cluster",
    prints: "78498 primes below 1,000,000 in 4 chunks, 78498 in one"
  },
  { file: "once.ts", does: "runs a durable call twice", prints: "9592 primes below 100,000, and again 9592: one run" }
]

/** The packages a README file may import, and where the project's `node_modules` finds them. */
const links: ReadonlyArray<readonly [string, string]> = [
  ["@effect-threads/core", "packages/core"],
  ["@effect-threads/node", "packages/node"],
  ["@effect-threads/cluster", "packages/cluster"],
  ["effect", "node_modules/effect"],
  ["@types/node", "node_modules/@types/node"]
]

let temp = ""

beforeAll(() => {
  temp = makeProject("effect-threads-cluster-readme-", links)
  fs.writeFileSync(path.join(temp, "tsconfig.json"), tsconfig({ types: ["node"] }))
  for (const [name, code] of files) fs.writeFileSync(path.join(temp, name), code)
})

afterAll(() => {
  if (temp !== "") fs.rmSync(temp, { recursive: true, force: true })
})

describe("the cluster package's README", () => {
  it("every ts block names its file, once, and imports only files the README declares", () => {
    expect(blocks.filter((block) => block.name === undefined).map((block) => `README.md:${block.line}`)).toEqual([])
    const names = blocks.map((block) => block.name)
    expect(names.filter((name, i) => names.indexOf(name) !== i)).toEqual([])
    const missing = Array.from(files.values()).flatMap(relativeImports).filter((name) => !files.has(name))
    expect(missing).toEqual([])
    expect([...files.keys()].sort()).toEqual([
      "api.ts",
      "client.ts",
      "main.ts",
      "once.ts",
      "primes.ts",
      "program.ts",
      "runner.ts"
    ])
  })

  it("its files type-check (strict, the workspace's options)", async () => {
    const { code, stdout, stderr } = await run(tsc, ["-p", "."], temp)
    expect(code, stdout + stderr).toBe(0)
  }, 60_000)

  for (const { does, file, prints } of programs) {
    it(`${file} ${does} and prints what the README says`, async () => {
      const { code, stdout, stderr } = await run(process.execPath, [file], temp)
      expect(code, stdout + stderr).toBe(0)
      expect(stdout).toBe(`${prints}\n`)
      expect(readme).toContain(`\`${prints}\``)
    }, 60_000)
  }
})
