/**
 * The product does not depend on the port (issue 20): what `ThreadPool` loads at run time, followed import by import
 * from its source, never reaches the Twisted port's modules (`TeamPool`, `Team`, `LockWorker`, `ThreadWorker`). Type
 * imports (`import type`, `export type`) are erased and not followed; any other import loads its module.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Url from "node:url"

const src = Path.join(Path.dirname(Url.fileURLToPath(import.meta.url)), "..", "src")

const port = ["TeamPool.ts", "Team.ts", "LockWorker.ts", "ThreadWorker.ts"]

/** A statement that imports or re-exports from a module: only names, braces, commas and `*` before `from`. */
const fromClause = /^(import|export)\s+(type\s)?[\w\s{},*$]*?\bfrom\s*"([^"]+)"/gm
/** An import for its effect alone. */
const bare = /^import\s*"([^"]+)"/gm

/** The relative modules `file` loads at run time. */
const runtimeImports = (file: string): Array<string> => {
  // Comments on lines of their own (JSDoc on a re-exported name included) are dropped first.
  const text = Fs.readFileSync(file, "utf8").replace(/^\s*\/\*[\s\S]*?\*\//gm, "").replace(/^\s*\/\/.*$/gm, "")
  const specifiers: Array<string> = []
  for (const match of text.matchAll(fromClause)) if (match[2] === undefined) specifiers.push(match[3]!)
  for (const match of text.matchAll(bare)) specifiers.push(match[1]!)
  return specifiers.filter((s) => s.startsWith(".")).map((s) => Path.resolve(Path.dirname(file), s))
}

/** Every module reachable from `entry` at run time, as paths relative to `src`, with the chain that reached each. */
const reachable = (entry: string): Map<string, ReadonlyArray<string>> => {
  const start = Path.join(src, entry)
  const seen = new Map<string, ReadonlyArray<string>>([[start, [entry]]])
  const stack = [start]
  while (stack.length > 0) {
    const file = stack.pop()!
    for (const next of runtimeImports(file)) {
      if (seen.has(next)) continue
      seen.set(next, [...seen.get(file)!, Path.relative(src, next)])
      stack.push(next)
    }
  }
  return new Map([...seen].map(([file, chain]) => [Path.relative(src, file), chain]))
}

const portReached = (entry: string): Array<string> => {
  const graph = reachable(entry)
  return port.filter((file) => graph.has(file)).map((file) => graph.get(file)!.join(" -> "))
}

describe("import graph", () => {
  it("the walk follows value imports and re-exports, and skips type imports", () => {
    const direct = runtimeImports(Path.join(src, "TeamPool.ts")).map((file) => Path.relative(src, file)).sort()
    // Worker.ts is imported for its types only; InvalidLimit is re-exported from ThreadError.
    assert.deepStrictEqual(direct, [
      "LockWorker.ts",
      "Team.ts",
      "ThreadError.ts",
      "ThreadWorker.ts",
      "internal/limit.ts",
      "internal/pacer.ts"
    ])
    assert.includeMembers(portReached("TeamPool.ts").map((chain) => chain.split(" -> ").at(-1)), port)
  })

  it("the pool's internal entry (internal/pool/make.ts) reaches none of the port's modules", () => {
    const graph = reachable("internal/pool/make.ts")
    // The walk is not vacuous: it reaches the pool's machinery.
    for (
      const file of ["internal/pool/placing.ts", "internal/pool/section.ts", "internal/pacer.ts", "ThreadError.ts"]
    ) {
      assert.isTrue(graph.has(file), file)
    }
    assert.deepStrictEqual(portReached("internal/pool/make.ts"), [])
  })

  it("the public ThreadPool module reaches none of the port's modules", () => {
    assert.isTrue(reachable("ThreadPool.ts").has("internal/pool/make.ts"))
    assert.deepStrictEqual(portReached("ThreadPool.ts"), [])
  })
})
