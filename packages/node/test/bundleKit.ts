/**
 * The bundled worker entry's test kit: a throwaway project on real threads (its `node_modules` links the workspace's
 * packages and effect, so the cache lands in that project's `node_modules/.cache/effect-threads`), the entry's tasks,
 * and helpers to run a one-thread pool and collect warnings.
 */
import * as Task from "@effect-threads/core/Task"
import * as ThreadPool from "@effect-threads/core/ThreadPool"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Url from "node:url"
import { NodeThreadPool } from "../src/index.ts"

export const Info = Task.make("Info", {
  success: Schema.Struct({
    url: Schema.String,
    data: Schema.String,
    lazy: Schema.Number,
    dynamic: Schema.Number,
    helper: Schema.Number,
    stack: Schema.String
  })
})
export const Boom = Task.make("Boom")
/** Throws inside a statement of many lines (which the bundler prints on one line). */
export const Deep = Task.make("Deep")
export const Crash = Task.make("Crash")

const here = Path.dirname(Url.fileURLToPath(import.meta.url))
const effectDir = Fs.realpathSync(Path.join(here, "..", "node_modules", "effect"))

export const entrySource = `import * as Task from "@effect-threads/core/Task"
import * as NodeThreadRunner from "@effect-threads/node/NodeThreadRunner"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { readFileSync } from "node:fs"
import { value } from "./helper.ts"

const Info = Task.make("Info", {
  success: Schema.Struct({
    url: Schema.String, data: Schema.String, lazy: Schema.Number, dynamic: Schema.Number, helper: Schema.Number,
    stack: Schema.String
  })
})
const Boom = Task.make("Boom")
const Deep = Task.make("Deep")
const Crash = Task.make("Crash")

const boom = (): never => {
  throw new Error("boom") // BOOM
}

NodeThreadRunner.serve([
  Task.implement(Info, () =>
    Effect.promise(async () => {
      const stack = new Error("here").stack ?? "" // taken before any await: effect's frames are below it
      return {
        url: import.meta.url,
        data: readFileSync(new URL("./data.txt", import.meta.url), "utf8"),
        lazy: (await import("./lazy.ts")).value,
        dynamic: (await import(["./lazy", "ts"].join("."))).value,
        helper: value,
        stack
      }
    })),
  Task.implement(Boom, () => Effect.sync(boom)),
  Task.implement(Deep, () =>
    Effect.succeed(1).pipe(
      Effect.map((x) => x + 1),
      Effect.map((x): number => JSON.parse(\`{bad \${x}\`)) // DEEP
    )),
  Task.implement(Crash, () =>
    Effect.sync(() => {
      setTimeout(() => {
        throw new Error("crash") // CRASH
      }, 1)
    }).pipe(Effect.andThen(Effect.never)))
])
`

/** The line of `marker` in the entry's source (1-based). */
export const lineOf = (marker: string): number => entrySource.split("\n").findIndex((line) => line.includes(marker)) + 1

/**
 * Writes a file of the project with a modification time a minute ago (or `secondsAgo`): a bundle made in the same
 * millisecond as an input was written counts that input as changed while it was read, and that start uses the entry
 * as it is (the next one bundles again); a test that expects the bundle writes its inputs this way. A later change
 * needs a time of its own (a smaller `secondsAgo`), since the cache compares sizes and times.
 */
export const writeBefore = (file: string, content: string, secondsAgo = 60): void => {
  Fs.writeFileSync(file, content)
  const at = Date.now() / 1000 - secondsAgo
  Fs.utimesSync(file, at, at)
}

export interface Project {
  readonly dir: string
  readonly entry: URL
  readonly cache: string
}

/** A throwaway project: the entry, its helper, a lazily imported module, a data file. */
export const makeProject = (extra: Record<string, string> = {}): Project => {
  const dir = Fs.realpathSync(Fs.mkdtempSync(Path.join(Os.tmpdir(), "et-bundle-test-")))
  const modules = Path.join(dir, "node_modules")
  Fs.mkdirSync(Path.join(modules, "@effect-threads"), { recursive: true })
  Fs.symlinkSync(Path.join(here, "..", "..", "core"), Path.join(modules, "@effect-threads", "core"))
  Fs.symlinkSync(Path.join(here, ".."), Path.join(modules, "@effect-threads", "node"))
  Fs.symlinkSync(effectDir, Path.join(modules, "effect"))
  const files: Record<string, string> = {
    "package.json": `{ "type": "module" }\n`,
    "entry.ts": entrySource,
    "helper.ts": "export const value = 1\n",
    "lazy.ts": "export const value = 42\n",
    "data.txt": "hello",
    ...extra
  }
  for (const [name, content] of Object.entries(files)) writeBefore(Path.join(dir, name), content)
  return {
    dir,
    entry: Url.pathToFileURL(Path.join(dir, "entry.ts")),
    cache: Path.join(modules, ".cache", "effect-threads")
  }
}

const removeProject = (project: Project): Effect.Effect<void> =>
  Effect.sync(() => Fs.rmSync(project.dir, { recursive: true, force: true }))

/** A scoped project, removed when the test ends. */
export const project = (extra?: Record<string, string>): Effect.Effect<Project, never, Scope.Scope> =>
  Effect.acquireRelease(Effect.sync(() => makeProject(extra)), removeProject)

/** Points `os.tmpdir()` (so the tmp bundle cache) at `dir` until the scope closes, then back. */
export const tmpdirAt = (dir: string): Effect.Effect<void, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const saved = process.env.TMPDIR
      process.env.TMPDIR = dir
      return saved
    }),
    (saved) =>
      Effect.sync(() => {
        if (saved === undefined) delete process.env.TMPDIR
        else process.env.TMPDIR = saved
      })
  ).pipe(Effect.asVoid)

/** Runs `task` on a fresh one-thread pool on `entry`. */
export const runOn = <A, E>(
  options: Omit<NodeThreadPool.Options, "minThreads" | "maxThreads">,
  use: Effect.Effect<A, E, ThreadPool.ThreadPool | ThreadPool.Executor>
) => Effect.scoped(Effect.provide(use, NodeThreadPool.layer({ ...options, minThreads: 1, maxThreads: 1 })))

export const info = ThreadPool.deferToThread(Info, undefined)

/** The bundles in a cache directory. */
export const bundlesIn = (cache: string): Array<string> =>
  Fs.existsSync(cache) ? Fs.readdirSync(cache).filter((f) => f.endsWith(".start.mjs")) : []

/** Collects the warnings logged while `effect` runs. */
export const withWarnings = <A, E, R>(effect: (warnings: Array<string>) => Effect.Effect<A, E, R>) => {
  const warnings: Array<string> = []
  const logger = Logger.make((options) => {
    if (options.logLevel === "Warn") warnings.push(String(options.message))
  })
  return effect(warnings).pipe(Effect.provide(Logger.layer([logger])))
}
