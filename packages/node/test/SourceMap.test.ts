/**
 * The bundle's source map cut down to the user's files (`internal/sourceMap.ts`): every segment of the user's code,
 * none of the packages', so that a frame names the user's file, line and column and a package's code maps to nothing.
 */
import { assert, describe, it } from "@effect/vitest"
import { userOnly } from "../src/internal/sourceMap.ts"

describe("userOnly", () => {
  it("keeps the user's lines, marks where a package's lines begin, and makes the sources absolute", () => {
    const map = userOnly({
      version: 3,
      // from a cache in node_modules, a package's relative path does not name node_modules
      sources: ["../../../src/user.ts", "../../x/index.js"],
      names: [],
      // line 0: user.ts 0:0 at column 0, x 5:2 at column 10; line 1: x 6:0 at 0, user.ts 1:0 at 4; line 2: x 7:0
      mappings: "AAAA,UCKE;AACF,IDLA;ACCA"
    }, "/work/app/node_modules/.cache/effect-threads")
    assert.deepStrictEqual(map.sources, ["file:///work/app/src/user.ts"])
    // line 0: user.ts 0:0, nothing from column 10; line 1: user.ts 1:0 from column 4; line 2: nothing
    assert.strictEqual(map.mappings, "AAAA,U;IACA;A")
  })

  it("keeps every segment of the user's code on a line (a statement of many lines printed on one), drops names", () => {
    const map = userOnly(
      { version: 3, sources: ["a.ts", "b.ts"], names: ["f", "g"], mappings: "AAAAA,ECAAC;AAAAD" },
      "/x"
    )
    assert.deepStrictEqual(map.sources, ["file:///x/a.ts", "file:///x/b.ts"])
    assert.deepStrictEqual(map.names, [])
    assert.strictEqual(map.mappings, "AAAA,ECAA;AAAA")
  })
})
