/**
 * `pnpm docs`: the API reference of the published packages, generated from their JSDoc by Effect's own docgen
 * (`@effect/docgen`, Effect 4's), one package after the other, each configured by its `docgen.json`.
 *
 * docgen reads every public module (`src/*.ts`; `src/internal` is excluded), requires `@since` on every export,
 * writes one markdown page per module to `packages/<name>/docs/modules/` (with `index.md` and a `_config.yml` for
 * GitHub Pages' just-the-docs theme; the folders are build output, not committed), and type-checks every `ts` code
 * block of the JSDoc (the `**Example**` blocks) with TypeScript 5.9 (`typescript-5`: docgen parses with ts-morph's
 * TypeScript 5 and runs a `tsc` 5 on the examples; the workspace's TypeScript 7 has no compiler API). A failing
 * example, a missing `@since` or a parse error fails the command.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { publishedPackages, root } from "./pack.ts"

const bin = path.join(root, "node_modules", ".bin")
const started = performance.now()
let failed: Array<string> = []

for (const name of publishedPackages) {
  const dir = path.join(root, "packages", name)
  const began = performance.now()
  console.log(`==> docgen: @effect-threads/${name}`)
  const result = spawnSync(path.join(bin, "docgen"), [], {
    cwd: dir,
    stdio: "inherit",
    env: { ...process.env, PATH: `${bin}${path.delimiter}${process.env["PATH"] ?? ""}` }
  })
  const pages = path.join(dir, "docs", "modules")
  const count = fs.existsSync(pages) ? fs.readdirSync(pages).filter((file) => file.endsWith(".md")).length : 0
  if (result.status !== 0 || count === 0) failed = [...failed, name]
  console.log(
    `    ${result.status === 0 ? "ok" : `FAILED (exit ${result.status})`}: ${count} module pages in ` +
      `${path.relative(root, pages)} (${((performance.now() - began) / 1000).toFixed(1)} s)`
  )
}

console.log(`docs: ${((performance.now() - started) / 1000).toFixed(1)} s`)
if (failed.length > 0) {
  console.error(`docs FAILED for ${failed.join(", ")}`)
  process.exitCode = 1
}
