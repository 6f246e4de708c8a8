/**
 * The README's "Getting started", followed as a newcomer does: each project (`hello-node`, `hello-vite`) is written
 * into a throwaway folder from its blocks, with a `node_modules` that holds exactly the packages its `npm install`
 * lines name (the workspace's, linked) and a `package.json` of `"type": "module"` (its `npm pkg set type=module`).
 * Then, with the project's own `tsconfig.json` (the user's settings, not the workspace's): the files type-check,
 * `node hello.ts` prints what the README says, and the Vite page builds with `vite build` and, opened in Chromium,
 * shows the same line.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { chromium } from "playwright"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { chromiumArgs, findChromium } from "../chromium.ts"
import { extractBlocks, packageImports, type Project, projectFor, relativeImports } from "./blocks.ts"
import { makeProject, root, run, serveFolder, tsc } from "./project.ts"

const readme = fs.readFileSync(path.join(root, "README.md"), "utf8")
const blocks = extractBlocks(readme)
/** The README's text with its line breaks as spaces, to find a sentence wherever its lines wrap. */
const prose = readme.replace(/\s+/g, " ")

/** What the README says both programs print (Node on its console, the page in `#result`). */
const printed = "fibonacci(30..33) = 832040, 1346269, 2178309, 3524578"

/** The packages an install line may name, and the workspace folder the throwaway project links for each. */
const workspaceFolders: Readonly<Record<string, string>> = {
  "@effect-threads/core": "packages/core",
  "@effect-threads/node": "packages/node",
  "@effect-threads/browser": "packages/browser",
  effect: "node_modules/effect",
  typescript: "node_modules/typescript",
  "@types/node": "node_modules/@types/node",
  vite: "examples/browser/node_modules/vite"
}

const projects = { node: projectFor(blocks, "hello-node"), vite: projectFor(blocks, "hello-vite") }
const folders = { node: "", vite: "" }

const write = (project: Project, prefix: string): string => {
  const folder = makeProject(prefix, project.installed.map((name) => [name, workspaceFolders[name] ?? name] as const))
  for (const [name, code] of project.files) {
    fs.mkdirSync(path.dirname(path.join(folder, name)), { recursive: true })
    fs.writeFileSync(path.join(folder, name), code)
  }
  return folder
}

beforeAll(() => {
  folders.node = write(projects.node, "effect-threads-hello-node-")
  folders.vite = write(projects.vite, "effect-threads-hello-vite-")
})

afterAll(() => {
  for (const folder of Object.values(folders)) if (folder !== "") fs.rmSync(folder, { recursive: true, force: true })
})

describe("README: Getting started", () => {
  for (const [key, project] of Object.entries(projects)) {
    it(`hello-${key}: its commands make an ES module project, and it imports only what they install`, () => {
      expect(project.commands).toContain(`mkdir hello-${key} && cd hello-${key}\n`)
      expect(project.commands).toContain("npm pkg set type=module\n")
      expect(project.installed.filter((name) => workspaceFolders[name] === undefined), "unknown packages").toEqual([])
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

  it("hello-node type-checks with its own tsconfig.json", async () => {
    const { code, stdout, stderr } = await run(tsc, ["-p", "."], folders.node)
    expect(code, stdout + stderr).toBe(0)
  }, 60_000)

  it("node hello.ts runs on real threads and prints what the README says", async () => {
    expect(prose).toContain(`\`node hello.ts\` prints \`${printed}\``)
    const { code, stdout, stderr } = await run(process.execPath, ["hello.ts"], folders.node)
    expect(code, stdout + stderr).toBe(0)
    expect(stdout).toBe(`${printed}\n`)
  }, 60_000)

  it(
    "hello-vite type-checks with its own tsconfig.json, which holds the page's files and nothing of Node's",
    async () => {
      const { code, stdout, stderr } = await run(tsc, ["-p", "."], folders.vite)
      expect(code, stdout + stderr).toBe(0)
      // Here Vite's types find @types/node in the workspace; in a user's project they do not, and vite.config.ts in
      // the page's project gives about 40 errors: so the project must hold no Node-side file.
      const listed = await run(tsc, ["-p", ".", "--listFilesOnly"], folders.vite)
      const files = listed.stdout.split("\n").filter((line) => line !== "")
      expect(
        files.filter((file) => file.startsWith(folders.vite)).map((file) => path.relative(folders.vite, file)).sort()
      )
        .toEqual(["src/fibonacci.ts", "src/page.ts", "src/worker.ts"])
      expect(files.filter((file) => /@types[/+]node|vite\/dist\/node/.test(file))).toEqual([])
    },
    60_000
  )

  it("vite build builds the page, and in Chromium it shows what the README says", async () => {
    expect(prose).toContain(`the page shows \`${printed}\``)
    const vite = path.join(folders.vite, "node_modules", "vite", "bin", "vite.js")
    const built = await run(process.execPath, [vite, "build", "--logLevel", "warn"], folders.vite)
    expect(built.code, built.stdout + built.stderr).toBe(0)
    const dist = path.join(folders.vite, "dist")
    expect(fs.readdirSync(path.join(dist, "assets")).some((file) => /^worker-.*\.js$/.test(file))).toBe(true)

    const server = await serveFolder(dist)
    const found = findChromium()
    const browser = await chromium.launch({
      executablePath: found.executablePath,
      env: found.env,
      args: [...chromiumArgs]
    })
    try {
      const page = await browser.newPage()
      const problems: Array<string> = []
      page.on("pageerror", (error) => problems.push(`page error: ${error.message}`))
      // The browser asks for /favicon.ico, which the README's page does not have; anything else missing counts.
      page.on("response", (response) => {
        const url = new URL(response.url())
        if (response.status() >= 400 && url.pathname !== "/favicon.ico") problems.push(`${response.status()} ${url}`)
      })
      page.on("console", (message) => {
        const text = message.text()
        if (message.type() === "error" && !text.startsWith("Failed to load resource")) problems.push(`console: ${text}`)
      })
      await page.goto(server.url)
      await page.waitForFunction(`document.getElementById("result")?.textContent.startsWith("fibonacci")`)
      expect(await page.textContent("#result")).toBe(printed)
      expect(problems).toEqual([])
    } finally {
      await browser.close()
      await server.close()
    }
  }, 60_000)
})
