/**
 * The packages as a user gets them: built, packed into tarballs, installed with plain npm into a throwaway project
 * outside the workspace. Shared by the consumer test (`consumer-test.ts`), the packed packages' checks
 * (`package.test.ts`) and any test that wants to run the installed packages (on another runtime, for instance).
 *
 * - {@link packPackages} builds the four published packages from clean `dist/` folders and `pnpm pack`s them, once
 *   per content: the tarballs are kept under `os.tmpdir()/effect-threads-packed/<hash of the sources>`, and a lock
 *   lets one process build while the others (parallel test files) wait for its tarballs. Tarballs of other
 *   sources are removed after an hour.
 * - {@link installPacked} makes a project under `os.tmpdir()` and installs the tarballs plus the given registry
 *   packages there with the machine's own npm (see {@link systemNpm}); `npm ls --all` must then exit 0.
 */
import { spawn, spawnSync } from "node:child_process"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Lockfile from "proper-lockfile"

/** The workspace's root folder. */
export const root: string = path.resolve(import.meta.dirname, "..")

/** The published packages (folder names under `packages/`), in dependency order. */
export const publishedPackages: ReadonlyArray<string> = ["core", "node", "browser", "cluster"]

/** A failed step: its message says what, the command's output was printed to stderr. */
export class StepFailed extends Error {}

/** A manifest, parsed. */
export const readJson = (file: string): Record<string, unknown> => JSON.parse(fs.readFileSync(file, "utf8"))

/**
 * Runs a command; its stdout. On a non-zero exit (or past `timeoutMs`, when the command is killed) the command and
 * its output are printed to stderr and {@link StepFailed} is thrown.
 */
export const run = (
  command: string,
  args: ReadonlyArray<string>,
  options: { readonly cwd: string; readonly env?: NodeJS.ProcessEnv | undefined; readonly timeoutMs?: number }
): Promise<string> =>
  new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: "pipe" })
    let stdout = ""
    let stderr = ""
    let timedOut = false
    const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => {
      timedOut = true
      child.kill("SIGKILL")
    }, options.timeoutMs)
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString()
    })
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    const fail = (reason: string) => {
      const shown = [command, ...args].join(" ")
      console.error(`$ ${shown}  (in ${options.cwd})\n${stdout}\n${stderr}`)
      reject(new StepFailed(`${timedOut ? `timed out after ${options.timeoutMs} ms` : reason}: ${shown}`))
    }
    child.on("error", (error) => {
      clearTimeout(timer)
      fail(error.message)
    })
    child.on("close", (code, signal) => {
      clearTimeout(timer)
      if (code === 0) resolve(stdout)
      else fail(`exit ${code}, signal ${signal}`)
    })
  })

/** How to call pnpm: the one running this process if any, else `pnpm` on PATH, else `npx -y pnpm@<packageManager>`. */
export const pnpm = (): readonly [string, ReadonlyArray<string>] => {
  const execPath = process.env["npm_execpath"]
  if (execPath !== undefined && path.basename(execPath).startsWith("pnpm") && fs.existsSync(execPath)) {
    return /\.[cm]?js$/.test(execPath) ? [process.execPath, [execPath]] : [execPath, []]
  }
  if (spawnSync("pnpm", ["--version"], { encoding: "utf8" }).status === 0) return ["pnpm", []]
  const version = String(readJson(path.join(root, "package.json"))["packageManager"]).replace(/^pnpm@/, "")
  return ["npx", ["-y", `pnpm@${version}`]]
}

/**
 * The environment without the settings that `pnpm run` (and `npx`) export (`npm_config_*`, `npm_package_*`, ...,
 * in lower case, and `pnpm_*`/`PNPM_*`). A user's own `NPM_CONFIG_*` (upper case) stays: the user's npm reads it too.
 */
export const cleanEnv = (): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith("npm_") && !/^pnpm_/i.test(key)) env[key] = value
  }
  return env
}

/** `PATH` without the `node_modules` entries that `pnpm run` puts first (the workspace's Node 24 among them). */
const pathOutsideNodeModules = (): string =>
  (process.env["PATH"] ?? "")
    .split(path.delimiter)
    .filter((dir) => dir !== "" && !dir.split(/[\\/]/).includes("node_modules"))
    .join(path.delimiter)

/** The npm a user's shell finds, with its environment and arguments, and a line that says which one it is. */
export interface Npm {
  readonly env: NodeJS.ProcessEnv
  readonly args: ReadonlyArray<string>
  readonly description: string
}

/**
 * The npm to install with: the user's own, as their shell would find it. Under `pnpm run`, `npm` on PATH runs on
 * the workspace's Node 24 (`node_modules/.bin/node`), and npm then reads its global npmrc from that Node's package
 * (which does not exist) instead of the machine's: a `cafile` or `registry` set there would be lost. So npm runs
 * with `PATH` minus the `node_modules` entries, which finds the machine's npm and the Node it runs on, and that
 * npm's global config is passed explicitly (`--globalconfig`). Network settings make an unreachable registry fail
 * in seconds with npm's own error, not after minutes of retries.
 */
export const systemNpm = (): Npm => {
  const ask = (env: NodeJS.ProcessEnv) => {
    const options = { cwd: os.tmpdir(), env, encoding: "utf8", timeout: 30_000 } as const
    const version = spawnSync("npm", ["--version"], options)
    const node = spawnSync("node", ["--version"], options)
    const globalconfig = spawnSync("npm", ["config", "get", "globalconfig"], options)
    if (version.status !== 0 || globalconfig.status !== 0) return undefined
    return { version: version.stdout.trim(), node: node.stdout.trim(), globalconfig: globalconfig.stdout.trim() }
  }
  const outside = { ...cleanEnv(), PATH: pathOutsideNodeModules() }
  const found = ask(outside)
  const env = found !== undefined ? outside : cleanEnv()
  const npm = found ?? ask(env)
  if (npm === undefined) throw new StepFailed("no working npm found on PATH")
  return {
    env,
    args: [
      `--globalconfig=${npm.globalconfig}`,
      "--fetch-retries=1",
      "--fetch-retry-mintimeout=1000",
      "--fetch-retry-maxtimeout=2000",
      "--fetch-timeout=30000"
    ],
    description: `npm ${npm.version} on node ${npm.node}${found === undefined ? " (from node_modules)" : ""}`
  }
}

/** What {@link packPackages} gives: the tarball of each published package, by package folder name. */
export interface Packed {
  readonly dir: string
  readonly tarballs: ReadonlyMap<string, string>
}

const packedRoot = path.join(os.tmpdir(), "effect-threads-packed")

/** Every file under a folder, relative, sorted. */
export const filesUnder = (dir: string): ReadonlyArray<string> =>
  fs.readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((file) => fs.statSync(path.join(dir, file)).isFile())
    .sort()

/** A hash of what goes into the tarballs: each package's manifest, tsconfigs and sources, and the root's. */
const sourcesHash = (): string => {
  const hash = createHash("sha256")
  const add = (file: string) => hash.update(`${path.relative(root, file)}\0`).update(fs.readFileSync(file))
  for (const file of ["package.json", "tsconfig.base.json", "pnpm-lock.yaml"]) add(path.join(root, file))
  for (const name of publishedPackages) {
    const dir = path.join(root, "packages", name)
    for (const file of fs.readdirSync(dir)) if (/\.(json|md)$/.test(file)) add(path.join(dir, file))
    for (const file of filesUnder(path.join(dir, "src"))) add(path.join(dir, "src", file))
  }
  return hash.digest("hex").slice(0, 16)
}

/**
 * Holds a lock on `target` (a folder) while `body` runs, with proper-lockfile: the holder keeps its lock fresh, so a
 * lock whose holder died or hangs is taken over once it is 30 s stale; a waiter checks again every 250 ms (the holder
 * is building, which takes seconds under load, a minute at worst), for 10 minutes at most.
 */
const withLock = async <A>(target: string, body: () => Promise<A>): Promise<A> => {
  fs.mkdirSync(target, { recursive: true })
  const release = await Lockfile.lock(target, {
    stale: 30_000,
    update: 5_000,
    realpath: false,
    retries: { retries: 2_400, factor: 1, minTimeout: 250, maxTimeout: 250 }
  })
  try {
    return await body()
  } finally {
    await release()
  }
}

/**
 * Builds the published packages from clean `dist/` folders and packs them with `pnpm pack` (so `publishConfig`,
 * `files` and the `workspace:^` rewriting apply), once per content of their sources: a second call, from this
 * process or another, gets the same tarballs.
 */
export const packPackages = (log: (line: string) => void = () => {}): Promise<Packed> => {
  const hash = sourcesHash()
  const dir = path.join(packedRoot, hash)
  // One lock per content: runs of other trees on the same machine (another checkout) neither wait nor get in the way.
  return withLock(path.join(packedRoot, `${hash}.build`), async () => {
    const tarballOf = (name: string) => {
      const manifest = readJson(path.join(root, "packages", name, "package.json"))
      const file = `${String(manifest["name"]).replace(/^@/, "").replace("/", "-")}-${String(manifest["version"])}.tgz`
      return [name, path.join(dir, file)] as const
    }
    const packed = { dir, tarballs: new Map(publishedPackages.map(tarballOf)) }
    if (fs.existsSync(path.join(dir, "done"))) {
      log(`packed tarballs of these sources found in ${dir}`)
      return packed
    }
    // Tarballs of other sources stay an hour: another process (a test run of an older tree) may still install them.
    for (const old of fs.readdirSync(packedRoot)) {
      const folder = path.join(packedRoot, old)
      if (old !== `${hash}.build` && !old.endsWith(".lock") && Date.now() - fs.statSync(folder).mtimeMs > 3_600_000) {
        fs.rmSync(folder, { recursive: true, force: true })
      }
    }
    const [command, prefix] = pnpm()
    for (const name of publishedPackages) {
      fs.rmSync(path.join(root, "packages", name, "dist"), { recursive: true, force: true })
    }
    const filters = publishedPackages.flatMap((name) => ["--filter", `./packages/${name}`])
    await run(command, [...prefix, ...filters, "run", "build"], { cwd: root, timeoutMs: 240_000 })
    fs.rmSync(dir, { recursive: true, force: true }) // what a holder that died half-way left
    fs.mkdirSync(dir, { recursive: true })
    for (const name of publishedPackages) {
      await run(command, [...prefix, "pack", "--pack-destination", dir], {
        cwd: path.join(root, "packages", name),
        timeoutMs: 60_000
      })
    }
    for (const [name, tarball] of packed.tarballs) {
      if (!fs.existsSync(tarball)) throw new StepFailed(`pnpm pack did not write ${tarball} for packages/${name}`)
    }
    fs.writeFileSync(path.join(dir, "done"), "")
    log(`built and packed ${publishedPackages.join(", ")} into ${dir}`)
    return packed
  })
}

/** A throwaway npm project holding the packed packages. */
export interface PackedProject {
  readonly dir: string
  readonly npm: Npm
  /** Removes the folder (unless `KEEP_CONSUMER` is set, when it says where it is). */
  readonly remove: () => void
}

/**
 * Installs the tarballs of `packages` (folder names) and the registry packages `dependencies` (name to version or
 * range) into a new project under `os.tmpdir()`, with the machine's npm and without `--legacy-peer-deps`, so that
 * npm's peer resolution is a user's; then `npm ls --all` must exit 0 (no invalid, missing or extraneous package).
 */
export const installPacked = async (options: {
  readonly packed: Packed
  readonly packages: ReadonlyArray<string>
  readonly dependencies: Readonly<Record<string, string>>
  readonly prefix?: string
}): Promise<PackedProject> => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), options.prefix ?? "effect-threads-consumer-"))
  fs.writeFileSync(
    path.join(dir, "package.json"),
    JSON.stringify({ name: "effect-threads-consumer", private: true, type: "module" }, null, 2) + "\n"
  )
  const npm = systemNpm()
  const tarballs = options.packages.map((name) => {
    const tarball = options.packed.tarballs.get(name)
    if (tarball === undefined) throw new StepFailed(`no tarball for packages/${name}`)
    return tarball
  })
  const specs = Object.entries(options.dependencies).map(([name, version]) => `${name}@${version}`)
  const npmOptions = { cwd: dir, env: npm.env }
  await run("npm", [...npm.args, "view", "--prefer-offline", specs[0] ?? "effect", "version"], {
    ...npmOptions,
    timeoutMs: 60_000
  })
  await run("npm", [
    ...npm.args,
    "install",
    "--no-audit",
    "--no-fund",
    "--no-update-notifier",
    "--prefer-offline",
    "--save-exact",
    "--loglevel=error",
    ...tarballs,
    ...specs
  ], { ...npmOptions, timeoutMs: 180_000 })
  await run("npm", [...npm.args, "ls", "--all"], { ...npmOptions, timeoutMs: 60_000 })
  return {
    dir,
    npm,
    remove: () => {
      if (process.env["KEEP_CONSUMER"] === undefined) fs.rmSync(dir, { recursive: true, force: true })
      else console.log(`kept ${dir}`)
    }
  }
}

/** The lowest version a peer range allows (`^4.1.0` and `>=4.1.0` give `4.1.0`). */
export const lowestOf = (range: string): string => {
  const match = /^(?:\^|~|>=)?\s*(\d+\.\d+\.\d+)$/.exec(range.trim())
  if (match?.[1] === undefined) throw new StepFailed(`cannot take the lowest version of the range ${range}`)
  return match[1]
}

/** The version the registry's `latest` tag names now. */
export const latestOf = async (name: string): Promise<string> => {
  const npm = systemNpm()
  const out = await run("npm", [...npm.args, "view", `${name}@latest`, "version"], {
    cwd: os.tmpdir(),
    env: npm.env,
    timeoutMs: 60_000
  })
  return out.trim()
}
