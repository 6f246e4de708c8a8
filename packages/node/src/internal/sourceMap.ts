/**
 * A bundle's source map cut down to the user's own files: the mappings of modules under `node_modules` become
 * "no source", and every kept source becomes an absolute `file:` URL.
 *
 * With source maps enabled, Node measures the lines of a module that names a map as it loads it, and parses the map
 * the first time a stack trace names the module: about 20 ms for one file of effect's 150 modules with a full map.
 * So a bundle's packages that run first are a chunk that names no map (`bundle.ts`), and the chunk of the user's
 * code names a map of the user's files only. Stack frames inside a package then name the bundle's file and line,
 * frames in the user's code their `.ts` file and line.
 *
 * @internal
 */
import * as Path from "node:path"
import * as Url from "node:url"

/** The parts of a version 3 source map this module reads and writes. */
export interface RawSourceMap {
  readonly version: number
  readonly sources: ReadonlyArray<string | null>
  readonly names: ReadonlyArray<string>
  readonly mappings: string
  readonly file?: string | undefined
}

const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
const charValues = new Int8Array(128).fill(-1)
for (let i = 0; i < chars.length; i++) charValues[chars.charCodeAt(i)] = i

/** Decodes one line's segments: each an array of absolute-or-relative fields as written. */
const decodeLine = (line: string): Array<Array<number>> => {
  const segments: Array<Array<number>> = []
  let fields: Array<number> = []
  let value = 0
  let shift = 0
  for (let i = 0; i < line.length; i++) {
    const code = line.charCodeAt(i)
    if (code === 44) { // ","
      segments.push(fields)
      fields = []
      continue
    }
    const digit = code < 128 ? charValues[code]! : -1
    if (digit < 0) throw new Error(`invalid source map character at ${i}`)
    value += (digit & 31) << shift
    if (digit & 32) {
      shift += 5
    } else {
      fields.push(value & 1 ? -(value >>> 1) : value >>> 1)
      value = 0
      shift = 0
    }
  }
  if (fields.length > 0) segments.push(fields)
  return segments
}

const encodeValue = (n: number): string => {
  let value = n < 0 ? (-n << 1) | 1 : n << 1
  let out = ""
  do {
    let digit = value & 31
    value >>>= 5
    if (value > 0) digit |= 32
    out += chars[digit]
  } while (value > 0)
  return out
}

/** The map's sources as absolute `file:` URLs, resolved against the directory the map was written for. */
const absoluteSource = (source: string, mapDir: string): string =>
  /^[a-z][a-z0-9+.-]*:/i.test(source) ? source : Url.pathToFileURL(Path.resolve(mapDir, source)).href

/** Whether a source is the user's own (not a package under `node_modules`). */
export const isUserSource = (source: string): boolean => !/[\\/]node_modules[\\/]/.test(source)

/**
 * The map with only the user's sources: every segment of the user's code kept (its generated column, source, line and
 * column); where packages' code follows the user's, a segment with no source, so a position there maps to nothing
 * rather than to the user's code before it. Names are dropped (the bundle keeps them in the code).
 *
 * Every segment, not one a line: the bundler prints a statement of many lines (a `serve([...])` call, a pipe) on one
 * line, and one segment a line named the statement's first line for all of them. The chunk that names this map holds
 * the user's modules only, so its map stays small (the packages that run first are a chunk without one).
 */
export const userOnly = (map: RawSourceMap, mapDir: string): RawSourceMap => {
  // judged on the absolute path: from a cache inside node_modules, a package's relative path need not name it
  const absolute = map.sources.map((s) => s === null ? undefined : absoluteSource(s, mapDir))
  const keep = absolute.map((s) => s !== undefined && isUserSource(s))
  const newIndex = new Map<number, number>()
  const sources: Array<string> = []
  keep.forEach((k, i) => {
    if (!k) return
    newIndex.set(i, sources.length)
    sources.push(absolute[i]!)
  })
  // absolute state of the input, and of the output's last written fields
  let source = 0, line = 0, column = 0
  let outSource = 0, outLine = 0, outColumn = 0
  let mappedBefore = false
  const lines = map.mappings.split(";").map((text) => {
    const segments: Array<string> = []
    let generated = 0
    let outGenerated = 0
    for (const fields of decodeLine(text)) {
      generated += fields[0]!
      if (fields.length >= 4) {
        source += fields[1]!
        line += fields[2]!
        column += fields[3]!
      }
      if (fields.length < 4 || keep[source] !== true) {
        if (mappedBefore) segments.push(encodeValue(generated - outGenerated))
        if (mappedBefore) outGenerated = generated
        mappedBefore = false
        continue
      }
      const s = newIndex.get(source)!
      segments.push(
        encodeValue(generated - outGenerated) + encodeValue(s - outSource) + encodeValue(line - outLine) +
          encodeValue(column - outColumn)
      )
      outGenerated = generated
      outSource = s
      outLine = line
      outColumn = column
      mappedBefore = true
    }
    return segments.join(",")
  })
  return {
    version: 3,
    ...(map.file === undefined ? {} : { file: map.file }),
    sources,
    names: [],
    mappings: lines.join(";")
  }
}
