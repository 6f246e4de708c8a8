/**
 * The product does not depend on the port (issue 20): what `ThreadPool` loads at run time, followed import by import
 * from its source, never reaches the Twisted port's modules (`TeamPool`, `Team`, `LockWorker`, `ThreadWorker`). Type
 * imports (`import type`, `export type`) are erased and not followed; any other import loads its module.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Path from "node:path"
import { reachable, runtimeImports, src } from "./support/ImportWalk.ts"

const port = ["TeamPool.ts", "Team.ts", "LockWorker.ts", "ThreadWorker.ts"]

const portReached = (entry: string): Array<string> => {
  const graph = reachable(entry)
  return port.filter((file) => graph.has(file)).map((file) => graph.get(file)!.join(" -> "))
}

describe("import graph", () => {
  it("the walk follows value imports and re-exports, and skips type imports", () => {
    const direct = runtimeImports(Path.join(src, "TeamPool.ts")).map((file) => Path.relative(src, file)).sort()
    // Worker.ts is imported for its types only; InvalidLimit is re-exported from ThreadError.
    assert.deepStrictEqual(direct, [
      "LockWorker.ts",
      "Team.ts",
      "ThreadError.ts",
      "ThreadWorker.ts",
      "internal/limit.ts",
      "internal/pacer.ts"
    ])
    assert.includeMembers(portReached("TeamPool.ts").map((chain) => chain.split(" -> ").at(-1)), port)
  })

  it("the pool's internal entry (internal/pool/make.ts) reaches none of the port's modules", () => {
    const graph = reachable("internal/pool/make.ts")
    // The walk is not vacuous: it reaches the pool's machinery.
    for (
      const file of ["internal/pool/placing.ts", "internal/pool/section.ts", "internal/pacer.ts", "ThreadError.ts"]
    ) {
      assert.isTrue(graph.has(file), file)
    }
    assert.deepStrictEqual(portReached("internal/pool/make.ts"), [])
  })

  it("the public ThreadPool module reaches none of the port's modules", () => {
    assert.isTrue(reachable("ThreadPool.ts").has("internal/pool/make.ts"))
    assert.deepStrictEqual(portReached("ThreadPool.ts"), [])
  })
})
