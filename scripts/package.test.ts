/**
 * The packed packages, as npm would publish them (`pack.ts` builds and packs them): what is in each tarball, its
 * declarations' imports, `publint` (strict) and `@arethetypeswrong/cli` on every public module, and the Changesets
 * configuration that releases them together.
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import { builtinModules } from "node:module"
import * as os from "node:os"
import * as path from "node:path"
import { publint } from "publint"
import { formatMessage } from "publint/utils"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { filesUnder, type Packed, packPackages, publishedPackages, readJson, root, run } from "./pack.ts"

let packed: Packed | undefined
let unpacked = ""

/** The folder a package's tarball was unpacked to (its `package/` folder). */
const dirOf = (name: string): string => path.join(unpacked, name, "package")
const filesOf = (name: string): ReadonlyArray<string> => filesUnder(dirOf(name))
const manifestOf = (name: string): Record<string, unknown> => readJson(path.join(dirOf(name), "package.json"))

beforeAll(async () => {
  packed = await packPackages(console.log)
  unpacked = fs.mkdtempSync(path.join(os.tmpdir(), "effect-threads-unpacked-"))
  for (const [name, tarball] of packed.tarballs) {
    fs.mkdirSync(path.join(unpacked, name))
    execFileSync("tar", ["-xzf", tarball, "-C", path.join(unpacked, name)])
  }
}, 300_000)

afterAll(() => {
  if (unpacked !== "") fs.rmSync(unpacked, { recursive: true, force: true })
})

/** The public modules of a package: `.` and each `dist/X.d.ts` outside `internal/`, as subpaths (`./X`). */
const entrypointsOf = (name: string): ReadonlyArray<string> => [
  ".",
  ...filesOf(name)
    .filter((file) => /^dist\/[^/]+\.d\.ts$/.test(file) && file !== "dist/index.d.ts")
    .map((file) => `./${path.basename(file, ".d.ts")}`)
]

/** A declaration file without its comments (the JSDoc's examples import the packages as a user does). */
const withoutComments = (code: string): string => code.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "")

/**
 * The module specifiers a declaration file imports or re-exports (`from "x"`, `import("x")`, `import "x"`), outside
 * its comments (the JSDoc's examples import the packages as a user does).
 */
const specifiersOf = (code: string): ReadonlyArray<string> =>
  Array.from(
    withoutComments(code).matchAll(
      /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)["']([^"']+)["']/gm
    ),
    (match) => match[1] ?? ""
  )

/** The package name of a bare specifier (`@effect/sql-pg/PgClient` gives `@effect/sql-pg`). */
const packageOf = (specifier: string): string =>
  specifier.split("/").slice(0, specifier.startsWith("@") ? 2 : 1).join("/")

describe.each(publishedPackages)("the packed @effect-threads/%s", (name) => {
  it("holds the build, its sources, its manifest and its docs, and no tests, fixtures or build state", () => {
    const files = filesOf(name)
    const unexpected = files.filter((file) =>
      !/^(dist\/|src\/|package\.json$|README\.md$|CHANGELOG\.md$|LICENSE$)/.test(file) ||
      /(^|\/)(tests?|__tests__|fixtures?|scratch[^/]*|demo)\//.test(file) ||
      /\.(test|spec|bench)\.[cm]?[jt]s$|\.tsbuildinfo$/.test(file)
    )
    expect(unexpected).toEqual([])
    expect(files).toContain("CHANGELOG.md")
    expect(files).toContain("README.md")
    expect(files).toContain("LICENSE")
    // Every source module has its build: code, declarations and both maps.
    const modules = files.filter((file) => file.startsWith("src/") && file.endsWith(".ts"))
    expect(modules.length).toBeGreaterThan(0)
    for (const module of modules) {
      const base = `dist/${module.slice("src/".length, -".ts".length)}`
      for (const ext of [".js", ".js.map", ".d.ts", ".d.ts.map"]) expect(files).toContain(base + ext)
    }
  })

  it("has source maps that work: every map's sources are in the tarball, every file points at its map", () => {
    const dir = dirOf(name)
    const maps = filesOf(name).filter((file) => file.endsWith(".map"))
    expect(maps.length).toBeGreaterThan(0)
    const missing: Array<string> = []
    for (const map of maps) {
      const json = readJson(path.join(dir, map)) as { sources?: Array<string>; sourceRoot?: string; file?: string }
      const from = path.dirname(path.join(dir, map))
      const sources = json.sources ?? []
      if (sources.length === 0) missing.push(`${map}: no sources`)
      for (const source of sources) {
        const file = path.resolve(from, json.sourceRoot ?? "", source)
        if (!file.startsWith(dir + path.sep) || !fs.existsSync(file)) missing.push(`${map}: ${source}`)
      }
      const generated = path.join(dir, map.slice(0, -".map".length))
      const comment = `//# sourceMappingURL=${path.basename(map)}`
      if (!fs.existsSync(generated) || !fs.readFileSync(generated, "utf8").trimEnd().endsWith(comment)) {
        missing.push(`${map.slice(0, -".map".length)}: no ${comment}`)
      }
    }
    expect(missing).toEqual([])
  })

  it("has declarations that import only what a user can resolve: no internal or blocked path, no undeclared package", () => {
    const manifest = manifestOf(name)
    const declared = new Set(
      ["dependencies", "peerDependencies"].flatMap((field) => Object.keys((manifest[field] ?? {}) as object))
    )
    const problems: Array<string> = []
    for (const file of filesOf(name).filter((file) => file.endsWith(".d.ts"))) {
      const code = fs.readFileSync(path.join(dirOf(name), file), "utf8")
      for (const specifier of specifiersOf(code)) {
        const where = `${file}: "${specifier}"`
        if (specifier.startsWith(".")) {
          const target = path.join(path.dirname(file), specifier).replace(/\.[jt]s$/, ".d.ts")
          if (!filesOf(name).includes(target)) problems.push(`${where} (no ${target})`)
        } else if (specifier.startsWith("node:") || builtinModules.includes(specifier)) {
          continue
        } else if (!declared.has(packageOf(specifier))) {
          problems.push(`${where} (not a dependency or peer)`)
        } else if (specifier.startsWith("@effect-threads/")) {
          const [, other = "", ...rest] = specifier.split("/")
          const subpath = rest.join("/")
          if (subpath.startsWith("internal/") || subpath.startsWith("internal")) problems.push(`${where} (internal)`)
          else if (!filesOf(other).includes(`dist/${subpath === "" ? "index" : subpath}.d.ts`)) {
            problems.push(`${where} (no such module in @effect-threads/${other})`)
          }
        }
      }
    }
    expect(problems).toEqual([])
  })

  it("declares the types of its public modules' functions (no type that tsc inferred and wrote as import(...))", () => {
    const publicDeclarations = filesOf(name).filter((file) => /^dist\/[^/]+\.d\.ts$/.test(file))
    const inferred = publicDeclarations.flatMap((file) =>
      withoutComments(fs.readFileSync(path.join(dirOf(name), file), "utf8"))
        .split(/\n(?=export |declare |import |type |interface )/)
        .filter((statement) => /^export declare const \w+: [<(]/.test(statement) && statement.includes("import(\""))
        .map((statement) => `${file}: ${statement.slice(0, statement.indexOf(":"))}`)
    )
    expect(inferred).toEqual([])
  })

  it("has a publishable manifest: no workspace: range, exports into dist, effect a peer", () => {
    const manifest = manifestOf(name)
    expect(JSON.stringify(manifest)).not.toContain("workspace:")
    const exports = manifest["exports"] as Record<string, { types: string; default: string } | null>
    expect(exports["./internal/*"]).toBeNull()
    expect(exports["."]).toEqual({ types: "./dist/index.d.ts", default: "./dist/index.js" })
    expect(Object.keys((manifest["peerDependencies"] ?? {}) as object)).toContain("effect")
    expect(Object.keys((manifest["dependencies"] ?? {}) as object)).not.toContain("effect")
  })

  it("is clean by publint (strict: warnings and suggestions too)", async () => {
    const tarball = fs.readFileSync(packed?.tarballs.get(name) ?? "")
    const result = await publint({
      pack: { tarball: tarball.buffer.slice(tarball.byteOffset, tarball.byteOffset + tarball.byteLength) },
      level: "suggestion",
      strict: true
    })
    expect(result.messages.map((message) => `${message.type}: ${formatMessage(message, result.pkg)}`)).toEqual([])
  })

  it("is clean by @arethetypeswrong/cli on every public module (ESM only: node16 from ESM, bundler)", async () => {
    const attw = path.join(root, "node_modules", ".bin", "attw")
    const tarball = packed?.tarballs.get(name) ?? ""
    const entrypoints = entrypointsOf(name)
    expect(entrypoints.length).toBeGreaterThan(1)
    // attw exits 1 on any problem, and then run() fails with its table.
    const table = await run(attw, [
      tarball,
      "--profile",
      "esm-only",
      "--format",
      "table-flipped",
      "--no-color",
      "--entrypoints",
      ...entrypoints
    ], { cwd: root, timeoutMs: 120_000 })
    for (const entrypoint of entrypoints) {
      expect(table).toContain(`"@effect-threads/${name}${entrypoint === "." ? "" : entrypoint.slice(1)}"`)
    }
  }, 120_000)
})

describe("Changesets", () => {
  it("releases the published packages as one fixed group, each with a CHANGELOG.md, and ignores the private ones", () => {
    const config = readJson(path.join(root, ".changeset", "config.json"))
    const names = publishedPackages.map((name) =>
      String(readJson(path.join(root, "packages", name, "package.json"))["name"])
    )
    expect(config["fixed"]).toEqual([names])
    expect(config["access"]).toBe("public")
    for (const name of publishedPackages) {
      const manifest = readJson(path.join(root, "packages", name, "package.json"))
      expect(manifest["private"]).toBeUndefined()
      const changelog = fs.readFileSync(path.join(root, "packages", name, "CHANGELOG.md"), "utf8")
      expect(changelog).toMatch(new RegExp(`^# ${String(manifest["name"])}\\n`))
      expect(changelog).toContain(`## ${String(manifest["version"])}`)
    }
  })
})
