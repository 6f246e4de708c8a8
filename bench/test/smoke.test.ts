/**
 * CI runs `pnpm bench --smoke --curves` (tiny sizes, one sample) to prove that the benchmark runs: it exits 0, prints
 * the tables with a row for every pool, and writes the JSON layouts and the cost curves' SVGs. No figure is asserted:
 * a benchmark is no test.
 */
import { execFile } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, describe, expect, it } from "vitest"
import { poolNames } from "../pools/Pool.ts"

const run = fileURLToPath(new URL("../run.ts", import.meta.url))
const dir = mkdtempSync(join(tmpdir(), "effect-threads-bench-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const smoke = (out: string, curvesOut: string) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = execFile(
      process.execPath,
      [run, "--smoke", "--out", out, "--curves", "--curves-out", curvesOut],
      { timeout: 240_000, killSignal: "SIGKILL" },
      (_error, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr })
    )
  })

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

describe("pnpm bench --smoke", () => {
  it("exits 0, prints every pool's row and writes the JSON layouts and the SVGs", { timeout: 300_000 }, async () => {
    const out = join(dir, "smoke.json")
    const curvesOut = join(dir, "curves.json")
    const { code, stderr, stdout } = await smoke(out, curvesOut)
    expect(stderr).not.toMatch(/failure/)
    expect(code).toBe(0)
    for (const name of poolNames) {
      // One row in each table: figures, ratios, spread; then the curves': tiny tasks, memory, MB/s, tasks/s, threads.
      expect(stdout.match(new RegExp(`^\\| ${escape(name)} +\\|`, "gm"))?.length).toBe(3 + 5)
    }
    expect(stdout).toMatch(/^\| A \(pipelined\) >= 2\.0x poolifier /m)
    expect(stdout).toMatch(/^F \(/m)
    // H, the bulk calls: a row per contender, and their targets.
    for (const name of ["forEach", "mapStream", "raw (batched)"]) {
      expect(stdout).toMatch(new RegExp(`^\\| ${escape(name)} +\\|`, "m"))
    }
    expect(stdout).toMatch(/^\| forEach >= 0\.5x raw \(batched\) /m)
    // The runtime table: our two pools on Bun and on Deno, beside Node.
    for (const runtime of ["Node", "Bun", "Deno"]) {
      expect(stdout.match(new RegExp(`^\\| ${runtime} \\S+ +\\| +effect-threads( \\(pipelined\\))? \\|`, "gm"))?.length)
        .toBe(2)
    }
    const json: unknown = JSON.parse(readFileSync(out, "utf8"))
    expect(json).toMatchObject({ node: process.version, versions: {}, F: {} })
    expect((json as { runtimes: Array<unknown> }).runtimes).toHaveLength(4)
    const pools = (json as { pools: Record<string, unknown> }).pools
    expect(Object.keys(pools)).toEqual([...poolNames])
    for (const name of poolNames) {
      expect(Object.keys(pools[name] as object)).toEqual([
        "A_tasksPerSec",
        "B_p50us",
        "B_p99us",
        "C_speedup",
        "D_startMs",
        "E_rssMB"
      ])
    }
    const curves = JSON.parse(readFileSync(curvesOut, "utf8")) as Record<string, Record<string, Array<unknown>>>
    for (const curve of ["tiny", "payload", "threads"]) {
      expect(Object.keys(curves[curve]!)).toEqual([...poolNames])
    }
    expect(curves.payload!.raw).toHaveLength(9)
    for (const svg of ["curves-tiny.svg", "curves-payload.svg", "curves-threads.svg"]) {
      expect(readFileSync(join(dir, svg), "utf8")).toMatch(/^<svg /)
    }
  })
})
