import { defineProject } from "vitest/config"

export default defineProject({ test: { name: "readme", include: ["*.test.ts"] } })
