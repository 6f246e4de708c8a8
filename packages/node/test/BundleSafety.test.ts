/**
 * What a bundled entry must keep from the plain one (issue 21's review), on real threads in throwaway projects: a
 * bundle that fails to start a thread falls back to the entry as it is; CommonJS outside `node_modules` stays
 * CommonJS; bare specifiers computed at run time resolve from the user's module; `import.meta.main` is the entry's;
 * a change to a `package.json` the resolver read makes a new bundle; the package's barrel is bundled without the
 * bundler.
 */
import * as Task from "@effect-threads/core/Task"
import { ThreadStartFailed } from "@effect-threads/core/ThreadError"
import * as ThreadPool from "@effect-threads/core/ThreadPool"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Entries from "../src/internal/entries.ts"
import { bundlesIn, entrySource, info, project, runOn, withWarnings } from "./bundleKit.ts"
import { suiteOptions } from "./helpers.ts"

describe("Bundled worker entry, safety", () => {
  it.live(
    "a bundle that fails to start a thread: the thread starts from the entry as it is, after one warning, and the " +
      "cache remembers",
    () =>
      withWarnings((warnings) =>
        Effect.gen(function*() {
          const p = yield* project()
          assert.include((yield* runOn({ entry: p.entry }, info)).stack, ".cache/effect-threads/")
          const [start] = bundlesIn(p.cache)
          Fs.writeFileSync(Path.join(p.cache, start!.replace(/\.start\.mjs$/, ".mjs")), "throw new Error('broken')\n")
          Entries.forget()
          const builds = Entries.counters.builds
          const first = yield* runOn({ entry: p.entry }, Effect.all([info, info], { concurrency: 2 }))
          for (const result of first) assert.notInclude(result.stack, ".cache/effect-threads/")
          assert.strictEqual(first[0].helper, 1)
          assert.lengthOf(warnings, 1)
          assert.include(warnings[0], "could not start where the entry as it is did")
          assert.include(warnings[0], "broken")
          Entries.forget() // another process: the cache says the entry starts as it is
          const again = yield* runOn({ entry: p.entry }, info)
          assert.notInclude(again.stack, ".cache/effect-threads/")
          assert.strictEqual(Entries.counters.builds, builds, "no new build")
          assert.lengthOf(warnings, 1)
        })
      ),
    suiteOptions
  )
  it.live(
    "an entry that fails to start both ways (its database down) blames nothing: the bundle stays in use",
    () =>
      withWarnings((warnings) =>
        Effect.gen(function*() {
          const p = yield* project({
            "entry.ts": `import { existsSync } from "node:fs"
if (existsSync(new URL("./down", import.meta.url))) throw new Error("the database is down")
${entrySource}`
          })
          Fs.writeFileSync(Path.join(p.dir, "down"), "")
          const failed = yield* Effect.flip(runOn({ entry: p.entry }, info))
          assert.instanceOf(failed, ThreadStartFailed)
          assert.include(String(failed.cause), "the database is down")
          assert.lengthOf(warnings, 0)
          Fs.rmSync(Path.join(p.dir, "down"))
          Entries.forget()
          const builds = Entries.counters.builds
          const up = yield* runOn({ entry: p.entry }, info)
          assert.include(up.stack, ".cache/effect-threads/", "the thread ran from the bundle")
          assert.strictEqual(Entries.counters.builds, builds, "the bundle made before is used")
        })
      ),
    suiteOptions
  )
})

describe("Bundled worker entry, CommonJS outside node_modules", () => {
  it.live(
    "a user's own package and a workspace package without \"type\": \"module\" stay CommonJS",
    () =>
      Effect.gen(function*() {
        const p = yield* project({
          "helper.ts": `import own from "./lib/helper.js"
import ws from "ws-dep"
export const value = (own.dir.endsWith("lib") ? 1 : 0) + (ws.dir.endsWith("ws-dep-src") ? 10 : 0)
`
        })
        Fs.mkdirSync(Path.join(p.dir, "lib"))
        Fs.writeFileSync(Path.join(p.dir, "lib", "package.json"), `{ "name": "lib" }\n`)
        Fs.writeFileSync(Path.join(p.dir, "lib", "helper.js"), "exports.dir = __dirname\n")
        // a workspace package: linked into node_modules, its real path outside
        const src = Path.join(p.dir, "ws-dep-src")
        Fs.mkdirSync(src)
        Fs.writeFileSync(Path.join(src, "package.json"), `{ "name": "ws-dep", "main": "index.js" }\n`)
        Fs.writeFileSync(Path.join(src, "index.js"), "exports.dir = __dirname\n")
        Fs.symlinkSync(src, Path.join(p.dir, "node_modules", "ws-dep"))
        const result = yield* runOn({ entry: p.entry }, info)
        assert.include(result.stack, ".cache/effect-threads/", "the thread ran from the bundle")
        assert.strictEqual(result.helper, 11)
      }),
    suiteOptions
  )
})

const Bare = Task.make("Bare", { success: Schema.Struct({ pipe: Schema.String, resolved: Schema.String }) })

const bareEntry = `import * as Task from "@effect-threads/core/Task"
import * as NodeThreadRunner from "@effect-threads/node/NodeThreadRunner"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"

const Bare = Task.make("Bare", { success: Schema.Struct({ pipe: Schema.String, resolved: Schema.String }) })
const name = ["effect", "Function"].join("/")

NodeThreadRunner.serve([
  Task.implement(Bare, () =>
    Effect.promise(async () => ({
      pipe: typeof (await import(name)).pipe,
      resolved: import.meta.resolve("effect/Function")
    })))
])
`

describe("Bundled worker entry, package names resolved at run time", () => {
  it.live(
    "import(name) and import.meta.resolve(\"pkg\") resolve from the entry with the cache in tmp",
    () =>
      Effect.gen(function*() {
        const p = yield* project({ "entry.ts": bareEntry })
        const cacheDir = yield* Effect.acquireRelease(
          Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "et-bundle-cache-"))),
          (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
        )
        const result = yield* runOn({ entry: p.entry, bundle: { cacheDir } }, ThreadPool.deferToThread(Bare, undefined))
        assert.strictEqual(result.pipe, "function")
        assert.include(result.resolved, "/effect/")
      }),
    suiteOptions
  )

  it.live(
    "an entry that imports @effect-threads/node's barrel is bundled, without the bundler in it",
    () =>
      Effect.gen(function*() {
        // the barrel brings NodeThreadPool, which imports rolldown (its code holds import.meta.resolve("#...")): a
        // package's own run-time resolution does not keep the entry from being bundled, and the bundler stays out
        const p = yield* project({
          "entry.ts": entrySource.replace(
            `import * as NodeThreadRunner from "@effect-threads/node/NodeThreadRunner"`,
            `import { NodeThreadRunner } from "@effect-threads/node"`
          )
        })
        const result = yield* runOn({ entry: p.entry }, info)
        assert.include(result.stack, ".cache/effect-threads/", "the thread ran from the bundle")
        assert.strictEqual(result.dynamic, 42)
        const manifests = Fs.readdirSync(p.cache).filter((file) => file.endsWith(".json"))
        assert.isAbove(manifests.length, 0)
        const inputs = manifests.flatMap((file) =>
          (JSON.parse(Fs.readFileSync(Path.join(p.cache, file), "utf8")) as { inputs: Array<[string]> }).inputs
            .map(([input]) => input)
        )
        assert.isTrue(inputs.some((input) => input.includes("NodeThreadPool")), "the barrel was bundled")
        // its package.json may be read (resolving the bundler's import), its modules never
        const bundled = inputs.filter((input) => /[/\\]@?rolldown[/\\]/.test(input) && !input.endsWith("package.json"))
        assert.deepStrictEqual(bundled, [])
      }),
    suiteOptions
  )
})

describe("Bundled worker entry, a package with imports and exports", () => {
  it.live(
    "a computed specifier that cannot name the package's own #imports or name is bundled; one that can starts plain",
    () =>
      Effect.gen(function*() {
        const p = yield* project({
          "package.json":
            `{ "type": "module", "name": "my-app", "exports": "./entry.ts", "imports": { "#impl": "./impl.ts" } }\n`,
          "entry.ts": entrySource.replace(`import(["./lazy", "ts"].join("."))`, "import(`./lazy.${\"ts\"}`)"),
          "helper.ts":
            "const name = \"Function\"\nexport const value = typeof (await import(`effect/${name}`)).pipe === \"function\" ? 1 : 0\n",
          "impl.ts": "export const value = 5\n"
        })
        const bundled = yield* runOn({ entry: p.entry }, info)
        assert.include(bundled.stack, ".cache/effect-threads/", "the thread ran from the bundle")
        assert.strictEqual(bundled.helper, 1)
        assert.strictEqual(bundled.dynamic, 42)
        Fs.writeFileSync(
          Path.join(p.dir, "helper.ts"),
          "const rest = \"\"\nexport const { value } = await import(`#impl${rest}`)\n"
        )
        const plain = yield* runOn({ entry: p.entry }, info)
        assert.notInclude(plain.stack, ".cache/effect-threads/")
        assert.strictEqual(plain.helper, 5)
      }),
    suiteOptions
  )
})

describe("Bundled worker entry, import.meta.main", () => {
  it.live(
    "is true in the entry, as in a plain worker's entry, and false in the modules it imports",
    () =>
      Effect.gen(function*() {
        const p = yield* project({
          "entry.ts": entrySource.replace("NodeThreadRunner.serve(", "if (import.meta.main) NodeThreadRunner.serve("),
          "helper.ts": "export const value = import.meta.main === false ? 3 : 0\n"
        })
        const result = yield* runOn({ entry: p.entry }, info)
        assert.include(result.stack, ".cache/effect-threads/", "the thread ran from the bundle")
        assert.strictEqual(result.helper, 3)
        const plain = yield* runOn({ entry: p.entry, bundle: false }, info)
        assert.strictEqual(plain.helper, 3)
      }),
    suiteOptions
  )
})

describe("Bundled worker entry, package.json as an input", () => {
  it.live("a package's imports map pointed at another file makes a new bundle", () =>
    Effect.gen(function*() {
      const json = (target: string) => `{ "type": "module", "imports": { "#impl": "./${target}" } }\n`
      const p = yield* project({
        "package.json": json("impl-a.ts"),
        // no import(expression): with an imports map, that alone starts the entry plain (it might name #impl)
        "entry.ts": entrySource.replace(`import(["./lazy", "ts"].join("."))`, `import("./lazy.ts")`),
        "helper.ts": `export { value } from "#impl"\n`,
        "impl-a.ts": "export const value = 1\n",
        "impl-b.ts": "export const value = 2\n"
      })
      const builds = Entries.counters.builds
      const before = yield* runOn({ entry: p.entry }, info)
      assert.include(before.stack, ".cache/effect-threads/", "the thread ran from the bundle")
      assert.strictEqual(before.helper, 1)
      Fs.writeFileSync(Path.join(p.dir, "package.json"), json("impl-b.ts"))
      const after = yield* runOn({ entry: p.entry }, info)
      assert.include(after.stack, ".cache/effect-threads/")
      assert.strictEqual(after.helper, 2)
      assert.strictEqual(Entries.counters.builds, builds + 2)
    }), suiteOptions)
})
