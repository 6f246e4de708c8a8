/**
 * Consumer test: the packages as a user gets them, beside each effect version we support.
 *
 * For each install ({@link installs}: the lowest effect each package's peer range allows, and the registry's
 * `latest`, resolved now), `pack.ts` packs the packages (once) and installs the tarballs with plain npm into a
 * throwaway project outside the workspace, with `npm ls --all` clean. Then, in that project:
 *
 * 1. exactly one copy of `effect` is installed, and it is the version asked for;
 * 2. the README's Node files (`scripts/readme/blocks.ts`) and `consumer/types.ts` (plus `consumer/cluster-types.ts`
 *    where the cluster is installed) type-check against the packed `.d.ts` files with `skipLibCheck: false`, by
 *    TypeScript 7 (`strict`, otherwise tsc's defaults) and by TypeScript 5.9 (`strict`, `exactOptionalPropertyTypes`);
 * 3. "Getting started"'s Node project (`hello-node`) type-checks with its own `tsconfig.json` (TypeScript 7); the
 *    README's Node programs (each `node X.ts` the README says prints `...`) print what it says, on real threads;
 * 4. `consumer/program.mjs` (and `consumer/cluster.mjs`) run and print `consumer: ok` (`cluster: ok`).
 *
 * Run with `pnpm test:consumer` (all installs) or through vitest (`consumer.test.ts`, one test per install).
 * `KEEP_CONSUMER=1` keeps the projects. npm's settings come from where the user's npm takes them (its global and
 * user npmrc, `NPM_CONFIG_*`).
 */
import * as fs from "node:fs"
import * as path from "node:path"
import {
  installPacked,
  latestOf,
  lowestOf,
  type Packed,
  packPackages,
  publishedPackages,
  readJson,
  root,
  run,
  StepFailed
} from "./pack.ts"
import { extractBlocks, filesFor, projectFor } from "./readme/blocks.ts"

const fixtures = path.join(import.meta.dirname, "consumer")
const readme = fs.readFileSync(path.join(root, "README.md"), "utf8")
const rootDev = readJson(path.join(root, "package.json"))["devDependencies"] as Record<string, string>

/** One install: which tarballs, beside which registry packages. */
export interface Install {
  readonly label: string
  readonly packages: ReadonlyArray<string>
  readonly dependencies: Readonly<Record<string, string>>
}

const peersOf = (name: string): Readonly<Record<string, string>> =>
  (readJson(path.join(root, "packages", name, "package.json"))["peerDependencies"] ?? {}) as Record<string, string>

const newest = (versions: ReadonlyArray<string>): string =>
  versions.reduce((a, b) => {
    const [x, y] = [a, b].map((v) => v.split(".").map(Number))
    for (let i = 0; i < 3; i++) if ((x?.[i] ?? 0) !== (y?.[i] ?? 0)) return (x?.[i] ?? 0) > (y?.[i] ?? 0) ? a : b
    return a
  })

/**
 * The installs, from the packages' own peer ranges: the packages whose lowest effect is the lowest of all, at that
 * effect; every package (the cluster's peers too) at the lowest versions its ranges allow; every package at the
 * registry's `latest`. Two installs of the same versions are one.
 */
export const installs = async (): Promise<ReadonlyArray<Install>> => {
  const lowestEffect = new Map(publishedPackages.map((name) => [name, lowestOf(peersOf(name)["effect"] ?? "")]))
  const floor = Array.from(lowestEffect.values()).reduce((a, b) => newest([a, b]) === a ? b : a)
  const atFloor = publishedPackages.filter((name) => lowestEffect.get(name) === floor)
  const allPeers = new Map<string, Array<string>>()
  for (const name of publishedPackages) {
    for (const [peer, range] of Object.entries(peersOf(name))) allPeers.set(peer, [...allPeers.get(peer) ?? [], range])
  }
  const lowestAll = Object.fromEntries(
    Array.from(allPeers, ([peer, ranges]) => [peer, newest(ranges.map(lowestOf))])
  )
  const latest = Object.fromEntries(
    await Promise.all(Array.from(allPeers.keys(), async (peer) => [peer, await latestOf(peer)] as const))
  )
  const candidates: ReadonlyArray<Install> = [
    { label: `lowest effect (${floor}): ${atFloor.join(", ")}`, packages: atFloor, dependencies: { effect: floor } },
    { label: "lowest peers: every package", packages: publishedPackages, dependencies: lowestAll },
    { label: "latest peers: every package", packages: publishedPackages, dependencies: latest }
  ]
  const key = (install: Install) => JSON.stringify([install.packages, Object.entries(install.dependencies).sort()])
  const unique: Array<Install> = []
  for (const install of candidates) {
    const same = unique.findIndex((other) => key(other) === key(install))
    if (same === -1) unique.push(install)
    else unique[same] = { ...install, label: `${unique[same]?.label} = ${install.label}` }
  }
  return unique.map((install) => ({
    ...install,
    label: `${install.label} (${Object.entries(install.dependencies).map(([n, v]) => `${n}@${v}`).join(", ")})`
  }))
}

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

/** The README's Node programs and what it says each prints (`node main.ts` prints `...`). */
export const printedPrograms = (): ReadonlyArray<readonly [string, string]> =>
  Array.from(readme.matchAll(/`node ([\w-]+\.ts)` prints\s+`([^`]+)`/g), (m) => [m[1] ?? "", m[2] ?? ""] as const)

/** tsconfig.json of the type checks: `strict`, `skipLibCheck: false`, and what the files need to be read at all. */
const tsconfigFor = (files: ReadonlyArray<string>, extra: Record<string, unknown>): string =>
  JSON.stringify(
    {
      compilerOptions: {
        strict: true,
        skipLibCheck: false,
        module: "nodenext",
        noEmit: true,
        allowImportingTsExtensions: true,
        types: ["node"],
        ...extra
      },
      files
    },
    null,
    2
  ) + "\n"

/** The type checkers: the workspace's TypeScript 7 with tsc's defaults, and TypeScript 5.9 stricter. */
const typeCheckers: ReadonlyArray<
  { readonly name: string; readonly tsc: string; readonly extra: Record<string, unknown> }
> = [
  { name: "TypeScript 7", tsc: path.join(root, "node_modules", ".bin", "tsc"), extra: {} },
  {
    name: "TypeScript 5.9",
    tsc: path.join(root, "node_modules", "typescript-5", "bin", "tsc"),
    extra: { exactOptionalPropertyTypes: true }
  }
]

/** Installs one {@link Install} and runs the checks in it; throws {@link StepFailed} on the first that fails. */
export const checkInstall = async (packed: Packed, install: Install, log: (line: string) => void): Promise<void> => {
  const withCluster = install.packages.includes("cluster")
  const dependencies = { ...install.dependencies, "@types/node": String(rootDev["@types/node"]) }
  const project = await installPacked({ packed, packages: install.packages, dependencies })
  const dir = project.dir
  let passed = false
  try {
    log(`installed with ${project.npm.description} into ${dir}; npm ls --all is clean`)
    const copies = findEffectCopies(path.join(dir, "node_modules"))
    const version = copies.map((copy) => String(readJson(path.join(copy, "package.json"))["version"]))
    if (copies.length !== 1 || version[0] !== install.dependencies["effect"]) {
      throw new StepFailed(`expected one effect@${install.dependencies["effect"]}, found ${version.join(", ")}`)
    }

    const readmeFiles = filesFor(extractBlocks(readme), "node")
    for (const [name, code] of readmeFiles) fs.writeFileSync(path.join(dir, name), code)
    const own = ["types.ts", ...withCluster ? ["cluster-types.ts"] : []]
    for (const file of [...own, "api.mjs", "tasks.mjs", "program.mjs", "cluster.mjs"]) {
      fs.copyFileSync(path.join(fixtures, file), path.join(dir, file))
    }
    for (const checker of typeCheckers) {
      const tsconfig = path.join(dir, "tsconfig.json")
      fs.writeFileSync(tsconfig, tsconfigFor([...readmeFiles.keys(), ...own], checker.extra))
      const version = (await run(checker.tsc, ["--version"], { cwd: dir })).trim()
      await run(checker.tsc, ["-p", dir], { cwd: dir, timeoutMs: 180_000 })
      log(`${checker.name} (${version}): the README's Node files and ${own.join(", ")} type-check`)
    }

    // "Getting started"'s Node project, in a folder of its own, checked with its own tsconfig.json (the user's).
    const hello = projectFor(extractBlocks(readme), "hello-node")
    const helloDir = path.join(dir, "hello-node")
    for (const [name, code] of hello.files) {
      fs.mkdirSync(path.dirname(path.join(helloDir, name)), { recursive: true })
      fs.writeFileSync(path.join(helloDir, name), code)
    }
    // By TypeScript 7 only: TypeScript 5.9 (slow: ~10 s a program) checked the same declarations above.
    const [typescript7] = typeCheckers
    if (typescript7 !== undefined) {
      await run(typescript7.tsc, ["-p", helloDir], { cwd: helloDir, timeoutMs: 180_000 })
      log(`${typescript7.name}: Getting started's hello-node type-checks with its own tsconfig.json`)
    }

    for (const [program, printed] of printedPrograms()) {
      const cwd = readmeFiles.has(program) ? dir : hello.files.has(program) ? helloDir : undefined
      if (cwd === undefined) throw new StepFailed(`the README runs ${program}, which no block of it defines`)
      const output = await run(process.execPath, [program], { cwd, timeoutMs: 60_000 })
      if (output !== `${printed}\n`) throw new StepFailed(`node ${program} printed ${output}, not ${printed}`)
      log(`node ${program} prints ${printed}`)
    }
    for (const [program, ok] of [["program.mjs", "consumer: ok"], ["cluster.mjs", "cluster: ok"]] as const) {
      if (program === "cluster.mjs" && !withCluster) continue
      const output = await run(process.execPath, [program], { cwd: dir, timeoutMs: 60_000 })
      log(output.trimEnd().replace(/^/gm, "  | "))
      if (!output.split("\n").includes(ok)) throw new StepFailed(`${program} did not print \`${ok}\``)
    }
    passed = true
  } finally {
    if (passed) project.remove()
    else log(`kept ${dir}`)
  }
}

if (import.meta.main) {
  const started = performance.now()
  const log = (line: string) => console.log(`[consumer ${((performance.now() - started) / 1000).toFixed(1)}s] ${line}`)
  try {
    const packed = await packPackages(log)
    for (const install of await installs()) {
      log(install.label)
      await checkInstall(packed, install, log)
    }
    log(`consumer test passed on node ${process.version}`)
  } catch (error) {
    console.error(`[consumer] FAILED: ${error instanceof Error ? error.message : String(error)}`)
    if (!(error instanceof StepFailed)) console.error(error)
    process.exitCode = 1
  }
}
