/**
 * How a thread's bundle is cut into chunks (`bundle.ts`): the packages' modules that run before any of the user's
 * make a chunk of their own (`packagesFirst`), and a cut whose entry chunk would run a module ahead of its turn is
 * not used (`runsInOrder`: the bundle is then one file).
 *
 * @internal
 */
import * as Path from "node:path"

/** A module of a package: its real path is under `node_modules`. */
const inPackage = /[\\/]node_modules[\\/]/

/**
 * The modules that run before any of the user's: the longest run of packages' modules at the start of the order in
 * which the entry's static imports evaluate them (depth first, each after its imports). Such a run imports nothing
 * outside itself, so as a chunk of its own it runs first and whole, as it did.
 */
export const packagesFirst = (
  entry: string,
  // rolldown's module info has no `isExternal` (an external module's is a leaf: no imports)
  info: (id: string) => { readonly importedIds: ReadonlyArray<string>; readonly isExternal?: boolean } | null
): Set<string> => {
  const order: Array<string> = []
  const seen = new Set<string>()
  const visit = (id: string): void => {
    if (seen.has(id)) return
    seen.add(id)
    // a built-in (`node:fs`) runs nothing of the user's: it neither ends the run nor joins it; an external file
    // (a CommonJS module, imported where it is) does, as any module at its path
    if (!Path.isAbsolute(id)) return
    const module = info(id)
    if (module === null || module.isExternal === true) return
    for (const imported of module.importedIds) visit(imported)
    order.push(id)
  }
  visit(entry)
  const first = new Set<string>()
  for (const id of order) {
    if (!inPackage.test(id)) break
    first.add(id)
  }
  return first
}

/** A chunk as `runsInOrder` reads it (rolldown's output chunk). */
interface OutputChunkLike {
  readonly type: string
  readonly isEntry?: boolean | undefined
  readonly name?: string | undefined
  readonly fileName: string
  readonly imports?: ReadonlyArray<string> | undefined
  readonly moduleIds?: ReadonlyArray<string> | undefined
}

/**
 * Whether the chunks run the modules in the order of the entry as it is: the entry's chunk imports no chunk but
 * the packages' that run first (and rolldown's runtime helpers, which run nothing of the user's).
 */
export const runsInOrder = (output: ReadonlyArray<OutputChunkLike>): boolean => {
  const entry = output.find((chunk) => chunk.type === "chunk" && chunk.isEntry === true)
  if (entry === undefined) return false
  return (entry.imports ?? []).every((file) => {
    const chunk = output.find((other) => other.fileName === file)
    if (chunk === undefined) return true // an external module: imported where the source imports it
    return chunk.name === "packages" || (chunk.moduleIds ?? []).every((id) => id.startsWith("\0"))
  })
}
