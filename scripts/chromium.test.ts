/**
 * The browser tests' Chromium lookup (`chromium.ts`): Debian's first, `CHROMIUM_PATH` above it, and on a machine with
 * neither the headless Chromium of the npm package `@sparticuz/chromium`, which must really launch under Playwright
 * and run a module Web Worker (the lookup is pointed at a system path that does not exist, so this machine's
 * `/usr/bin/chromium` is passed over).
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { chromium } from "playwright"
import { describe, expect, it } from "vitest"
import { findChromium, findChromiumForConfig, launchOptionsOf } from "./chromium.ts"

const root = path.resolve(import.meta.dirname, "..")
const noSystem = { ...process.env, CHROMIUM_PATH: undefined, CHROMIUM_SYSTEM_PATH: "/nonexistent/chromium" }

describe("the browser tests' Chromium", () => {
  it("is the system's when it exists, CHROMIUM_PATH's when set, and a wrong CHROMIUM_PATH fails, saying so", () => {
    const stand = process.execPath // any file that exists stands for a system Chromium here
    expect(findChromium({ ...noSystem, CHROMIUM_SYSTEM_PATH: stand })).toMatchObject({
      executablePath: stand,
      source: "system"
    })
    expect(findChromium({ ...noSystem, CHROMIUM_PATH: stand })).toMatchObject({
      executablePath: stand,
      source: "CHROMIUM_PATH"
    })
    expect(() => findChromium({ ...noSystem, CHROMIUM_PATH: "/nonexistent/chrome" })).toThrow(
      "CHROMIUM_PATH names /nonexistent/chrome, which does not exist"
    )
    // A vitest config gets the reason as the path, for Playwright's launch error, instead of a throw that would stop
    // every project's run.
    expect(findChromiumForConfig({ ...noSystem, CHROMIUM_PATH: "/nonexistent/chrome" })).toMatchObject({
      executablePath: "(CHROMIUM_PATH names /nonexistent/chrome, which does not exist)",
      source: "none"
    })
  })

  it("without a system Chromium, is the npm package's, which launches and runs a module worker", async () => {
    const found = findChromium(noSystem)
    expect(found.source).toBe("@sparticuz/chromium")
    expect(found.executablePath.startsWith(path.join(root, "node_modules", ".cache"))).toBe(true)
    const packageJson = path.join(root, "packages", "browser", "node_modules", "@sparticuz", "chromium", "package.json")
    const { version } = JSON.parse(fs.readFileSync(packageJson, "utf8")) as { version: string }

    const browser = await chromium.launch(launchOptionsOf(found))
    try {
      // The package's Chromium (its major version is the package's), not the system's.
      expect(browser.version().split(".")[0]).toBe(version.split(".")[0])
      // A page and its module worker, served by Playwright (no server), on a real origin.
      const page = await browser.newPage()
      await page.route("http://chromium.test/**", (route) =>
        route.fulfill(
          route.request().url().endsWith("/worker.js")
            ? { contentType: "text/javascript", body: "self.onmessage = (event) => self.postMessage(event.data * 2)" }
            : { contentType: "text/html", body: "<!doctype html><title>worker</title>" }
        ))
      await page.goto("http://chromium.test/")
      // Run in the page (a string: this file is type-checked without the DOM's types).
      const answer: unknown = await page.evaluate(`new Promise((resolve, reject) => {
        const worker = new Worker("/worker.js", { type: "module" })
        worker.onmessage = (event) => resolve(event.data)
        worker.onerror = (event) => reject(new Error(event.message))
        worker.postMessage(21)
      })`)
      expect(answer).toBe(42)
    } finally {
      await browser.close()
    }
  }, 60_000)
})
