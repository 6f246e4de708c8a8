/**
 * A README's code blocks, as files: each block's first line names its file (`// name.ts` in TypeScript and JSONC,
 * `<!-- name.html -->` in HTML, optionally followed by `: a note`). A block the test must not extract is marked by the
 * line `<!-- readme-test: skip -->` just before its fence (keep those few).
 *
 * The `ts` blocks of the guide's sections are the files of two platforms: those under the heading "Using it in the
 * browser" are the browser's, every other one is a Node file. The blocks of "Getting started" are whole projects
 * instead, as a newcomer writes them: their names start with the project's folder (`hello-node/tsconfig.json`), the
 * `sh` block that makes the folder (`mkdir hello-node`) says what is installed, and they share nothing with the guide.
 */
export interface Block {
  /** The file the block's first line names, e.g. `api.ts` or `hello-vite/src/page.ts`; undefined when it names none. */
  readonly name: string | undefined
  /** The fence's language: `ts`, `jsonc`, `html`, `sh`, ... */
  readonly lang: string
  readonly code: string
  /** The README line of the opening fence, 1-based. */
  readonly line: number
  /** The `## ` heading the block is under. */
  readonly section: string
  readonly platform: "node" | "browser"
  /** In "Getting started": the project's folder (the first part of the block's name, or of its `mkdir`). */
  readonly project: string | undefined
  readonly skipped: boolean
}

export const skipMarker = "<!-- readme-test: skip -->"
export const browserSection = "Using it in the browser"
export const gettingStartedSection = "Getting started"

const nameLine = /^(?:\/\/|<!--) ([\w./-]+\.(?:ts|json|html))(?::| -->|$)/

const projectOf = (lang: string, name: string | undefined, code: string): string | undefined => {
  if (name !== undefined) return name.includes("/") ? name.slice(0, name.indexOf("/")) : undefined
  return lang === "sh" ? /^mkdir ([\w.-]+)/m.exec(code)?.[1] : undefined
}

export const extractBlocks = (markdown: string): ReadonlyArray<Block> => {
  const lines = markdown.split("\n")
  const blocks: Array<Block> = []
  let section = ""
  let previous = ""
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? ""
    if (line.startsWith("## ")) section = line.slice(3).trim()
    const fence = /^```(\w+)\s*$/.exec(line)
    if (fence !== null) {
      const start = i
      const lang = fence[1] ?? ""
      const code: Array<string> = []
      for (i++; i < lines.length && !/^```\s*$/.test(lines[i] ?? ""); i++) code.push(lines[i] ?? "")
      const name = nameLine.exec(code[0] ?? "")?.[1]
      const text = code.join("\n") + "\n"
      blocks.push({
        name,
        lang,
        code: text,
        line: start + 1,
        section,
        platform: section === browserSection ? "browser" : "node",
        project: section === gettingStartedSection ? projectOf(lang, name, text) : undefined,
        skipped: previous === skipMarker
      })
    }
    if (line.trim() !== "") previous = line.trim()
  }
  return blocks
}

/** The guide's file blocks (`ts`, not in "Getting started", not skipped): every one must name its file. */
export const guideBlocks = (blocks: ReadonlyArray<Block>): ReadonlyArray<Block> =>
  blocks.filter((block) => block.lang === "ts" && block.section !== gettingStartedSection && !block.skipped)

/** The relative `.ts` modules a file imports (`from "./x.ts"`). */
export const relativeImports = (code: string): ReadonlyArray<string> =>
  Array.from(code.matchAll(/from "\.\/([\w./-]+\.ts)"/g), (match) => match[1] ?? "")

/** The packages a file imports (`from "effect/Effect"` is `effect`, `from "@scope/name/Module"` is `@scope/name`). */
export const packageImports = (code: string): ReadonlyArray<string> =>
  Array.from(
    code.matchAll(/from "([^".][^"]*)"/g),
    (match) => /^(@[^/]+\/[^/]+|[^/]+)/.exec(match[1] ?? "")?.[1] ?? ""
  ).filter((name) => !name.startsWith("node:"))

/**
 * The files of one platform: its own blocks, plus the Node blocks it imports and does not define (the browser
 * section reuses `api.ts` and `count-primes.ts` from the Node section), transitively.
 */
export const filesFor = (
  blocks: ReadonlyArray<Block>,
  platform: "node" | "browser"
): ReadonlyMap<string, string> => {
  const named = guideBlocks(blocks).filter((block) => block.name !== undefined)
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

/** A "Getting started" project: its files (paths inside its folder) and what its `sh` block installs. */
export interface Project {
  readonly files: ReadonlyMap<string, string>
  /** The packages of its `npm install` lines, dependencies and devDependencies alike. */
  readonly installed: ReadonlyArray<string>
  /** Its `sh` block: the commands that make the folder and install the packages. */
  readonly commands: string
}

export const projectFor = (blocks: ReadonlyArray<Block>, project: string): Project => {
  const own = blocks.filter((block) => block.project === project && !block.skipped)
  const commands = own.filter((block) => block.lang === "sh").map((block) => block.code).join("")
  const files = new Map(
    own.flatMap((block) => block.name === undefined ? [] : [[block.name.slice(project.length + 1), block.code]])
  )
  const installed = Array.from(commands.matchAll(/^npm install (.+)$/gm), (match) => match[1] ?? "")
    .flatMap((args) => args.split(/\s+/))
    .filter((arg) => arg !== "" && !arg.startsWith("-"))
  return { files, installed, commands }
}
