import { defineProject } from "vitest/config"
import { productSide } from "./productSide.ts"

export default defineProject({ test: { name: "consumer", include: ["*.test.ts"], ...productSide } })
