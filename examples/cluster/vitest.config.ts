import { defineProject } from "vitest/config"

/** The example's end-to-end test: runs `main.ts` as a user would, without a terminal, and reads its output. */
export default defineProject({ test: { name: "example-cluster", include: ["test/**/*.test.ts"] } })
