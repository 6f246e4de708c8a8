import { defineProject } from "vitest/config"

export default defineProject({
  test: {
    name: "consumer",
    include: ["*.test.ts"]
  }
})
