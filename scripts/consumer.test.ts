/**
 * The consumer test (`consumer-test.ts`), one test per install: the packed packages installed with plain npm
 * outside the workspace, beside the lowest effect their peer ranges allow and beside the registry's latest, then
 * type-checked (`skipLibCheck: false`) and run.
 */
import { beforeAll, describe, it } from "vitest"
import { checkInstall, installs } from "./consumer-test.ts"
import { type Packed, packPackages } from "./pack.ts"

const all = await installs()
let packed: Packed | undefined

beforeAll(async () => {
  packed = await packPackages(console.log)
}, 300_000)

describe("the packed packages, installed with npm in a project outside the workspace", () => {
  for (const install of all) {
    it(install.label, async () => {
      if (packed === undefined) throw new Error("the packages were not packed")
      await checkInstall(packed, install, console.log)
    }, 300_000)
  }
})
