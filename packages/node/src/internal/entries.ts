/**
 * Which file a pool's next thread starts from: the entry's cached bundle while it is current, else the bundle made
 * now (asynchronously: the pool's threads wait for it, the event loop does not), else the entry as it is.
 *
 * Every start checks the cache (one `stat` per input file, no bundler loaded; after the first start of a process,
 * only the files outside `node_modules`); a changed input makes a new bundle.
 * What one pool learns (the manifest, a bundle in the making) is shared with every pool of the process on the same
 * entry. A bundler failure, or a cache that cannot be written anywhere, makes the process start that entry as it is,
 * after one warning; an entry that uses what a bundle cannot keep (see `bundle.ts`) starts as it is, silently. A
 * bundle that kept a thread from starting where the entry as it is did (`unusable`, told by `starting.ts`) is judged
 * in the cache (`verdict.ts`): the entry starts as it is while the verdict holds, here and in other processes.
 *
 * @internal
 */
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import { createRequire } from "node:module"
import * as Path from "node:path"
import * as Url from "node:url"
import * as Util from "node:util"
import * as Bundle from "./bundle.ts"
import * as Cache from "./bundleCache.ts"
import * as Verdict from "./verdict.ts"

/** What a thread starts from; `bundled` threads start from the cache's start file. */
export interface Start {
  readonly entry: URL | string
  readonly bundled: boolean
}

/** The options this module reads. */
export interface Config {
  readonly entry: URL | string
  readonly cacheDir: string | undefined
  readonly conditions: ReadonlyArray<string>
  /** Reports a warning (once per entry and process). */
  readonly warn: (message: string) => void
}

/** Builds made by this process (read by the tests: a pool that reused a bundle made none). */
export const counters = { builds: 0 }

/** What a build waits for before it begins (tests: a bundle stuck in the making, as on a file system that hangs). */
export const testing: { beforeBuild: Promise<void> | undefined } = { beforeBuild: undefined }

/** A bundle in use, with the verdict on it that no longer holds if there is one (its threads try it again). */
interface Current {
  readonly dir: string
  readonly manifest: Cache.Manifest
  readonly verdict?: Verdict.Verdict | undefined
}

type Memo =
  | { readonly _tag: "Current" } & Current
  | { readonly _tag: "Building"; readonly start: Promise<Start> }
  | { readonly _tag: "Plain"; readonly until?: number | undefined }

const memos = new Map<string, Memo>()

/** Forgets what this process learnt (tests: the next pool behaves as a new process would). */
export const forget = (): void => memos.clear()

/** Settles once every bundle in the making now is made (tests). */
export const built = (): Promise<unknown> =>
  Promise.all(Array.from(memos.values(), (memo) => memo._tag === "Building" ? memo.start : undefined))

/**
 * rolldown's version: the exact one this package's `package.json` pins (read beside this module, a fifth of a ms),
 * else the installed one (resolving `rolldown/package.json` costs a process's first start 1.5-4 ms).
 */
const rolldownVersion = (): string => {
  try {
    const own = JSON.parse(Fs.readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
      readonly name?: string
      readonly dependencies?: Readonly<Record<string, string>>
    }
    const pinned = own.name === "@effect-threads/node" ? own.dependencies?.["rolldown"] : undefined
    if (pinned !== undefined && /^\d+\.\d+\.\d+$/.test(pinned)) return pinned
  } catch {
    // not beside its package.json (a bundled application): resolved below
  }
  const require = createRequire(import.meta.url)
  return (JSON.parse(Fs.readFileSync(require.resolve("rolldown/package.json"), "utf8")) as { version: string }).version
}

let bundlerVersion: string | undefined
/**
 * The bundler and the way a bundle is made: rolldown's version and the source of the modules that make and write
 * bundles (their options, rewrites, format), so that a change to any of them changes every key.
 */
const bundler = (): string => {
  if (bundlerVersion === undefined) {
    const makers = Crypto.createHash("sha256")
    for (const name of ["bundle", "bundleCache", "chunks", "entries", "sourceMap"]) {
      const url = import.meta.url.replace(/entries(\.[cm]?[jt]s)$/, `${name}$1`)
      try {
        makers.update(Fs.readFileSync(Url.fileURLToPath(url)))
      } catch {
        makers.update(url) // not readable (a bundled application): the version alone
      }
    }
    bundlerVersion = `rolldown@${rolldownVersion()} ${makers.digest("hex").slice(0, 16)}`
  }
  return bundlerVersion
}

let bundlerMissing = false
/**
 * The bundler's version, or `undefined` after one warning (once per process) where rolldown cannot be found: an
 * application bundled with `@effect-threads/node` in it, a deployment pruned of it. Its threads start as they are.
 */
const bundlerOrWarn = (config: Config, file: string): string | undefined => {
  try {
    return bundler()
  } catch (error) {
    if (!bundlerMissing) {
      bundlerMissing = true
      config.warn(`effect-threads: could not bundle ${file}, its threads start from it as it is: ${String(error)}`)
    }
    return undefined
  }
}

/** The entry's path when it is a file a bundle can stand for: an ES module by its extension or package. */
const bundlable = (entry: URL | string): string | undefined => {
  let file: string
  try {
    file = entry instanceof URL
      ? Url.fileURLToPath(entry)
      : entry.startsWith("file:")
      ? Url.fileURLToPath(entry)
      : Path.resolve(entry)
    file = Fs.realpathSync(file)
  } catch {
    return undefined
  }
  if (/\.m[jt]s$/.test(file)) return file
  return /\.[jt]s$/.test(file) && Bundle.moduleTypeOf(file) === "module" ? file : undefined
}

/** The start a manifest gives (made once per manifest: the same object on every start). */
const starts = new WeakMap<Cache.Manifest, Start>()
/** Where a bundled start came from: its cache directory, manifest, and the verdict it is tried again after. */
const origins = new WeakMap<Start, Current>()
const startOf = (current: Current, plain: Start): Start => {
  const { dir, manifest } = current
  if (manifest.bundle === undefined) return plain
  Cache.inUse(dir, manifest)
  let start = starts.get(manifest)
  if (start === undefined) {
    start = { entry: Url.pathToFileURL(Cache.startFile(dir, manifest.bundle)), bundled: true }
    starts.set(manifest, start)
    origins.set(start, current)
  }
  return start
}

/** The manifest's stem (its bundle's name without the content hash). */
const stemOfBundle = (bundle: string): string => bundle.slice(0, -(Bundle.hashLength + 1))

/** A value as text, whatever it is (a thread may die of an object without a prototype). */
const describe = (value: unknown): string => {
  try {
    return value instanceof Error ? String(value) : typeof value === "string" ? value : Util.inspect(value)
  } catch {
    return "an unprintable value"
  }
}

/** The manifests whose bundle failed to start a thread in this process (each judged once). */
const failed = new WeakSet<Cache.Manifest>()

/**
 * A thread could not start from `start`'s bundle where one of the entry as it is did: the entry starts as it is, in
 * this process and (through a verdict in the cache) in others, while the verdict holds (see `verdict.ts`). The first
 * failure in a row warns, once; a bundle whose files went away meanwhile (a cache cleared, pruned by another
 * process) is not judged: the next start looks at the cache again.
 */
export const unusable = (config: Config, start: Start, why: unknown): void => {
  const origin = origins.get(start)
  if (origin === undefined || failed.has(origin.manifest)) return
  failed.add(origin.manifest)
  const { dir, manifest } = origin
  const bundle = manifest.bundle!
  const gone = ![Cache.startFile(dir, bundle), Path.join(dir, `${bundle}.mjs`), ...(manifest.chunks ?? [])]
    .every((file) => Fs.existsSync(Path.resolve(dir, file)))
  const count = (origin.verdict?.count ?? 0) + 1
  const at = Date.now()
  for (const [key, memo] of memos) {
    if (memo._tag === "Current" && memo.manifest === manifest) {
      if (gone) memos.delete(key)
      else memos.set(key, { _tag: "Plain", until: at + Verdict.holdsFor(count) })
    }
  }
  if (gone) {
    // what is left of it is stale: without its start file the cache is not current, and the next start bundles
    try {
      Fs.rmSync(Cache.startFile(dir, bundle), { force: true })
    } catch {
      // a read-only cache: the next start tries it again
    }
    return
  }
  const reason = `a thread started from its bundle could not start where the entry as it is did: ${describe(why)}`
  if (count === 1) {
    config.warn(`effect-threads: ${manifest.entry}: ${reason}; its threads start from it as it is for an hour`)
  }
  try {
    Verdict.write(dir, stemOfBundle(bundle), { bundle, count, at, reason })
  } catch {
    // the cache cannot be written: only this process knows
  }
}

/** A thread of `start`'s bundle is ready: a verdict it was tried again after is removed. */
export const proven = (start: Start): void => {
  const origin = origins.get(start)
  if (origin?.verdict === undefined) return
  const { dir, manifest, verdict } = origin
  origins.set(start, { dir, manifest })
  try {
    Verdict.clear(dir, stemOfBundle(verdict.bundle), verdict.bundle)
  } catch {
    // the cache cannot be written: the verdict stays expired
  }
}

/** Makes a bundle (or learns it cannot be made), writes it, remembers it. Never rejects. */
const make = async (config: Config, file: string, key: string, memoKey: string, plain: Start): Promise<Start> => {
  const stem = Cache.stemOf(file, key)
  const dirs = Cache.cacheDirs(file, config.cacheDir)
  // the directory first: the bundle is judged (and its map made) for where it will live
  const { dir, refused } = Cache.writable(dirs)
  if (dir === undefined) {
    memos.set(memoKey, { _tag: "Plain" })
    config.warn(
      `effect-threads: could not write the bundle of ${file} to ${dirs.join(" or ")}, its threads start from it as ` +
        `it is: ${refused.join("; ")}`
    )
    return plain
  }
  const began = Date.now()
  let built: Bundle.Built
  try {
    counters.builds++
    await testing.beforeBuild
    built = await Bundle.build(file, { file: Path.join(dir, `${stem}.mjs`), conditions: config.conditions })
  } catch (error) {
    memos.set(memoKey, { _tag: "Plain" })
    config.warn(`effect-threads: could not bundle ${file}, its threads start from it as it is: ${String(error)}`)
    return plain
  }
  const inputs = Cache.statInputs(built.inputs)
  if (inputs.some((input) => input === undefined || input[2] >= began)) {
    memos.delete(memoKey) // an input changed while it was read: this start uses the entry, the next one bundles again
    return plain
  }
  try {
    const written = Cache.write(
      dir,
      stem,
      {
        entry: file,
        inputs: inputs as Array<Cache.Input>,
        ...(built.unsafe === undefined ? {} : { unsafe: built.unsafe })
      },
      built.unsafe === undefined ? built.chunks : undefined
    )
    if (written.manifest.bundle !== undefined) Verdict.remove(written.dir, stem) // a new bundle is judged afresh
    if (config.cacheDir !== undefined && refused.length > 0) {
      config.warn(
        `effect-threads: the bundle cache directory ${dirs[0]} cannot be written (${refused[0]}); the bundle ` +
          `of ${file} is cached in ${written.dir} instead`
      )
    }
    memos.set(memoKey, { _tag: "Current", ...written })
    return startOf(written, plain)
  } catch (error) {
    memos.set(memoKey, { _tag: "Plain" })
    config.warn(
      `effect-threads: could not write the bundle of ${file} to ${dir}, its threads start from it as it is: ` +
        String(error)
    )
    return plain
  }
}

/** The resolution conditions a thread's `execArgv` adds (`--conditions=x`, `--conditions x`, `-C x`). */
export const conditionsOf = (execArgv: ReadonlyArray<string>): Array<string> => {
  const conditions: Array<string> = []
  execArgv.forEach((arg, i) => {
    const inline = /^--conditions=(.+)$/.exec(arg)
    if (inline !== null) conditions.push(inline[1]!)
    else if ((arg === "--conditions" || arg === "-C") && execArgv[i + 1] !== undefined) {
      conditions.push(execArgv[i + 1]!)
    }
  })
  return conditions
}

/** The start of the next thread: at once when the cache is current, else once the bundle is made. */
export const next = (config: Config): () => Start | Promise<Start> => {
  const plain: Start = { entry: config.entry, bundled: false }
  let file: string | undefined | null = null
  let key = ""
  let memoKey = ""
  return () => {
    if (file === null) {
      file = bundlable(config.entry)
      if (file !== undefined) {
        const version = bundlerOrWarn(config, file)
        if (version === undefined) file = undefined
        else key = Cache.keyOf(file, version, config.conditions)
      }
      memoKey = `${key} ${config.cacheDir ?? ""}`
    }
    if (file === undefined) return plain
    const memo = memos.get(memoKey)
    if (memo?._tag === "Plain" && (memo.until === undefined || Date.now() < memo.until)) return plain
    if (memo?._tag === "Building") return memo.start
    if (memo?._tag === "Current" && Cache.isCurrent(memo.dir, memo.manifest, true)) return startOf(memo, plain)
    const stem = Cache.stemOf(file, key)
    for (const dir of Cache.cacheDirs(file, config.cacheDir)) {
      const manifest = Cache.readManifest(dir, stem)
      if (manifest !== undefined && manifest.entry === file && Cache.isCurrent(dir, manifest)) {
        const verdict = manifest.bundle === undefined ? undefined : Verdict.read(dir, stem, manifest.bundle)
        const now = Date.now()
        if (verdict !== undefined && Verdict.holds(verdict, now)) {
          memos.set(memoKey, { _tag: "Plain", until: verdict.at + Verdict.holdsFor(verdict.count) })
          return plain
        }
        const current: Current = { dir, manifest, verdict }
        memos.set(memoKey, { _tag: "Current", ...current })
        return startOf(current, plain)
      }
    }
    const start = make(config, file, key, memoKey, plain)
    memos.set(memoKey, { _tag: "Building", start })
    return start
  }
}
