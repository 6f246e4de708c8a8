/**
 * The README's `ts` code blocks, as files: each block's first line names its file (`// name.ts`, optionally followed
 * by `: a note`). A block the test must not extract is marked by the line `<!-- readme-test: skip -->` just before
 * its fence (keep those few). Blocks under the heading "Using it in the browser" are the browser's files, every
 * other block is a Node file.
 */
export interface Block {
  /** The file the block's first line names, e.g. `api.ts`; undefined when it names none. */
  readonly name: string | undefined
  readonly code: string
  /** The README line of the opening fence, 1-based. */
  readonly line: number
  /** The `## ` heading the block is under. */
  readonly section: string
  readonly platform: "node" | "browser"
  readonly skipped: boolean
}

export const skipMarker = "<!-- readme-test: skip -->"
export const browserSection = "Using it in the browser"

const nameLine = /^\/\/ ([\w.-]+\.ts)(?::|$)/

export const extractBlocks = (markdown: string): ReadonlyArray<Block> => {
  const lines = markdown.split("\n")
  const blocks: Array<Block> = []
  let section = ""
  let previous = ""
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? ""
    if (line.startsWith("## ")) section = line.slice(3).trim()
    if (/^```ts\s*$/.test(line)) {
      const start = i
      const code: Array<string> = []
      for (i++; i < lines.length && !/^```\s*$/.test(lines[i] ?? ""); i++) code.push(lines[i] ?? "")
      blocks.push({
        name: nameLine.exec(code[0] ?? "")?.[1],
        code: code.join("\n") + "\n",
        line: start + 1,
        section,
        platform: section === browserSection ? "browser" : "node",
        skipped: previous === skipMarker
      })
    }
    if (line.trim() !== "") previous = line.trim()
  }
  return blocks
}

/** The relative `.ts` modules a file imports (`from "./x.ts"`). */
export const relativeImports = (code: string): ReadonlyArray<string> =>
  Array.from(code.matchAll(/from "\.\/([\w.-]+\.ts)"/g), (match) => match[1] ?? "")

/**
 * The files of one platform: its own blocks, plus the Node blocks it imports and does not define (the browser
 * section reuses `api.ts` and `count-primes.ts` from the Node section), transitively.
 */
export const filesFor = (
  blocks: ReadonlyArray<Block>,
  platform: "node" | "browser"
): ReadonlyMap<string, string> => {
  const named = blocks.filter((block) => !block.skipped && block.name !== undefined)
  const files = new Map<string, string>()
  for (const block of named) if (block.platform === platform) files.set(block.name ?? "", block.code)
  const shared = new Map(named.filter((block) => block.platform === "node").map((block) => [block.name, block.code]))
  const wanted = Array.from(files.values()).flatMap(relativeImports)
  while (wanted.length > 0) {
    const name = wanted.pop() ?? ""
    const code = shared.get(name)
    if (files.has(name) || code === undefined) continue
    files.set(name, code)
    wanted.push(...relativeImports(code))
  }
  return files
}
