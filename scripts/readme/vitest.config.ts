import { defineProject } from "vitest/config"
import { productSide } from "../productSide.ts"

export default defineProject({ test: { name: "readme", include: ["*.test.ts"], ...productSide } })
