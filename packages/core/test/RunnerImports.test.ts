/**
 * The thread side stays small (issue 20): what `ThreadRunner` loads at run time, followed import by import from its
 * source, never reaches the main thread's pool (`internal/pool/`, or `ThreadPool.ts`, which leads there). Every thread
 * pays for each module it loads when it starts, so a runner that reached the pool would start slower for nothing.
 * The test prints what the runner loads, with the chain of imports that first reached each module.
 */
import { assert, describe, it } from "@effect/vitest"
import { reachable } from "./support/ImportWalk.ts"

/** Whether a module (relative to `src`) is the main thread's pool. */
const isPool = (file: string): boolean => file.startsWith("internal/pool/") || file === "ThreadPool.ts"

/** The modules `entry` loads that are the pool's, each as its chain of imports. */
const poolReached = (entry: string): Array<string> =>
  [...reachable(entry)].filter(([file]) => isPool(file)).map(([, chain]) => chain.join(" -> "))

describe("the thread side's imports", () => {
  it("ThreadRunner reaches none of the pool's modules", () => {
    const graph = reachable("ThreadRunner.ts")
    console.info(
      `ThreadRunner.ts loads ${graph.size} modules of core:\n` +
        [...graph.values()].map((chain) => `  ${chain.at(-1)}  (${chain.join(" -> ")})`).join("\n")
    )
    // The walk is not vacuous: it reaches the runner's session and the wire.
    for (const file of ["internal/runner/session.ts", "internal/wire/protocol.ts"]) {
      assert.isTrue(graph.has(file), file)
    }
    assert.deepStrictEqual(poolReached("ThreadRunner.ts"), [])
  })

  it("the check sees the pool where it is: the public ThreadPool module reaches it", () => {
    const chains = poolReached("ThreadPool.ts")
    assert.isTrue(chains.some((chain) => chain.endsWith("internal/pool/section.ts")), chains.join("\n"))
  })
})
