/**
 * Bundles a worker entry into one ES module with rolldown (loaded only when a bundle must be made), keeping what the
 * entry's code relies on:
 *
 * - `import.meta.url`, `.dirname` and `.filename` become each module's own (its source file's), so
 *   `new URL("./file", import.meta.url)` and `createRequire(import.meta.url)` find what they found before;
 *   `import.meta.resolve(s)` and `import(expression)` resolve a relative specifier against the module's own URL; one
 *   that may be a package's name (not known at build time) makes the entry unsafe to bundle where the bundle's
 *   directory would resolve it otherwise (another `node_modules`, the module's package's `imports` or `exports`; in
 *   modules outside `node_modules`, the user's);
 *   `import.meta.main` is true in the entry alone (as in a worker's entry on Node 24), false in the other modules.
 *   Any other use of `import.meta` as a whole makes the entry unsafe to bundle (the pool then starts it as it is).
 * - `node:` built-ins stay imports; so do CommonJS files and native addons (`.cjs`, `.cts`, `.node`, and `.js` or
 *   `.ts` whose package is not `"type": "module"`, wherever it lives: the user's own, a workspace package),
 *   imported by their absolute path, so that Node loads them exactly as before (their `__dirname`, their `require`).
 * - Names are kept (`keepNames`): a class's or function's `name` is what the source says.
 *
 * @internal
 */
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Url from "node:url"
import type { Plugin, RolldownMagicString as MagicStringType } from "rolldown"
import { packagesFirst, runsInOrder } from "./chunks.ts"
import { type RawSourceMap, userOnly } from "./sourceMap.ts"

/** One file of a bundle: its name (relative to the bundle's directory) and code, and its map if it holds the user's code. */
export interface Chunk {
  readonly fileName: string
  readonly code: string
  /** The user-only map; `undefined` for a chunk of packages' code only (no map: Node never reads one for it). */
  readonly map: RawSourceMap | undefined
}

/** What a build gives: the bundle's chunks (the entry's first), every file it read, or why it cannot be used. */
export interface Built {
  readonly chunks: ReadonlyArray<Chunk>
  readonly inputs: ReadonlyArray<string>
  /** Set when the entry uses something a bundle cannot keep: the pool starts the entry as it is. */
  readonly unsafe: string | undefined
}

/** Whether a resolved file is CommonJS (or a native addon) that the bundle should import, not inline. */
const packageTypes = new Map<string, string | undefined>()
const packageTypeOf = (dir: string): { readonly type: string | undefined; readonly json: string | undefined } => {
  for (let d = dir;; d = Path.dirname(d)) {
    const json = Path.join(d, "package.json")
    if (packageTypes.has(json)) return { type: packageTypes.get(json), json }
    try {
      const type = (JSON.parse(Fs.readFileSync(json, "utf8")) as { type?: unknown }).type
      packageTypes.set(json, typeof type === "string" ? type : undefined)
      return { type: packageTypes.get(json), json }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") return { type: undefined, json }
    }
    if (Path.dirname(d) === d) return { type: undefined, json: undefined }
  }
}

/** The nearest `package.json`'s `type`, for the entry itself. */
export const moduleTypeOf = (file: string): string | undefined => packageTypeOf(Path.dirname(file)).type

/** By Node's rule, wherever the file lives (a user's own package, a workspace package): `.js`/`.ts` follow "type". */
const isCommonJs = (file: string): boolean => {
  if (/\.(cjs|cts|node)$/.test(file)) return true
  if (!/\.(js|ts)$/.test(file)) return false
  return packageTypeOf(Path.dirname(file)).type !== "module"
}

/**
 * The `package.json` files that resolving and loading a module in `dir` may read (its `"type"`, its package's
 * `"imports"` and `"exports"`, a package's `"exports"` resolved into): every one from `dir` up to the package root
 * under a `node_modules`, or up to the file system's root; memoized by directory for one build.
 */
const packageJsons = (): (dir: string) => ReadonlyArray<string> => {
  const byDir = new Map<string, ReadonlyArray<string>>()
  const above = (dir: string): ReadonlyArray<string> => {
    let found = byDir.get(dir)
    if (found !== undefined) return found
    const json = Path.join(dir, "package.json")
    const here = Fs.existsSync(json) ? [json] : []
    const parent = Path.dirname(dir)
    found = parent === dir || Path.basename(parent) === "node_modules" ? here : [...here, ...above(parent)]
    byDir.set(dir, found)
    return found
  }
  return above
}

/** The inline function a relative specifier is resolved with, against `url`. */
const relativeTo = (url: string, otherwise: string): string =>
  `((s) => typeof s === "string" && /^\\.{1,2}\\//.test(s) ? new URL(s, ${JSON.stringify(url)}).href : ${otherwise})`

interface AstNode {
  readonly type: string
  readonly start: number
  readonly end: number
  readonly [key: string]: unknown
}
const isNode = (value: unknown): value is AstNode =>
  typeof value === "object" && value !== null && typeof (value as { type?: unknown }).type === "string"

const childrenOf = (node: AstNode): Array<AstNode> => {
  const children: Array<AstNode> = []
  for (const key in node) {
    const value = node[key]
    if (Array.isArray(value)) children.push(...value.filter(isNode))
    else if (isNode(value)) children.push(value)
  }
  return children
}

const isImportMeta = (node: unknown): boolean =>
  isNode(node) && node.type === "MetaProperty" && (node.meta as { name?: unknown }).name === "import"

/** The start of a specifier known at build time: a string literal's, a template's first part, a sum's left end. */
const prefixOf = (node: AstNode): string | undefined => {
  if (node.type === "Literal") return typeof node.value === "string" ? node.value : undefined
  if (node.type === "TemplateLiteral") {
    return ((node.quasis as ReadonlyArray<{ value: { cooked?: string } }>)[0]?.value.cooked) ?? undefined
  }
  if (node.type === "BinaryExpression" && node.operator === "+" && isNode(node.left)) return prefixOf(node.left)
  return undefined
}

/** Whether a specifier so begun cannot be a package's name (or `#import`): relative, absolute, or a URL. */
const notBare = (prefix: string | undefined): boolean =>
  prefix !== undefined && /^(\.{1,2}\/|\/|[a-z][a-z0-9+.-]*:)/i.test(prefix)

/** The `node_modules` directories Node looks in for a bare specifier from `dir`, those that exist. */
const modulePaths = (dir: string): Array<string> => {
  const paths: Array<string> = []
  for (let d = dir;; d = Path.dirname(d)) {
    const modules = Path.join(d, "node_modules")
    if (Path.basename(d) !== "node_modules" && Fs.existsSync(modules)) paths.push(modules)
    if (Path.dirname(d) === d) return paths
  }
}

/**
 * Whether a specifier that begins with `prefix` (`undefined`: nothing known) and may be a package's name resolves
 * from `file` as from the bundle's directory: the same `node_modules` to look in, and nothing of `file`'s own
 * package (which the bundle is not in) it may name: an `#import` of its `imports`, its own name where it has
 * `exports`. So `` import(`effect/${name}`) `` is safe in a package with either, `import(name)` is not.
 */
const resolvesAlike = (file: string, bundleDir: string): (prefix: string | undefined) => boolean => {
  if (modulePaths(Path.dirname(file)).join("\0") !== modulePaths(bundleDir).join("\0")) return () => false
  const { json } = packageTypeOf(Path.dirname(file))
  let pkg: { readonly imports?: unknown; readonly exports?: unknown; readonly name?: unknown } = {}
  if (json !== undefined && !/[\\/]node_modules[\\/]package\.json$/.test(json)) {
    try {
      pkg = JSON.parse(Fs.readFileSync(json, "utf8")) as typeof pkg
    } catch {
      // no readable package.json: no scope
    }
  }
  const imports = pkg.imports !== undefined
  const self = pkg.exports !== undefined && typeof pkg.name === "string" ? pkg.name : undefined
  return (prefix) => {
    if (prefix === undefined) return !imports && self === undefined
    if (imports && ("#".startsWith(prefix) || prefix.startsWith("#"))) return false
    return self === undefined || !(self.startsWith(prefix) || prefix === self || prefix.startsWith(`${self}/`))
  }
}

/** What `rewrite` needs to know of a module. */
interface Module {
  readonly file: string
  readonly isEntry: boolean
  /** Where the bundle will be: a package's name computed at run time must resolve from there as from `file`. */
  readonly bundleDir: string
}

/** Rewrites one module's `import.meta` and `import(expression)`; returns why it is unsafe, if it is. */
const rewrite = (ast: AstNode, s: MagicStringType, module: Module): string | undefined => {
  const { file, isEntry } = module
  const url = Url.pathToFileURL(file).href
  const handled = new Set<AstNode>()
  let unsafe: string | undefined
  let alike: ((prefix: string | undefined) => boolean) | undefined
  /**
   * A specifier only known at run time that may be a package's name: unsafe where the bundle resolves otherwise.
   * Judged in the user's modules only: a package's own (rolldown's `import.meta.resolve("#...")` in a worker entry
   * that imports this package's barrel) would start every such entry plain for a path its threads seldom take.
   */
  const bare = (source: AstNode | undefined): void => {
    if (/[\\/]node_modules[\\/]/.test(file)) return
    const prefix = source === undefined ? undefined : prefixOf(source)
    if (notBare(prefix)) return
    alike ??= resolvesAlike(file, module.bundleDir)
    if (!alike(prefix)) {
      unsafe ??= `${file} resolves a specifier at run time that ${module.bundleDir} would resolve otherwise`
    }
  }
  const resolveCalls = new Set<AstNode>()
  const visit = (node: AstNode): void => {
    if (node.type === "CallExpression" && isNode(node.callee) && node.callee.type === "MemberExpression") {
      const callee = node.callee
      if (isImportMeta(callee.object) && (callee.property as { name?: unknown }).name === "resolve") {
        resolveCalls.add(callee)
        bare((node.arguments as ReadonlyArray<unknown>).filter(isNode)[0])
      }
    }
    if (node.type === "MemberExpression" && isImportMeta(node.object) && node.computed !== true) {
      const name = (node.property as { name?: unknown }).name
      handled.add(node.object as AstNode)
      const value = name === "url"
        ? url
        : name === "filename"
        ? file
        : name === "dirname"
        ? Path.dirname(file)
        : undefined
      if (value !== undefined) s.overwrite(node.start, node.end, JSON.stringify(value))
      // a worker's entry is main (Node 24), its other modules are not; a Node without import.meta.main: undefined
      else if (name === "main") {
        s.overwrite(node.start, node.end, `(import.meta.main === undefined ? undefined : ${isEntry})`)
      } else if (name === "resolve") {
        if (!resolveCalls.has(node)) bare(undefined)
        s.overwrite(node.start, node.end, relativeTo(url, "import.meta.resolve(s)"))
      }
      return
    }
    if (isImportMeta(node) && !handled.has(node)) {
      unsafe ??= `${file} uses import.meta as a whole`
      return
    }
    if (node.type === "ImportExpression" && isNode(node.source)) {
      const source = node.source
      const literal = source.type === "Literal" ||
        (source.type === "TemplateLiteral" && (source.expressions as ReadonlyArray<unknown>).length === 0)
      if (!literal) {
        bare(source)
        s.appendLeft(source.start, `${relativeTo(url, "s")}(`)
        s.prependRight(source.end, ")")
      }
    }
    for (const child of childrenOf(node)) visit(child)
  }
  visit(ast)
  return unsafe
}

const langOf = (file: string): "js" | "jsx" | "ts" | "tsx" =>
  /\.[cm]?tsx$/.test(file) ? "tsx" : /\.[cm]?ts$/.test(file) ? "ts" : file.endsWith(".jsx") ? "jsx" : "js"

/** `import(` or `import.meta` on a line that is not a comment's (effect's doc comments hold `import.meta.vitest`). */
const inCode = /^(?![ \t]*(?:\*|\/\/)).*?(?:\bimport\s*\(|\bimport\.meta\b)/m

/** The bundler's own packages: a thread never loads them, so a bundle imports them where they are, if ever. */
const bundlerPackage = /^(?:rolldown|@rolldown\/[^/]+)(?:\/|$)/

/** What the plugin learns: why the entry is unsafe, the files read, the packages' modules that run first. */
interface State {
  unsafe: string | undefined
  readonly inputs: Array<string>
  readonly first: Set<string>
}

/** The plugin: externals by absolute path, the rewrites, the list of inputs, the modules that run first. */
const plugin = (
  entry: string,
  bundleDir: string,
  state: State,
  rolldown: typeof import("rolldown"),
  parseAst: typeof import("rolldown/parseAst").parseAst
): Plugin => ({
  name: "effect-threads:worker-entry",
  resolveId: {
    filter: { id: /^[^.]|\.(c?[jt]s|node)$/ },
    async handler(source, importer, options) {
      if (importer === undefined) return null
      const resolved = await this.resolve(source, importer, { ...options, skipSelf: true })
      if (resolved === null || resolved.external !== false || !Path.isAbsolute(resolved.id)) return resolved
      // the bundler itself (reached through the `@effect-threads/node` barrel) never runs in a thread: left out
      if (bundlerPackage.test(source)) return { id: resolved.id, external: "absolute" }
      if (!isCommonJs(resolved.id)) return resolved
      const json = packageTypeOf(Path.dirname(resolved.id)).json
      if (json !== undefined) state.inputs.push(json)
      return { id: resolved.id, external: "absolute" }
    }
  },
  transform: {
    filter: { code: /import\s*\(|import\.meta/ },
    handler(code, id) {
      if (!Path.isAbsolute(id) || !inCode.test(code)) return null
      const ast = parseAst(code, { lang: langOf(id), sourceType: "module" }, id) as unknown as AstNode
      const s = new rolldown.RolldownMagicString(code)
      const unsafe = rewrite(ast, s, { file: id, isEntry: id === entry, bundleDir })
      state.unsafe ??= unsafe
      return s.hasChanged() ? { code: s } : null
    }
  },
  buildEnd() {
    for (const id of packagesFirst(entry, (id) => this.getModuleInfo(id))) state.first.add(id)
    const manifests = packageJsons()
    for (const id of this.getModuleIds()) {
      if (!Path.isAbsolute(id)) continue
      if (typeof this.getModuleInfo(id)?.code === "string") state.inputs.push(id)
      state.inputs.push(...manifests(Path.dirname(id)))
    }
  }
})

/** The length of the content hash in a bundle's file names (`bundleCache.ts` and `entries.ts` read names back). */
export const hashLength = 12

/**
 * Bundles `entry` (an absolute path) for a thread: ESM, platform node, in chunks. The packages' modules that run
 * before any of the user's (`packagesFirst`: usually all of them) make a chunk with no source map; the rest, the
 * user's modules among them, the entry's chunk, with a map of the user's sources only (and a chunk for a module the
 * user's code imports dynamically). With source maps on, Node measures the lines of every module that names a map
 * as it loads it, and reads the map the first time a stack trace names that module (effect's modules format stack
 * traces as they load): with the packages' code in a chunk that names none, a thread's start pays neither for it.
 * The modules run in the order they ran in one file: the first chunk is what ran first, and it imports nothing else;
 * where code splitting would move a module ahead of its turn (`runsInOrder`), the bundle is one file.
 *
 * `file` is where the entry's chunk will be written (its name is the bundle's stem; the maps' sources are made
 * absolute from its directory). Rejects when rolldown fails.
 */
export const build = async (
  entry: string,
  options: { readonly file: string; readonly conditions: ReadonlyArray<string> }
): Promise<Built> => {
  const [rolldown, { parseAst }] = await Promise.all([import("rolldown"), import("rolldown/parseAst")])
  packageTypes.clear() // a package.json may have changed since the last build
  const state: State = { unsafe: undefined, inputs: [], first: new Set() }
  const dir = Path.dirname(options.file)
  const bundle = await rolldown.rolldown({
    input: entry,
    platform: "node",
    logLevel: "silent",
    ...(options.conditions.length === 0 ? {} : {
      resolve: { conditionNames: ["import", "node", "default", ...options.conditions] }
    }),
    plugins: [plugin(entry, dir, state, rolldown, parseAst)]
  })
  try {
    const stem = Path.basename(options.file).replace(/\.mjs$/, "")
    const generate = (split: boolean) =>
      bundle.generate({
        dir,
        // every file named by its content: a chunk imports the others by these names (the entry's too)
        entryFileNames: `${stem}-[hash:${hashLength}].mjs`,
        chunkFileNames: `${stem}-[hash:${hashLength}].chunk.mjs`,
        format: "esm",
        sourcemap: "hidden",
        sourcemapExcludeSources: true,
        codeSplitting: split ? { groups: [{ name: "packages", test: (id) => state.first.has(id) }] } : false,
        keepNames: true,
        // doc comments dropped: a fifth of the bytes a thread reads and compiles (legal and annotation ones kept)
        comments: { legal: true, annotation: false, jsdoc: false }
      })
    let { output } = await generate(true)
    // A module shared with a chunk loaded later moves to a chunk of its own that the entry's imports first, ahead
    // of the user's modules that ran before it: then one file, in the order of a plain entry.
    if (!runsInOrder(output)) output = (await generate(false)).output
    const chunks: Array<Chunk> = []
    for (const chunk of output) {
      if (chunk.type !== "chunk") continue
      const map = chunk.map === null ? undefined : userOnly(
        { version: 3, sources: chunk.map.sources, names: chunk.map.names, mappings: chunk.map.mappings },
        dir
      )
      const made = { fileName: chunk.fileName, code: chunk.code, map: map?.sources.length ? map : undefined }
      if (chunk.isEntry) chunks.unshift(made)
      else chunks.push(made)
    }
    return { chunks, inputs: [...new Set(state.inputs)].sort(), unsafe: state.unsafe }
  } finally {
    await bundle.close()
  }
}
