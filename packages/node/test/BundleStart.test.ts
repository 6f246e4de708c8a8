/**
 * How a thread of a bundled entry starts when its bundle does not (issue 21's start-up safety), on real threads in
 * throwaway projects: a bundle that hangs as it loads, an entry that hangs both ways, a verdict on a bundle that
 * expires, a bundle whose files went away, a bundle stuck in the making.
 */
import { ThreadStartFailed } from "@effect-threads/core/ThreadError"
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Url from "node:url"
import * as Entries from "../src/internal/entries.ts"
import { bundlesIn, entrySource, info, project, runOn, withWarnings } from "./bundleKit.ts"
import { suiteOptions } from "./helpers.ts"

/** Module code that never finishes loading (and keeps its thread alive: a settled-never await alone would exit). */
const hang = "setInterval(() => {}, 60_000)\nawait new Promise(() => {})\n"

const inCache = ".cache/effect-threads/"

/** The bundle's module file (what the start file imports) in a cache with one bundle. */
const bundleFile = (cache: string): string => {
  const [start] = bundlesIn(cache)
  return Path.join(cache, start!.replace(/\.start\.mjs$/, ".mjs"))
}

const verdictFile = (cache: string): string | undefined => {
  const file = Fs.readdirSync(cache).find((name) => name.endsWith(".verdict.json"))
  return file === undefined ? undefined : Path.join(cache, file)
}

const readVerdict = (cache: string): { count: number; at: number } =>
  JSON.parse(Fs.readFileSync(verdictFile(cache)!, "utf8")) as { count: number; at: number }

/** Moves the verdict's last failure `ms` into the past (as if that much time had gone by). */
const age = (cache: string, ms: number): void => {
  const file = verdictFile(cache)!
  const verdict = JSON.parse(Fs.readFileSync(file, "utf8")) as { at: number }
  Fs.writeFileSync(file, JSON.stringify({ ...verdict, at: verdict.at - ms }))
}

/** A program run in its own process: a pool of the copied package on the project's entry, one Info task. */
const copiedProgram = `import * as Task from "@effect-threads/core/Task"
import * as ThreadPool from "@effect-threads/core/ThreadPool"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as Schema from "effect/Schema"
import { NodeThreadPool } from "./app/src/index.ts"

const Info = Task.make("Info", {
  success: Schema.Struct({
    url: Schema.String, data: Schema.String, lazy: Schema.Number, dynamic: Schema.Number, helper: Schema.Number,
    stack: Schema.String
  })
})
const warnings: Array<string> = []
const logger = Logger.make((options) => {
  if (options.logLevel === "Warn") warnings.push(String(options.message))
})
const pool = NodeThreadPool.layer({ entry: new URL("./entry.ts", import.meta.url), minThreads: 1, maxThreads: 1 })
const once = Effect.scoped(Effect.provide(ThreadPool.deferToThread(Info, undefined), pool))
const [first, second] = await Effect.runPromise(
  Effect.all([once, once]).pipe(Effect.provide(Logger.layer([logger])))
)
console.log(JSON.stringify({ stack: first.stack, helper: first.helper + second.helper, warnings }))
`

describe("Bundled worker entry, rolldown not installed", () => {
  it.live(
    "a program whose copy of @effect-threads/node cannot find rolldown starts threads from the entry as it is, after " +
      "one warning",
    () =>
      Effect.gen(function*() {
        // an application that carries @effect-threads/node's code without rolldown (bundled, or pruned): the
        // package's source copied into the project, which has effect and core in its node_modules, not rolldown
        const p = yield* project({ "main.ts": copiedProgram })
        Fs.cpSync(Url.fileURLToPath(new URL("../src", import.meta.url)), Path.join(p.dir, "app", "src"), {
          recursive: true
        })
        const { NODE_PATH: _, ...env } = process.env
        const out = yield* Effect.promise(() =>
          new Promise<string>((resolve, reject) =>
            // no NODE_PATH either (pnpm's scripts set one, where rolldown is found)
            ChildProcess.execFile(process.execPath, ["main.ts"], { cwd: p.dir, env }, (error, stdout, stderr) =>
              error === null ? resolve(stdout) : reject(new Error(`${error.message}\n${stderr}`)))
          )
        )
        const result = JSON.parse(out) as { stack: string; helper: number; warnings: Array<string> }
        assert.notInclude(result.stack, inCache)
        assert.strictEqual(result.helper, 2)
        assert.lengthOf(result.warnings, 1)
        assert.include(result.warnings[0], "could not bundle")
      }),
    suiteOptions
  )
})

describe("Bundled worker entry, a start that does not come", () => {
  it.live(
    "a bundle that hangs as it loads: the thread starts from the entry as it is within the start timeout, after " +
      "one warning, and the cache remembers",
    () =>
      withWarnings((warnings) =>
        Effect.gen(function*() {
          const p = yield* project()
          assert.include((yield* runOn({ entry: p.entry }, info)).stack, inCache)
          Fs.writeFileSync(bundleFile(p.cache), hang)
          Entries.forget()
          const builds = Entries.counters.builds
          const result = yield* runOn({ entry: p.entry, startTimeout: "8 seconds" }, info)
          assert.notInclude(result.stack, inCache)
          assert.strictEqual(result.helper, 1)
          assert.lengthOf(warnings, 1)
          assert.include(warnings[0], "did not load within 4000 ms")
          Entries.forget() // another process: the entry starts as it is, no bundled thread tried
          const again = yield* runOn({ entry: p.entry, startTimeout: "8 seconds" }, info)
          assert.notInclude(again.stack, inCache)
          assert.strictEqual(Entries.counters.builds, builds, "no new build")
          assert.lengthOf(warnings, 1)
        })
      ),
    suiteOptions
  )

  it.live(
    "an entry that hangs both ways fails to start with ThreadStartFailed at its start timeout, blaming nothing",
    () =>
      withWarnings((warnings) =>
        Effect.gen(function*() {
          const p = yield* project({
            "entry.ts": `import { existsSync } from "node:fs"
if (existsSync(new URL("./hang", import.meta.url))) {
  setInterval(() => {}, 60_000)
  await new Promise(() => {})
}
${entrySource}`
          })
          assert.include((yield* runOn({ entry: p.entry }, info)).stack, inCache)
          Fs.writeFileSync(Path.join(p.dir, "hang"), "")
          Entries.forget()
          const failed = yield* Effect.flip(runOn({ entry: p.entry, startTimeout: "3 seconds" }, info))
          assert.instanceOf(failed, ThreadStartFailed)
          assert.include(failed.message, "did not become ready within 3s")
          assert.lengthOf(warnings, 0)
          assert.isUndefined(verdictFile(p.cache))
          Fs.rmSync(Path.join(p.dir, "hang"))
          Entries.forget()
          const builds = Entries.counters.builds
          assert.include((yield* runOn({ entry: p.entry }, info)).stack, inCache, "the bundle is still used")
          assert.strictEqual(Entries.counters.builds, builds)
        })
      ),
    suiteOptions
  )

  it.live(
    "a verdict on a bundle expires: the bundle is tried again, a failure again is silent and holds longer, a " +
      "success removes it",
    () =>
      withWarnings((warnings) =>
        Effect.gen(function*() {
          const p = yield* project()
          assert.include((yield* runOn({ entry: p.entry }, info)).stack, inCache)
          const file = bundleFile(p.cache)
          const good = Fs.readFileSync(file, "utf8")
          Fs.writeFileSync(file, "throw new Error('flaky')\n")
          Entries.forget()
          assert.notInclude((yield* runOn({ entry: p.entry }, info)).stack, inCache)
          assert.lengthOf(warnings, 1)
          assert.strictEqual(readVerdict(p.cache).count, 1)
          // within the hour, another process starts the entry as it is at once
          Fs.writeFileSync(file, good)
          Entries.forget()
          assert.notInclude((yield* runOn({ entry: p.entry }, info)).stack, inCache)
          // two hours later the bundle is tried again; it fails again: no second warning, the verdict holds 4 hours
          Fs.writeFileSync(file, "throw new Error('flaky')\n")
          age(p.cache, 2 * 3_600_000)
          Entries.forget()
          assert.notInclude((yield* runOn({ entry: p.entry }, info)).stack, inCache)
          assert.lengthOf(warnings, 1)
          assert.strictEqual(readVerdict(p.cache).count, 2)
          Fs.writeFileSync(file, good)
          age(p.cache, 3 * 3_600_000)
          Entries.forget()
          assert.notInclude((yield* runOn({ entry: p.entry }, info)).stack, inCache, "3 hours: still held")
          // five hours: tried again, and it starts
          age(p.cache, 2 * 3_600_000)
          Entries.forget()
          const builds = Entries.counters.builds
          assert.include((yield* runOn({ entry: p.entry }, info)).stack, inCache)
          assert.strictEqual(Entries.counters.builds, builds, "the bundle judged, not a new one")
          assert.isUndefined(verdictFile(p.cache))
          assert.lengthOf(warnings, 1)
        })
      ),
    suiteOptions
  )

  it.live(
    "in a long-running process the verdict expires too: the next thread after it tries the bundle again",
    () =>
      withWarnings((warnings) =>
        Effect.gen(function*() {
          const p = yield* project()
          assert.include((yield* runOn({ entry: p.entry }, info)).stack, inCache)
          const file = bundleFile(p.cache)
          const good = Fs.readFileSync(file, "utf8")
          Fs.writeFileSync(file, "throw new Error('flaky')\n")
          Entries.forget()
          assert.notInclude((yield* runOn({ entry: p.entry }, info)).stack, inCache)
          assert.lengthOf(warnings, 1)
          Fs.writeFileSync(file, good)
          assert.notInclude((yield* runOn({ entry: p.entry }, info)).stack, inCache, "held in this process")
          // two hours go by (the process's clock, as the cache's verdict sees it)
          const now = Date.now
          yield* Effect.acquireRelease(
            Effect.sync(() => {
              Date.now = () => now() + 2 * 3_600_000
            }),
            () =>
              Effect.sync(() => {
                Date.now = now
              })
          )
          assert.include((yield* runOn({ entry: p.entry }, info)).stack, inCache, "tried again, and it starts")
          assert.isUndefined(verdictFile(p.cache))
          assert.lengthOf(warnings, 1)
        })
      ),
    suiteOptions
  )

  it.live(
    "a bundle whose files went away while it was current is not blamed: no warning, the next start bundles again",
    () =>
      withWarnings((warnings) =>
        Effect.gen(function*() {
          const p = yield* project()
          assert.include((yield* runOn({ entry: p.entry }, info)).stack, inCache)
          Fs.rmSync(bundleFile(p.cache)) // a cache being cleared (or pruned) as a thread starts
          Entries.forget()
          const builds = Entries.counters.builds
          const result = yield* runOn({ entry: p.entry }, info)
          assert.notInclude(result.stack, inCache)
          assert.strictEqual(result.helper, 1)
          assert.lengthOf(warnings, 0)
          assert.isUndefined(verdictFile(p.cache))
          assert.include((yield* runOn({ entry: p.entry }, info)).stack, inCache)
          assert.strictEqual(Entries.counters.builds, builds + 1)
        })
      ),
    suiteOptions
  )

  it.live(
    "a bundle stuck in the making: a pool closed meanwhile closes, and a thread starts from the entry as it is " +
      "within the start timeout, blaming nothing",
    () =>
      withWarnings((warnings) =>
        Effect.gen(function*() {
          const p = yield* project()
          let release = (): void => undefined
          Entries.testing.beforeBuild = new Promise((resolve) => {
            release = resolve
          })
          yield* Effect.addFinalizer(() =>
            Effect.promise(() => {
              Entries.testing.beforeBuild = undefined
              release()
              return Entries.built()
            })
          )
          const closed = yield* Effect.flip(
            Effect.timeout(runOn({ entry: p.entry, startTimeout: "60 seconds" }, info), "1 second")
          )
          assert.isTrue(Cause.isTimeoutError(closed), String(closed))
          const result = yield* runOn({ entry: p.entry, startTimeout: "8 seconds" }, info)
          assert.notInclude(result.stack, inCache)
          assert.strictEqual(result.helper, 1)
          release()
          yield* Effect.promise(() => Entries.built())
          assert.include((yield* runOn({ entry: p.entry }, info)).stack, inCache, "once made, the bundle is used")
          assert.lengthOf(warnings, 0)
        })
      ),
    suiteOptions
  )
})
