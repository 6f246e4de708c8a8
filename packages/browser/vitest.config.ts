import { playwright } from "@vitest/browser-playwright"
import { defineProject } from "vitest/config"

/**
 * The browser project: tests run in real headless Chromium (Debian's `chromium`, or `CHROMIUM_PATH`), driven by
 * Playwright. A missing browser fails the run: Playwright cannot launch it, and vitest reports the error.
 */
export default defineProject({
  test: {
    name: "browser",
    include: ["test/**/*.browser.test.ts"],
    browser: {
      enabled: true,
      headless: true,
      screenshotFailures: false,
      instances: [{ browser: "chromium" }],
      provider: playwright({
        launchOptions: {
          executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
          args: [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync"
          ]
        }
      })
    }
  }
})
