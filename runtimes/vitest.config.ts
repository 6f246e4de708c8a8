import { defineProject } from "vitest/config"
import { productSide } from "../scripts/productSide.ts"

export default defineProject({ test: { name: "runtimes", include: ["test/**/*.test.ts"], ...productSide } })
