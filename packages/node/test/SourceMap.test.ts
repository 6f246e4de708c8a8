/**
 * The bundle's source map cut down to the user's files (`internal/sourceMap.ts`): what Node parses when a bundled
 * thread loads, so it must stay small and still map the user's lines.
 */
import { assert, describe, it } from "@effect/vitest"
import { userOnly } from "../src/internal/sourceMap.ts"

describe("userOnly", () => {
  it("keeps the user's segments, marks where a package's begin, and makes the sources absolute", () => {
    const map = userOnly({
      version: 3,
      // from a cache in node_modules, a package's relative path does not name node_modules
      sources: ["../../../src/user.ts", "../../x/index.js"],
      names: [],
      // line 0: user.ts 0:0 at column 0, x 5:2 at column 10; line 1: x 6:0 at column 0, user.ts 1:0 at column 4
      mappings: "AAAA,UCKE;AACF,IDLA"
    }, "/work/app/node_modules/.cache/effect-threads")
    assert.deepStrictEqual(map.sources, ["file:///work/app/src/user.ts"])
    // line 0: user.ts 0:0 at 0, then nothing from column 10; line 1: user.ts 1:0 at column 4
    assert.strictEqual(map.mappings, "AAAA,U;IACA")
  })

  it("keeps names, renumbered, and leaves a map of user files only as it was", () => {
    const map = userOnly(
      { version: 3, sources: ["a.ts", "b.ts"], names: ["f", "g"], mappings: "AAAAA,ECAAC;AAAAD" },
      "/x"
    )
    assert.deepStrictEqual(map.sources, ["file:///x/a.ts", "file:///x/b.ts"])
    assert.deepStrictEqual(map.names, ["f", "g"])
    assert.strictEqual(map.mappings, "AAAAA,ECAAC;AAAAD")
  })
})
