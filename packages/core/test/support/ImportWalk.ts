/**
 * The modules a source file loads at run time, followed import by import from its source: what `ImportGraph.test.ts`
 * and `RunnerImports.test.ts` check. Type imports (`import type`, `export type`) are erased and not followed; any other
 * static import of a relative module loads it (an import whose names are all `type`-qualified still loads its module
 * under `verbatimModuleSyntax` and Node's type stripping). Dynamic imports (`import("...")`) are loaded later, on
 * demand, and not followed; nor are packages (`effect/...`).
 */
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Url from "node:url"

/** The core package's `src`. */
export const src = Path.join(Path.dirname(Url.fileURLToPath(import.meta.url)), "..", "..", "src")

/** A statement that imports or re-exports from a module: only names, braces, commas and `*` before `from`. */
const fromClause = /^(import|export)\s+(type\s)?[\w\s{},*$]*?\bfrom\s*"([^"]+)"/gm
/** An import for its effect alone. */
const bare = /^import\s*"([^"]+)"/gm

/** The relative modules `file` loads at run time, as absolute paths. */
export const runtimeImports = (file: string): Array<string> => {
  // Comments on lines of their own (JSDoc on a re-exported name included) are dropped first.
  const text = Fs.readFileSync(file, "utf8").replace(/^\s*\/\*[\s\S]*?\*\//gm, "").replace(/^\s*\/\/.*$/gm, "")
  const specifiers: Array<string> = []
  for (const match of text.matchAll(fromClause)) if (match[2] === undefined) specifiers.push(match[3]!)
  for (const match of text.matchAll(bare)) specifiers.push(match[1]!)
  return specifiers.filter((s) => s.startsWith(".")).map((s) => Path.resolve(Path.dirname(file), s))
}

/**
 * Every module reachable from `entry` (a path relative to `src`) at run time, as paths relative to `src`, each with
 * the chain of imports that first reached it.
 */
export const reachable = (entry: string): Map<string, ReadonlyArray<string>> => {
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
