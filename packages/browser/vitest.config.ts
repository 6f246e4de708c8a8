import { playwright } from "@vitest/browser-playwright"
import { defineProject } from "vitest/config"
import { findChromiumForConfig, launchOptionsOf } from "../../scripts/chromium.ts"

/**
 * The browser project: tests run in real headless Chromium driven by Playwright: `CHROMIUM_PATH`, else Debian's
 * `/usr/bin/chromium`, else the one the npm package `@sparticuz/chromium` ships (see `scripts/chromium.ts`). A
 * browser that cannot be found or launched fails this project's run, saying why; nothing is skipped, and the other
 * projects still run.
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
        launchOptions: launchOptionsOf(findChromiumForConfig())
      })
    }
  }
})
