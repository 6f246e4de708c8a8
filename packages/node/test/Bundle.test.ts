/**
 * The bundled worker entry (issue 21), on real threads: each test writes a small project into a temporary directory
 * (its `node_modules` links the workspace's packages and effect), so the cache lands in that project's
 * `node_modules/.cache/effect-threads` and inputs can be changed. Whether a thread ran from the bundle is read from
 * a stack taken in the thread: from a bundle, effect's frames name the cache's file; from the entry, effect's own.
 */
import { ThreadCrashed } from "@effect-threads/core/ThreadError"
import * as ThreadPool from "@effect-threads/core/ThreadPool"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { packagesFirst } from "../src/internal/chunks.ts"
import * as Entries from "../src/internal/entries.ts"
import {
  Boom,
  bundlesIn,
  Crash,
  Deep,
  entrySource,
  info,
  lineOf,
  project,
  runOn,
  tmpdirAt,
  withWarnings
} from "./bundleKit.ts"
import { expectDefect, expectFailure, suiteOptions } from "./helpers.ts"

describe("Bundled worker entry", () => {
  it.live(
    "the first pool bundles the entry; a later one (another process, as far as it knows) reuses the bundle",
    () =>
      Effect.gen(function*() {
        const p = yield* project()
        const before = Entries.counters.builds
        const first = yield* runOn({ entry: p.entry }, info)
        assert.strictEqual(Entries.counters.builds, before + 1)
        assert.include(first.stack, ".cache/effect-threads/", "the thread ran from the bundle")
        assert.lengthOf(bundlesIn(p.cache), 1)
        Entries.forget()
        const second = yield* runOn({ entry: p.entry }, info)
        assert.strictEqual(Entries.counters.builds, before + 1, "no second build")
        assert.include(second.stack, ".cache/effect-threads/")
        assert.lengthOf(bundlesIn(p.cache), 1)
      }),
    suiteOptions
  )

  it.live(
    "import.meta.url, new URL(..., import.meta.url) and dynamic imports behave as in the entry",
    () =>
      Effect.gen(function*() {
        const p = yield* project()
        const result = yield* runOn({ entry: p.entry }, info)
        assert.include(result.stack, ".cache/effect-threads/")
        assert.strictEqual(result.url, p.entry.href)
        assert.strictEqual(result.data, "hello")
        assert.strictEqual(result.lazy, 42)
        assert.strictEqual(result.dynamic, 42)
        assert.strictEqual(result.helper, 1)
      }),
    suiteOptions
  )

  it.live("a changed input makes a new bundle, which the next thread starts from", () =>
    Effect.gen(function*() {
      const p = yield* project()
      const before = Entries.counters.builds
      assert.strictEqual((yield* runOn({ entry: p.entry }, info)).helper, 1)
      Fs.writeFileSync(Path.join(p.dir, "helper.ts"), "export const value = 2 // changed\n")
      const after = yield* runOn({ entry: p.entry }, info)
      assert.strictEqual(after.helper, 2)
      assert.include(after.stack, ".cache/effect-threads/")
      assert.strictEqual(Entries.counters.builds, before + 2)
    }), suiteOptions)

  it.live(
    "a CommonJS package is imported as it is (its __dirname is its own); import.meta as a whole: no bundle",
    () =>
      Effect.gen(function*() {
        const p = yield* project({
          "helper.ts": `import dep from "cjs-dep"\nexport const value = dep.dir.endsWith("cjs-dep") ? 7 : 0\n`
        })
        const dep = Path.join(p.dir, "node_modules", "cjs-dep")
        Fs.mkdirSync(dep)
        Fs.writeFileSync(Path.join(dep, "package.json"), `{ "name": "cjs-dep", "main": "index.js" }\n`)
        Fs.writeFileSync(Path.join(dep, "index.js"), "exports.dir = __dirname\n")
        const result = yield* runOn({ entry: p.entry }, info)
        assert.include(result.stack, ".cache/effect-threads/")
        assert.strictEqual(result.helper, 7)
        Fs.writeFileSync(
          Path.join(p.dir, "lazy.ts"),
          "export const value = Object.keys(import.meta).length > 0 ? 5 : 0\n"
        )
        const plain = yield* runOn({ entry: p.entry }, info)
        assert.notInclude(plain.stack, ".cache/effect-threads/")
        assert.strictEqual(plain.lazy, 5)
      }),
    suiteOptions
  )

  it.live("a defect's stack and a crash's error name the entry's .ts file and line", () =>
    Effect.gen(function*() {
      const p = yield* project()
      const boom = expectDefect(
        yield* Effect.exit(runOn({ entry: p.entry }, ThreadPool.deferToThread(Boom, undefined)))
      )
      assert.include(String((boom as Error).stack), `entry.ts:${lineOf("// BOOM")}:`)
      // inside a statement of many lines: its own line, not the statement's first line
      const deep = expectDefect(
        yield* Effect.exit(runOn({ entry: p.entry }, ThreadPool.deferToThread(Deep, undefined)))
      )
      assert.include(String((deep as Error).stack), `entry.ts:${lineOf("// DEEP")}:`)
      const crash = expectFailure(
        yield* Effect.exit(runOn({ entry: p.entry }, ThreadPool.deferToThread(Crash, undefined)))
      )
      assert.instanceOf(crash, ThreadCrashed)
      assert.include(
        String(((crash as ThreadCrashed).cause as Error | undefined)?.stack),
        `entry.ts:${lineOf("// CRASH")}:`
      )
    }), suiteOptions)

  it.live("bundle: false starts the entry as it is, and writes no cache", () =>
    Effect.gen(function*() {
      const p = yield* project()
      const result = yield* runOn({ entry: p.entry, bundle: false }, info)
      assert.notInclude(result.stack, ".cache/effect-threads/")
      assert.include(result.stack, "/effect/dist/")
      assert.strictEqual(result.dynamic, 42)
      assert.isFalse(Fs.existsSync(p.cache))
    }), suiteOptions)

  it.live(
    "a bundler failure starts the entry as it is, after one warning",
    () =>
      withWarnings((warnings) =>
        Effect.gen(function*() {
          // never imported when the entry runs, but the bundler reads it, and cannot parse it
          const p = yield* project({
            "entry.ts": `${entrySource}\nexport const never = () => import("./broken.ts")\n`,
            "broken.ts": "export const = ;\n"
          })
          const first = yield* runOn({ entry: p.entry }, info)
          const second = yield* runOn({ entry: p.entry }, info)
          assert.notInclude(first.stack, ".cache/effect-threads/")
          assert.strictEqual(second.helper, 1)
          assert.lengthOf(warnings, 1)
          assert.include(warnings[0], "could not bundle")
        })
      ),
    suiteOptions
  )

  it.live(
    "a cacheDir that cannot be written: the bundle goes to the tmp one, after a warning; neither: the entry as it is",
    () =>
      withWarnings((warnings) =>
        Effect.gen(function*() {
          const p = yield* project()
          const blocked = Path.join(p.dir, "data.txt", "cache") // under a file: mkdir fails, even for root
          const tmp = Path.join(p.dir, "tmp")
          Fs.mkdirSync(tmp)
          yield* tmpdirAt(tmp)
          const toTmp = yield* runOn({ entry: p.entry, bundle: { cacheDir: blocked } }, info)
          assert.include(toTmp.stack, "/tmp/effect-threads-")
          assert.lengthOf(bundlesIn(Path.join(tmp, Fs.readdirSync(tmp)[0]!)), 1)
          // the directory asked for is not used: one warning says so, and where the bundle went
          assert.lengthOf(warnings, 1)
          assert.include(warnings[0], `${blocked} cannot be written`)
          assert.include(warnings[0], "cached in ")
          process.env.TMPDIR = Path.join(p.dir, "helper.ts") // a file: no tmp cache either
          Fs.writeFileSync(Path.join(p.dir, "lazy.ts"), "export const value = 43\n") // an input changed: rebuild
          const plain = yield* runOn({ entry: p.entry, bundle: { cacheDir: blocked } }, info)
          assert.notInclude(plain.stack, "effect-threads-")
          assert.strictEqual(plain.lazy, 43)
          assert.lengthOf(warnings, 2)
          assert.include(warnings[1], "could not write")
        })
      ),
    suiteOptions
  )

  it.live(
    "effect's code is in a chunk that names no source map, the user's in one that does; stacks still name entry.ts",
    () =>
      Effect.gen(function*() {
        const p = yield* project()
        const boom = expectDefect(
          yield* Effect.exit(runOn({ entry: p.entry }, ThreadPool.deferToThread(Boom, undefined)))
        )
        assert.include(String((boom as Error).stack), `entry.ts:${lineOf("// BOOM")}:`)
        const [start] = bundlesIn(p.cache)
        const read = (file: string): string => Fs.readFileSync(Path.join(p.cache, file), "utf8")
        const entryChunk = read(start!.replace(/\.start\.mjs$/, ".mjs"))
        assert.include(entryChunk, `new Error("boom")`)
        assert.notInclude(entryChunk, `"~effect/Cause"`, "effect's core is not in the entry's chunk")
        assert.match(entryChunk, /\/\/# sourceMappingURL=\S+\.mjs\.map\n$/)
        const chunks = Fs.readdirSync(p.cache).filter((file) => file.endsWith(".chunk.mjs")).map(read)
        const effects = chunks.filter((chunk) => chunk.includes(`"~effect/Cause"`))
        assert.lengthOf(effects, 1)
        assert.notInclude(effects[0], "sourceMappingURL")
      }),
    suiteOptions
  )

  it.live(
    "a user module that runs before a package's module still runs first (the order of a plain entry)",
    () =>
      Effect.gen(function*() {
        const p = yield* project({
          "setup.ts": `(globalThis as { order?: Array<string> }).order = ["setup"]\n`,
          "helper.ts": `import "./setup.ts"\nimport { seen } from "order-dep"\n` +
            `export const value = seen === "setup,order-dep" ? 3 : 0\n`
        })
        const dep = Path.join(p.dir, "node_modules", "order-dep")
        Fs.mkdirSync(dep)
        Fs.writeFileSync(
          Path.join(dep, "package.json"),
          `{ "name": "order-dep", "type": "module", "main": "index.js" }\n`
        )
        Fs.writeFileSync(
          Path.join(dep, "index.js"),
          `const order = (globalThis.order ??= [])\norder.push("order-dep")\nexport const seen = order.join(",")\n`
        )
        const result = yield* runOn({ entry: p.entry }, info)
        assert.include(result.stack, ".cache/effect-threads/")
        assert.strictEqual(result.helper, 3)
      }),
    suiteOptions
  )

  it.live(
    "a chunk of the bundle gone (the start file still there): the next process bundles again, without a warning",
    () =>
      withWarnings((warnings) =>
        Effect.gen(function*() {
          const p = yield* project()
          const before = Entries.counters.builds
          assert.include((yield* runOn({ entry: p.entry }, info)).stack, ".cache/effect-threads/")
          const [manifest] = Fs.readdirSync(p.cache).filter((file) => file.endsWith(".json"))
          const { chunks } = JSON.parse(Fs.readFileSync(Path.join(p.cache, manifest!), "utf8")) as {
            chunks: ReadonlyArray<string>
          }
          assert.isAbove(chunks.length, 0)
          for (const chunk of chunks) Fs.rmSync(Path.join(p.cache, chunk))
          Entries.forget()
          const again = yield* runOn({ entry: p.entry }, info)
          assert.include(again.stack, ".cache/effect-threads/")
          assert.strictEqual(Entries.counters.builds, before + 2)
          assert.lengthOf(warnings, 0)
        })
      ),
    suiteOptions
  )

  it.live("pools starting at once on a new entry make one bundle between them", () =>
    Effect.gen(function*() {
      const p = yield* project()
      const before = Entries.counters.builds
      const results = yield* Effect.all([runOn({ entry: p.entry }, info), runOn({ entry: p.entry }, info)], {
        concurrency: 2
      })
      assert.strictEqual(Entries.counters.builds, before + 1)
      for (const result of results) assert.include(result.stack, ".cache/effect-threads/")
    }), suiteOptions)
})

describe("packagesFirst", () => {
  // as rolldown gives it: every module, built-ins and external files too, with no `isExternal`
  const graph = (imports: Record<string, Array<string>>) => (id: string) =>
    id in imports ? { importedIds: imports[id] ?? [] } : null

  it("is the run of packages' modules that evaluate before the first of the user's, in import order", () => {
    const first = packagesFirst(
      "/app/entry.ts",
      graph({
        "/app/entry.ts": ["/app/node_modules/a/index.js", "/app/setup.ts", "/app/node_modules/b/index.js"],
        "/app/node_modules/a/index.js": ["node:fs", "/app/node_modules/a/dep.js"],
        "/app/node_modules/a/dep.js": [],
        "node:fs": [],
        "/app/setup.ts": [],
        "/app/node_modules/b/index.js": ["/app/node_modules/a/dep.js"]
      })
    )
    assert.deepStrictEqual([...first], ["/app/node_modules/a/dep.js", "/app/node_modules/a/index.js"])
  })

  it("is empty when a user's module evaluates first, a CommonJS file of the user's too; a built-in first ends nothing", () => {
    const first = packagesFirst(
      "/app/entry.ts",
      graph({
        "/app/entry.ts": ["/app/setup.ts", "/app/node_modules/a/index.js"],
        "/app/setup.ts": [],
        "/app/node_modules/a/index.js": []
      })
    )
    assert.strictEqual(first.size, 0)
    const cjs = graph({ "/app/entry.ts": ["/app/setup.cjs", "/app/node_modules/a/index.js"], "/app/setup.cjs": [] })
    assert.strictEqual(packagesFirst("/app/entry.ts", cjs).size, 0)
    const builtin = graph({ "/app/entry.ts": ["node:fs", "/app/node_modules/a/index.js"], "node:fs": [] })
    assert.deepStrictEqual([...packagesFirst("/app/entry.ts", (id) => builtin(id) ?? { importedIds: [] })], [
      "/app/node_modules/a/index.js"
    ])
  })
})
