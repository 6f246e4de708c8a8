/**
 * The bundle cache on disk: where it lives, its manifests, the check that a bundle is still current, and the
 * writes (each file to a temporary name, then renamed, so that pools and processes sharing a cache never read a
 * half-written file).
 *
 * One entry's bundle is keyed by the entry's real path, the bundler (rolldown's version and the source of the
 * modules that make bundles) and the resolution conditions: `<name>-<key>.json` (the manifest: every input file,
 * the `package.json` files resolving read included, with its size and modification time, the bundle's name and its
 * other chunks), `<name>-<key>-<hash>.mjs` (the entry's chunk, the bundle named by its content) and its `.mjs.map`,
 * `<name>-<key>-<hash>.chunk.mjs` (the packages' chunk, and any other, named by their content; a map only where a
 * chunk holds the user's code), and `<name>-<key>-<hash>.start.mjs` (what the thread starts from: it turns on source
 * maps, then imports the bundle).
 *
 * Where: the `cacheDir` option; else `node_modules/.cache/effect-threads` in the nearest `node_modules` above the
 * entry (where Node resolves the entry's packages from: nothing is added to the user's sources); else, or when that
 * cannot be written, `<tmpdir>/effect-threads-<uid>` (made private to the user, and used only while it is).
 *
 * @internal
 */
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import type { Chunk } from "./bundle.ts"

/**
 * The manifest's shape. How bundles are made needs no bump: the key has the source of the modules that make them.
 */
const FORMAT = 3

/** One input file as it was read: path, size, modification time (ms). */
export type Input = readonly [string, number, number]

/**
 * What a manifest records. `bundle` is the bundle's base name, absent when the entry is not safe to bundle;
 * `chunks`, the file names of its chunks other than the entry's.
 */
export interface Manifest {
  readonly format: number
  readonly entry: string
  readonly inputs: ReadonlyArray<Input>
  readonly bundle?: string | undefined
  readonly chunks?: ReadonlyArray<string> | undefined
  readonly unsafe?: string | undefined
}

/** The cache key of an entry: its real path and what else changes its bundle. */
export const keyOf = (entry: string, bundler: string, conditions: ReadonlyArray<string>): string =>
  Crypto.createHash("sha256").update(JSON.stringify([FORMAT, bundler, entry, conditions])).digest("hex").slice(0, 16)

/** The manifest's file name for an entry and key. */
export const stemOf = (entry: string, key: string): string =>
  `${Path.basename(entry).replace(/\.[^.]*$/, "").replace(/[^\w.-]/g, "_")}-${key}`

/**
 * A file's stat, or `undefined` when there is none to read: not there, or a path that cannot be one (a file where a
 * directory should be, a loop of links), which some Node versions throw for despite `throwIfNoEntry: false`.
 */
const statOf = (path: string, link = false): Fs.Stats | undefined => {
  try {
    return (link ? Fs.lstatSync : Fs.statSync)(path, { throwIfNoEntry: false })
  } catch {
    return undefined
  }
}

/** The nearest `node_modules` above `file`'s directory, with `.cache/effect-threads` in it. */
const packageCacheDir = (file: string): string | undefined => {
  for (let dir = Path.dirname(file);; dir = Path.dirname(dir)) {
    if (Path.basename(dir) !== "node_modules") {
      const modules = Path.join(dir, "node_modules")
      if (statOf(modules)?.isDirectory() === true) {
        return Path.join(modules, ".cache", "effect-threads")
      }
    }
    if (Path.dirname(dir) === dir) return undefined
  }
}

/** `<tmpdir>/effect-threads-<uid>`. */
export const tmpCacheDir = (): string =>
  Path.join(Os.tmpdir(), `effect-threads-${typeof process.getuid === "function" ? process.getuid() : "user"}`)

/** The directories to look in and write to, in order. */
export const cacheDirs = (entry: string, option: string | undefined): ReadonlyArray<string> => {
  const first = option === undefined ? packageCacheDir(entry) : Path.resolve(option)
  const tmp = tmpCacheDir()
  return first === undefined || first === tmp ? [tmp] : [first, tmp]
}

/** Whether a shared directory (the tmp one) can be trusted: ours, and nobody else may write in it. */
const trusted = (dir: string): boolean => {
  if (dir !== tmpCacheDir() || typeof process.getuid !== "function") return true
  const stat = statOf(dir, true)
  return stat !== undefined && stat.isDirectory() && stat.uid === process.getuid() && (stat.mode & 0o022) === 0
}

/** The manifest of `stem` in `dir`, if there is a readable one of this format. */
export const readManifest = (dir: string, stem: string): Manifest | undefined => {
  try {
    if (!trusted(dir)) return undefined
    const manifest = JSON.parse(Fs.readFileSync(Path.join(dir, `${stem}.json`), "utf8")) as Manifest
    return manifest.format === FORMAT && Array.isArray(manifest.inputs) ? manifest : undefined
  } catch {
    return undefined
  }
}

/** Each input's size and modification time now (`undefined` for a file that is gone). */
export const statInputs = (paths: ReadonlyArray<string>): Array<Input | undefined> =>
  paths.map((path) => {
    const stat = statOf(path)
    return stat === undefined ? undefined : [path, stat.size, stat.mtimeMs] as const
  })

/**
 * Whether every input is as recorded and the bundle's files are there: the cheap check made on every start. With
 * `outsidePackages`, only the inputs outside `node_modules` are checked (a process that has checked them all once
 * does not see its packages change under it).
 */
export const isCurrent = (dir: string, manifest: Manifest, outsidePackages = false): boolean => {
  for (const [path, size, mtime] of manifest.inputs) {
    if (outsidePackages && /[\\/]node_modules[\\/]/.test(path)) continue
    const stat = statOf(path)
    if (stat === undefined || stat.size !== size || stat.mtimeMs !== mtime) return false
  }
  if (manifest.bundle === undefined) return true
  return Fs.existsSync(startFile(dir, manifest.bundle)) &&
    (manifest.chunks ?? []).every((chunk) => Fs.existsSync(Path.join(dir, chunk)))
}

/** The file a thread starts from. */
export const startFile = (dir: string, bundle: string): string => Path.join(dir, `${bundle}.start.mjs`)

/** Writes `content` to `file` through a temporary file and a rename. */
const writeAtomic = (file: string, content: string): void => {
  const tmp = `${file}.${process.pid}.${Crypto.randomBytes(4).toString("hex")}.tmp`
  try {
    Fs.writeFileSync(tmp, content)
    Fs.renameSync(tmp, file)
  } catch (error) {
    Fs.rmSync(tmp, { force: true })
    throw error
  }
}

/** What a bundled thread posts once its bundle has loaded (the platform keeps it from the pool). */
export const LOADED = "effect-threads:bundle-loaded"

/**
 * What the thread runs first: source maps on (they are read as the bundle loads), then the bundle, then `LOADED`
 * (a bundle that never loads is told from an entry that is slow to serve).
 */
const starter = (bundle: string): string =>
  `import * as Module from "node:module"
import { parentPort } from "node:worker_threads"
if (typeof Module.setSourceMapsSupport === "function") Module.setSourceMapsSupport(true, { nodeModules: true })
else process.setSourceMapsEnabled(true)
await import(${JSON.stringify(`./${bundle}.mjs`)})
parentPort?.postMessage(${JSON.stringify(LOADED)})
`

/** Makes `dir` (private when it is the tmp one); whether it can be used. */
const prepare = (dir: string): boolean => {
  // Each missing directory made in turn, from the nearest that is there: Node 20 to 24's `recursive: true` spins
  // forever where a directory cannot be made (under /proc), where one `mkdir` fails at once.
  const missing: Array<string> = []
  for (let d = dir; statOf(d) === undefined && Path.dirname(d) !== d; d = Path.dirname(d)) missing.push(d)
  for (const d of missing.reverse()) {
    Fs.mkdirSync(d, d === tmpCacheDir() ? { mode: 0o700 } : {})
  }
  return trusted(dir)
}

/**
 * The first of `dirs` this process can write a bundle into (made if missing; the tmp one private), and why the ones
 * before it cannot; `undefined` when none can. Chosen before a bundle is made: what is safe to bundle depends on where
 * the bundle lives (a package name resolved at run time resolves from there).
 */
export const writable = (
  dirs: ReadonlyArray<string>
): { readonly dir: string | undefined; readonly refused: ReadonlyArray<string> } => {
  const refused: Array<string> = []
  for (const dir of dirs) {
    try {
      if (!prepare(dir)) throw new Error(`${dir} is not private to this user`)
      Fs.accessSync(dir, Fs.constants.W_OK)
      return { dir, refused }
    } catch (error) {
      refused.push(`${dir}: ${error instanceof Error ? error.message : String(error)}`)
    }
  }
  return { dir: undefined, refused }
}

/**
 * Writes a bundle (or an unsafe verdict) and its manifest into `dir` (one `writable` chose), or throws. The files of
 * the entry's other bundles not used for a day are removed (`prune`).
 */
export const write = (
  dir: string,
  stem: string,
  manifest: Omit<Manifest, "format" | "bundle" | "chunks">,
  chunks: ReadonlyArray<Chunk> | undefined
): { readonly dir: string; readonly manifest: Manifest } => {
  const name = chunks === undefined ? undefined : writeChunks(dir, chunks)
  const full: Manifest = {
    format: FORMAT,
    ...manifest,
    ...(name === undefined ? {} : { bundle: name, chunks: chunks!.slice(1).map((chunk) => chunk.fileName) })
  }
  writeAtomic(Path.join(dir, `${stem}.json`), JSON.stringify(full))
  prune(dir, stem, name, full.chunks ?? [])
  return { dir, manifest: full }
}

/**
 * Writes a bundle's chunks and its start file, each chunk under the name the bundler gave it (`<stem>-<hash>.mjs`
 * for the entry's, `<stem>-<hash>.chunk.mjs` for the others: named by their content, which is how they import each
 * other); each chunk with a map names it. The bundle's name: the entry chunk's, without `.mjs`.
 */
const writeChunks = (dir: string, chunks: ReadonlyArray<Chunk>): string => {
  const name = chunks[0]!.fileName.replace(/\.mjs$/, "")
  chunks.forEach((chunk) => {
    const file = chunk.fileName
    let code = chunk.code
    if (chunk.map !== undefined) {
      writeAtomic(Path.join(dir, `${file}.map`), JSON.stringify(chunk.map))
      code += `\n//# sourceMappingURL=${file}.map\n`
    }
    writeAtomic(Path.join(dir, file), code)
  })
  writeAtomic(startFile(dir, name), starter(name))
  return name
}

/** How long a bundle's files stay after their last use, once a newer bundle of the entry is written. */
const keptFor = 24 * 3_600_000

/** How often a process that starts threads from a bundle marks its files used (their modification times). */
const markEvery = 3_600_000

/** When this process last marked each bundle's files used, by directory and bundle. */
const marked = new Map<string, number>()

/**
 * Marks a bundle's files used by this process (their modification times set to now), at most once an hour: a
 * thread loads a chunk when its code first imports it, maybe long after the thread started, so another process
 * must not prune the files of a bundle some process still starts threads from. Best effort (a read-only cache).
 */
export const inUse = (dir: string, manifest: Manifest): void => {
  if (manifest.bundle === undefined) return
  const key = `${dir}\0${manifest.bundle}`
  const now = Date.now()
  if (now - (marked.get(key) ?? -Infinity) < markEvery) return
  marked.set(key, now)
  const at = now / 1000
  const files = [startFile(dir, manifest.bundle), `${manifest.bundle}.mjs`, `${manifest.bundle}.mjs.map`]
  for (const file of [...files, ...(manifest.chunks ?? []).flatMap((chunk) => [chunk, `${chunk}.map`])]) {
    try {
      Fs.utimesSync(Path.resolve(dir, file), at, at)
    } catch {
      // gone, or not ours to touch: the start checks what it needs
    }
  }
}

/**
 * Removes this entry's older bundles: the files of other bundles not used for a day (`inUse`; a process may still
 * start threads from one, and a thread load its chunks late).
 */
const prune = (dir: string, stem: string, keep: string | undefined, chunks: ReadonlyArray<string>): void => {
  const before = Date.now() - keptFor
  for (const file of Fs.readdirSync(dir)) {
    if (!file.startsWith(`${stem}-`) || (keep !== undefined && file.startsWith(keep))) continue
    if (chunks.some((chunk) => file.startsWith(chunk))) continue
    const path = Path.join(dir, file)
    if ((statOf(path)?.mtimeMs ?? Infinity) < before) Fs.rmSync(path, { force: true })
  }
}
