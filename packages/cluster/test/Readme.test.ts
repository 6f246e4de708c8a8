/**
 * The package README's code runs as printed: its `ts` blocks, each named by its first line (`// main.ts`), are
 * written into a temporary project outside the workspace whose `node_modules` links the workspace packages; they are
 * type-checked with the workspace's `tsc` and the options of `tsconfig.base.json`, and `main.ts` (the embedded
 * cluster) runs and must print what the README says. The same convention as the root README's test
 * (`scripts/readme`), whose `extractBlocks` this package cannot import (its `rootDir` is the package).
 */
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { promisify } from "node:util"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const root = path.resolve(import.meta.dirname, "..", "..", "..")
const readme = fs.readFileSync(path.resolve(import.meta.dirname, "..", "README.md"), "utf8")
const tsc = path.join(root, "node_modules", ".bin", "tsc")

/** What the README says `node main.ts` and `node once.ts` print. */
const printed = "78498 primes below 1,000,000 in 4 chunks, 78498 in one"
const printedOnce = "9592 primes below 100,000, and again 9592: one run"

interface Block {
  readonly name: string | undefined
  readonly code: string
  readonly line: number
}

const blocks: ReadonlyArray<Block> = (() => {
  const lines = readme.split("\n")
  const found: Array<Block> = []
  for (let i = 0; i < lines.length; i++) {
    if (!/^```ts\s*$/.test(lines[i] ?? "")) continue
    const start = i
    const code: Array<string> = []
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i] ?? ""); i++) code.push(lines[i] ?? "")
    found.push({
      name: /^\/\/ ([\w.-]+\.ts)(?::|$)/.exec(code[0] ?? "")?.[1],
      code: code.join("\n") + "\n",
      line: start + 1
    })
  }
  return found
})()

const relativeImports = (code: string): ReadonlyArray<string> =>
  Array.from(code.matchAll(/from "\.\/([\w.-]+\.ts)"/g), (match) => match[1] ?? "")

/** The packages a README file may import, and where the project's `node_modules` finds them. */
const links: ReadonlyArray<readonly [string, string]> = [
  ["@effect-threads/core", "packages/core"],
  ["@effect-threads/node", "packages/node"],
  ["@effect-threads/cluster", "packages/cluster"],
  ["effect", "node_modules/effect"],
  ["@types/node", "node_modules/@types/node"]
]

const run = async (command: string, args: ReadonlyArray<string>, cwd: string) => {
  try {
    const { stdout, stderr } = await promisify(execFile)(command, args, { cwd, timeout: 60_000, encoding: "utf8" })
    return { code: 0, stdout, stderr }
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string; message: string }
    return { code: failed.code ?? 1, stdout: failed.stdout ?? "", stderr: `${failed.stderr ?? ""}\n${failed.message}` }
  }
}

let temp = ""

beforeAll(() => {
  temp = fs.mkdtempSync(path.join(os.tmpdir(), "effect-threads-cluster-readme-"))
  for (const [name, target] of links) {
    const link = path.join(temp, "node_modules", name)
    fs.mkdirSync(path.dirname(link), { recursive: true })
    fs.symlinkSync(fs.realpathSync(path.join(root, target)), link, "dir")
  }
  fs.writeFileSync(path.join(temp, "package.json"), JSON.stringify({ private: true, type: "module" }) + "\n")
  fs.writeFileSync(
    path.join(temp, "tsconfig.json"),
    JSON.stringify({
      extends: path.join(root, "tsconfig.base.json"),
      compilerOptions: {
        composite: false,
        incremental: false,
        declaration: false,
        emitDeclarationOnly: false,
        noEmit: true,
        types: ["node"]
      },
      include: ["*.ts"]
    }) + "\n"
  )
  for (const block of blocks) if (block.name !== undefined) fs.writeFileSync(path.join(temp, block.name), block.code)
})

afterAll(() => {
  if (temp !== "") fs.rmSync(temp, { recursive: true, force: true })
})

describe("the package README", () => {
  it("every ts block names its file, once, and imports only files the README declares", () => {
    expect(blocks.filter((block) => block.name === undefined).map((block) => `README.md:${block.line}`)).toEqual([])
    const names = blocks.map((block) => block.name)
    expect(names.filter((name, i) => names.indexOf(name) !== i)).toEqual([])
    const missing = blocks.flatMap((block) => relativeImports(block.code)).filter((name) => !names.includes(name))
    expect(missing).toEqual([])
    expect([...names].sort()).toEqual([
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

  const runs = [
    { file: "main.ts", does: "runs the embedded cluster", prints: printed },
    { file: "once.ts", does: "runs a durable call twice", prints: printedOnce }
  ]
  for (const { does, file, prints } of runs) {
    it(`${file} ${does} and prints what the README says`, async () => {
      const { code, stdout, stderr } = await run(process.execPath, [file], temp)
      expect(code, stdout + stderr).toBe(0)
      expect(stdout).toBe(`${prints}\n`)
      expect(readme).toContain(`\`${prints}\``)
    }, 60_000)
  }
})
