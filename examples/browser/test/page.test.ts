/**
 * The example page, end to end: builds it with Vite, serves the build on 127.0.0.1, opens it in headless Chromium
 * (`CHROMIUM_PATH`, Debian's `chromium`, or the npm package's: see `scripts/chromium.ts`) with Playwright, presses
 * Start, waits for the job to finish, checks the numbers shown against a sieve computed here, and saves a screenshot
 * as `examples/browser/screenshots/page.png`.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Fs from "node:fs"
import type { AddressInfo } from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { chromium, type Page } from "playwright"
import { build, preview } from "vite"
import { findChromium, launchOptionsOf } from "../../../scripts/chromium.ts"

const root = Path.resolve(import.meta.dirname, "..")

/** The number of primes below `limit`, by the sieve of Eratosthenes: independent of the page's trial division. */
const sieveCount = (limit: number): number => {
  const composite = new Uint8Array(limit)
  let count = 0
  for (let n = 2; n < limit; n++) {
    if (composite[n] === 1) continue
    count++
    for (let m = n * n; m < limit; m += n) composite[m] = 1
  }
  return count
}

/** The page, built to a temporary directory and served by Vite's preview server on a free port. */
const servePage = Effect.acquireRelease(
  Effect.promise(async () => {
    const outDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-threads-example-"))
    await build({ root, logLevel: "warn", build: { outDir, emptyOutDir: true } })
    const server = await preview({ root, logLevel: "warn", build: { outDir }, preview: { host: "127.0.0.1", port: 0 } })
    const { port } = server.httpServer.address() as AddressInfo
    return { outDir, server, url: `http://127.0.0.1:${port}/` }
  }),
  ({ outDir, server }) =>
    Effect.promise(async () => {
      await server.close()
      Fs.rmSync(outDir, { recursive: true, force: true })
    })
)

/** The browser tests' Chromium (`scripts/chromium.ts`) with their flags; a missing browser fails the test. */
const launchChromium = Effect.acquireRelease(
  Effect.promise(() => chromium.launch(launchOptionsOf(findChromium()))),
  (browser) => Effect.promise(() => browser.close())
)

const text = (page: Page, selector: string): Effect.Effect<string> =>
  Effect.promise(async () => (await page.textContent(selector)) ?? "")

describe("the browser example", () => {
  it.live("counts the primes below 10,000,000 on the pool and shows the right numbers", () =>
    Effect.gen(function*() {
      const { url } = yield* servePage
      const browser = yield* launchChromium
      const page = yield* Effect.promise(() => browser.newPage({ viewport: { width: 960, height: 720 } }))
      const problems: Array<string> = []
      page.on("pageerror", (error) => problems.push(`page error: ${error.message}`))
      page.on("console", (message) => {
        if (message.type() === "error") problems.push(`console error: ${message.text()}`)
      })

      yield* Effect.promise(() => page.goto(url))
      yield* Effect.promise(() => page.waitForSelector("body[data-state=ready]"))
      assert.strictEqual(yield* Effect.promise(() => page.inputValue("#limit")), "10000000")
      yield* Effect.promise(() => page.click("#start"))
      yield* Effect.promise(() =>
        page.waitForSelector("body[data-state=done], body[data-state=failed]", { timeout: 90_000 })
      )
      const result = yield* text(page, "#result")
      assert.strictEqual(yield* Effect.promise(() => page.getAttribute("body", "data-state")), "done", result)

      // The count is right, and the numbers shown agree with it.
      const expected = sieveCount(10_000_000)
      assert.strictEqual(expected, 664_579)
      assert.strictEqual(Number(yield* Effect.promise(() => page.getAttribute("#result", "data-count"))), expected)
      assert.strictEqual(yield* text(page, "#primes"), "664,579")
      assert.include(result, "There are 664,579 primes below 10,000,000: 100 tasks on 2 workers")
      assert.strictEqual(yield* text(page, "#status"), "done")
      assert.strictEqual(yield* text(page, "#done"), "100")
      assert.strictEqual(yield* text(page, "#total"), "100")
      // The last statistics: both workers there, nothing busy, nothing waiting.
      assert.strictEqual(yield* text(page, "#workers"), "2")
      assert.strictEqual(yield* text(page, "#busy"), "0")
      assert.strictEqual(yield* text(page, "#idle"), "2")
      assert.strictEqual(yield* text(page, "#backlog"), "0")
      // The page rendered progress while the job was still running: its thread was not blocked.
      const renders = Number(yield* Effect.promise(() => page.getAttribute("body", "data-renders-while-running")))
      assert.isAtLeast(renders, 1)
      assert.deepStrictEqual(problems, [])

      // Each run's screenshot goes to screenshots/ (ignored by git); screenshot.png is a committed copy of one.
      yield* Effect.promise(() => page.screenshot({ path: Path.join(root, "screenshots", "page.png"), fullPage: true }))
    }), { timeout: 120_000 })
})
