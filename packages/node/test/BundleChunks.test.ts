/**
 * The bundle's chunks on real threads: a chunk that imports another finds it (each named by its content, the
 * entry's too), and the modules run in the order of the entry as it is, also where a module loaded later shares
 * modules with the entry's (code splitting would move them ahead: the bundle is then one file); a newer bundle
 * leaves the files of one a process still uses.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { NodeThreadPool } from "../src/index.ts"
import * as Cache from "../src/internal/bundleCache.ts"
import { runsInOrder } from "../src/internal/chunks.ts"
import * as Entries from "../src/internal/entries.ts"
import { info, project, runOn, tmpdirAt, withWarnings, writeBefore } from "./bundleKit.ts"
import { suiteOptions } from "./helpers.ts"

describe("Bundle chunks", () => {
  it.live(
    "a module imported lazily that imports the entry's own module (with side effects) finds it, bundled or not",
    () =>
      Effect.gen(function*() {
        const p = yield* project({
          "helper.ts": "export const value = [1].length\n;(globalThis as { h?: number }).h = 1\n",
          "lazy.ts": `import { value as h } from "./helper.ts"\nexport const value = 41 + h\n`
        })
        const bundled = yield* runOn({ entry: p.entry }, info)
        assert.include(bundled.stack, ".cache/effect-threads/", "the thread ran from the bundle")
        assert.strictEqual(bundled.lazy, 42)
        const plain = yield* runOn({ entry: p.entry, bundle: false }, info)
        assert.strictEqual(plain.lazy, 42)
      }),
    suiteOptions
  )

  it.live(
    "a user module that runs before a package shared with a lazy module still runs first",
    () =>
      Effect.gen(function*() {
        const p = yield* project({
          "setup.ts": "((globalThis as { order?: Array<string> }).order ??= []).push(\"setup\")\n",
          // 2 when setup ran before the package, 1 when the package ran first
          "helper.ts": `import "./setup.ts"\nimport { seen } from "dep"\n` +
            `export const value = ((globalThis as { order?: Array<string> }).order?.[0] === "setup" ? 1 : 0) + seen\n`,
          "lazy.ts": `import { seen } from "dep"\nexport const value = 40 + seen\n`
        })
        const dep = Path.join(p.dir, "node_modules", "dep")
        Fs.mkdirSync(dep)
        writeBefore(Path.join(dep, "package.json"), `{ "name": "dep", "type": "module", "main": "index.js" }\n`)
        writeBefore(
          Path.join(dep, "index.js"),
          `(globalThis.order ??= []).push("dep")\nexport const seen = 1\n`
        )
        const plain = yield* runOn({ entry: p.entry, bundle: false }, info)
        assert.deepStrictEqual([plain.helper, plain.lazy], [2, 41])
        const bundled = yield* runOn({ entry: p.entry }, info)
        assert.include(bundled.stack, ".cache/effect-threads/", "the thread ran from the bundle")
        assert.deepStrictEqual([bundled.helper, bundled.lazy], [2, 41])
      }),
    suiteOptions
  )

  it.live(
    "a thread of an older bundle still loads its lazy chunk after another process made a newer one",
    () =>
      Effect.gen(function*() {
        const p = yield* project()
        // a pool whose thread started from the first bundle, and stays
        const older = yield* Layer.build(NodeThreadPool.layer({ entry: p.entry, minThreads: 1, maxThreads: 1 }))
        // its files last used two hours ago; then the entry changes, and another process bundles it again
        const past = Date.now() / 1000 - 2 * 3600
        for (const file of Fs.readdirSync(p.cache)) Fs.utimesSync(Path.join(p.cache, file), past, past)
        writeBefore(Path.join(p.dir, "lazy.ts"), "export const value = 43\n", 30)
        Entries.forget()
        const newer = yield* runOn({ entry: p.entry }, info)
        assert.include(newer.stack, ".cache/effect-threads/", "the newer bundle")
        assert.strictEqual(newer.lazy, 43)
        // the older thread imports its lazy chunk only now: it is still there
        const result = yield* info.pipe(Effect.provideContext(older))
        assert.strictEqual(result.lazy, 42)
      }),
    suiteOptions
  )
})

describe("runsInOrder", () => {
  const chunk = (fileName: string, fields: Record<string, unknown> = {}) => ({ type: "chunk", fileName, ...fields })
  it("the entry's chunk may import the packages' chunk and rolldown's runtime, nothing else", () => {
    const packages = chunk("p.chunk.mjs", { name: "packages", moduleIds: ["/x/node_modules/effect/a.js"] })
    const runtime = chunk("r.chunk.mjs", { name: "rolldown-runtime", moduleIds: ["\0rolldown/runtime.js"] })
    const shared = chunk("s.chunk.mjs", { name: "helper", moduleIds: ["/app/helper.ts"] })
    const entry = (imports: Array<string>) => chunk("e.mjs", { isEntry: true, imports })
    assert.isTrue(runsInOrder([entry(["p.chunk.mjs", "r.chunk.mjs", "node:fs"]), packages, runtime]))
    assert.isFalse(runsInOrder([entry(["p.chunk.mjs", "s.chunk.mjs"]), packages, shared]))
    assert.isFalse(runsInOrder([packages]))
  })
})

describe("isCurrent", () => {
  it("an input that cannot be read (a loop of links, a file where a directory was) makes the cache stale, no throw", () => {
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "et-current-"))
    try {
      Fs.symlinkSync(Path.join(dir, "b"), Path.join(dir, "a"))
      Fs.symlinkSync(Path.join(dir, "a"), Path.join(dir, "b"))
      Fs.writeFileSync(Path.join(dir, "f"), "")
      const manifest = (path: string): Cache.Manifest => ({ format: 3, entry: path, inputs: [[path, 0, 0]] })
      assert.isFalse(Cache.isCurrent(dir, manifest(Path.join(dir, "a"))))
      assert.isFalse(Cache.isCurrent(dir, manifest(Path.join(dir, "f", "x.ts"))))
      assert.deepStrictEqual(Cache.statInputs([Path.join(dir, "a")]), [undefined])
    } finally {
      Fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe("a cacheDir where no directory can be made", () => {
  it.live(
    "under /proc: the tmp cache after one warning, at once (Node 20 to 24's recursive mkdir spun there)",
    () =>
      withWarnings((warnings) =>
        Effect.gen(function*() {
          const p = yield* project()
          const tmp = Path.join(p.dir, "tmp")
          Fs.mkdirSync(tmp)
          yield* tmpdirAt(tmp)
          const blocked = `/proc/effect-threads-test-${process.pid}/cache`
          const result = yield* runOn({ entry: p.entry, bundle: { cacheDir: blocked } }, info)
          assert.strictEqual(result.lazy, 42)
          // the cache went to the tmp one (the kit's entry computes an import, so from a cache outside its project
          // it is judged unsafe to bundle: that verdict is what is written there)
          const [fallback] = Fs.readdirSync(tmp)
          assert.isTrue(Fs.readdirSync(Path.join(tmp, fallback!)).some((file) => file.endsWith(".json")))
          assert.lengthOf(warnings, 1)
          assert.include(warnings[0], `${blocked} cannot be written`)
        })
      ),
    suiteOptions
  )
})

describe("where the bundle lives", () => {
  it.live(
    "the project's cache cannot be made: the bundle is judged for the tmp one it goes to (a package name computed at run time)",
    () =>
      Effect.gen(function*() {
        const p = yield* project({
          "lazy.ts": `export const value = (await import(["effect", "Function"].join("/"))).identity(42)\n`
        })
        Fs.writeFileSync(Path.join(p.dir, "node_modules", ".cache"), "") // a file: no cache in the project
        const tmp = Fs.mkdtempSync(Path.join(Os.tmpdir(), "et-tmp-")) // outside the project: no node_modules
        yield* Effect.addFinalizer(() => Effect.sync(() => Fs.rmSync(tmp, { recursive: true, force: true })))
        yield* tmpdirAt(tmp)
        // from the tmp cache, "effect/Function" would not resolve: the entry starts as it is, and the import works
        const result = yield* runOn({ entry: p.entry }, info)
        assert.strictEqual(result.lazy, 42)
      }),
    suiteOptions
  )
})
