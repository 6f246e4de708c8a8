/**
 * The README's "Getting started", followed as a newcomer does: each project (`hello-node`, `hello-vite`) is a
 * throwaway folder where plain npm installs what its `npm install` lines name (our packages as the packed tarballs a
 * user downloads, `scripts/pack.ts`; the others from the registry, at the workspace's versions), in a `package.json`
 * of `"type": "module"` (its `npm pkg set type=module`), and its blocks are written as files. Then, with the project's
 * own `tsconfig.json` and its own TypeScript (the user's settings, not the workspace's): the files type-check,
 * `node hello.ts` prints what the README says, and the Vite page, built by `vite build` and served by `vite`, shows
 * the same line in Chromium.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { chromium } from "playwright"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { findChromium, launchOptionsOf } from "../chromium.ts"
import { installPacked, type PackedProject, packPackages, readJson } from "../pack.ts"
import { extractBlocks, packageImports, projectFor, relativeImports } from "./blocks.ts"
import { root, run, serveFolder } from "./project.ts"

const readme = fs.readFileSync(path.join(root, "README.md"), "utf8")
const blocks = extractBlocks(readme)
/** The README's text with its line breaks as spaces, to find a sentence wherever its lines wrap. */
const prose = readme.replace(/\s+/g, " ")

/** What the README says both programs print (Node on its console, the page in `#result`). */
const printed = "fibonacci(30..33) = 832040, 1346269, 2178309, 3524578"

/** Our packages an install line may name, by their folder in `packages/`. */
const ours: Readonly<Record<string, string>> = {
  "@effect-threads/core": "core",
  "@effect-threads/node": "node",
  "@effect-threads/browser": "browser"
}

/** The registry packages an install line may name, and the workspace folder whose installed version is used. */
const registry: Readonly<Record<string, string>> = {
  effect: "node_modules/effect",
  typescript: "node_modules/typescript",
  "@types/node": "node_modules/@types/node",
  vite: "examples/browser/node_modules/vite"
}

const projects = { node: projectFor(blocks, "hello-node"), vite: projectFor(blocks, "hello-vite") }
const installed: { node?: PackedProject; vite?: PackedProject } = {}
const folder = (key: "node" | "vite"): string => installed[key]?.dir ?? "(not installed)"
const bin = (key: "node" | "vite", name: string): string => path.join(folder(key), "node_modules", ".bin", name)

beforeAll(async () => {
  const packed = await packPackages()
  for (const key of ["node", "vite"] as const) {
    const { files, installed: names } = projects[key]
    const project = await installPacked({
      packed,
      packages: names.flatMap((name) => ours[name] ?? []),
      dependencies: Object.fromEntries(
        names.flatMap((name) => {
          const from = registry[name]
          return from === undefined ? [] : [[name, String(readJson(path.join(root, from, "package.json"))["version"])]]
        })
      ),
      prefix: `effect-threads-hello-${key}-`
    })
    installed[key] = project
    for (const [name, code] of files) {
      fs.mkdirSync(path.dirname(path.join(project.dir, name)), { recursive: true })
      fs.writeFileSync(path.join(project.dir, name), code)
    }
  }
}, 600_000)

// Removing two projects' node_modules (TypeScript's and Vite's native binaries) takes seconds on a busy machine.
afterAll(() => {
  installed.node?.remove()
  installed.vite?.remove()
}, 120_000)

/** Opens `url` in Chromium and waits until `#result` shows the README's line; no page error, nothing missing. */
const pageShows = async (url: string): Promise<void> => {
  const browser = await chromium.launch(launchOptionsOf(findChromium()))
  try {
    const page = await browser.newPage()
    const problems: Array<string> = []
    page.on("pageerror", (error) => problems.push(`page error: ${error.message}`))
    // The browser asks for /favicon.ico, which the README's page does not have; anything else missing counts.
    page.on("response", (response) => {
      const { pathname } = new URL(response.url())
      if (response.status() >= 400 && pathname !== "/favicon.ico") problems.push(`${response.status()} ${pathname}`)
    })
    page.on("console", (message) => {
      const text = message.text()
      if (message.type() === "error" && !text.startsWith("Failed to load resource")) problems.push(`console: ${text}`)
    })
    await page.goto(url)
    // A locator waits across a reload (the dev server reloads once when it has optimized new dependencies).
    await page.locator("#result").filter({ hasText: "fibonacci" }).waitFor({ timeout: 60_000 })
    expect(await page.textContent("#result")).toBe(printed)
    expect(problems).toEqual([])
  } finally {
    await browser.close()
  }
}

/**
 * Runs `vite` in the project on a port the system picks (`--port 0`: no port chosen here that another process could
 * take before vite binds it) until it prints its address; the address, and the server's process.
 */
const viteDev = async (): Promise<{ readonly url: string; readonly child: ChildProcess }> => {
  const child = spawn(bin("vite", "vite"), ["--host", "127.0.0.1", "--port", "0"], {
    cwd: folder("vite"),
    env: { ...process.env, NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let output = ""
  const url = await new Promise<string>((resolve, reject) => {
    const seen = (chunk: Buffer) => {
      output += chunk.toString()
      const address = /http:\/\/127\.0\.0\.1:[1-9]\d*\//.exec(output)
      if (address !== null) resolve(address[0])
    }
    child.stdout?.on("data", seen)
    child.stderr?.on("data", seen)
    child.once("exit", (code) => reject(new Error(`vite exited with ${code} before serving:\n${output}`)))
  })
  return { url, child }
}

describe("README: Getting started", () => {
  for (const [key, project] of Object.entries(projects)) {
    it(`hello-${key}: its commands make an ES module project, and it imports only what they install`, () => {
      expect(project.commands).toContain(`mkdir hello-${key} && cd hello-${key}\n`)
      expect(project.commands).toContain("npm pkg set type=module\n")
      const unknown = project.installed.filter((name) => ours[name] === undefined && registry[name] === undefined)
      expect(unknown, "packages this test does not know").toEqual([])
      const code = Array.from(project.files.entries()).filter(([name]) => name.endsWith(".ts"))
      const imported = code.flatMap(([, source]) => packageImports(source))
      expect(imported.filter((name) => !project.installed.includes(name)), "imported, not installed").toEqual([])
      const missing = code.flatMap(([name, source]) =>
        relativeImports(source).map((file) => path.join(path.dirname(name), file)).filter((file) =>
          !project.files.has(file)
        )
      )
      expect(missing, "imported, defined by no block").toEqual([])
      expect(project.files.has("tsconfig.json")).toBe(true)
    })
  }

  it("hello-node type-checks with its own tsconfig.json and TypeScript", async () => {
    const { code, stdout, stderr } = await run(bin("node", "tsc"), ["-p", "."], folder("node"))
    expect(code, stdout + stderr).toBe(0)
  }, 60_000)

  it("node hello.ts runs on real threads and prints what the README says", async () => {
    expect(prose).toContain(`\`node hello.ts\` prints \`${printed}\``)
    const { code, stdout, stderr } = await run(process.execPath, ["hello.ts"], folder("node"))
    expect(code, stdout + stderr).toBe(0)
    expect(stdout).toBe(`${printed}\n`)
  }, 60_000)

  it("hello-vite type-checks with its own tsconfig.json, which must leave vite.config.ts out", async () => {
    const { code, stdout, stderr } = await run(bin("vite", "tsc"), ["-p", "."], folder("vite"))
    expect(code, stdout + stderr).toBe(0)
    // What the README warns of: vite.config.ts in the page's project fails in Vite's types (no @types/node here).
    fs.writeFileSync(
      path.join(folder("vite"), "tsconfig.with-config.json"),
      JSON.stringify({ extends: "./tsconfig.json", include: ["src", "vite.config.ts"] })
    )
    const withConfig = await run(bin("vite", "tsc"), ["-p", "tsconfig.with-config.json"], folder("vite"))
    fs.rmSync(path.join(folder("vite"), "tsconfig.with-config.json"))
    expect(withConfig.code).not.toBe(0)
    expect(withConfig.stdout).toContain("node_modules/vite/")
  }, 60_000)

  it("vite build builds the page, and in Chromium it shows what the README says", async () => {
    const built = await run(bin("vite", "vite"), ["build", "--logLevel", "warn"], folder("vite"))
    expect(built.code, built.stdout + built.stderr).toBe(0)
    const dist = path.join(folder("vite"), "dist")
    expect(fs.readdirSync(path.join(dist, "assets")).some((file) => /^worker-.*\.js$/.test(file))).toBe(true)
    const server = await serveFolder(dist)
    try {
      await pageShows(server.url)
    } finally {
      await server.close()
    }
  }, 90_000)

  it("vite serves the page, and in Chromium it shows what the README says", async () => {
    expect(prose).toContain(`the page shows \`${printed}\``)
    const { child, url } = await viteDev()
    try {
      await pageShows(url)
    } finally {
      const exited = new Promise((resolve) => child.once("exit", resolve))
      child.kill()
      await exited
    }
  }, 90_000)
})
