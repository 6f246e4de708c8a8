import { defineProject } from "vitest/config"

/** The example's end-to-end test: runs in Node, builds the page with Vite and drives Chromium with Playwright. */
export default defineProject({ test: { name: "example", include: ["test/**/*.test.ts"] } })
