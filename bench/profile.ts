/**
 * Where the main thread's time goes in workload A on effect-threads' pool: `node bench/profile.ts [--pipelined]
 * [--tasks N] [--runs N]`.
 *
 * It runs itself again as `node --cpu-prof` (one profile per thread, the main thread's is read), warms the pool up,
 * then runs A (`--tasks` tiny tasks submitted at once, `--runs` times) and prints the top functions of the main
 * thread by self time and by inclusive time, counting only the samples taken during the measured runs, and the
 * same time grouped by where the code lives (effect-threads, effect, node, GC).
 */
import { execFileSync } from "node:child_process"
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { isMainThread, threadId } from "node:worker_threads"
import { flag } from "./lib.ts"

const args = process.argv.slice(2)
const numberFlag = (name: string, fallback: number): number => Number(flag(args, name) ?? fallback)
const pipelined = args.includes("--pipelined")
const tasks = numberFlag("--tasks", 100_000)
const runs = numberFlag("--runs", 3)

/** The profiler's clock: microseconds of the monotonic clock that V8 stamps samples with. */
const nowUs = (): number => Number(process.hrtime.bigint() / 1000n)

// ---- the profiled process ----

const workload = async (): Promise<void> => {
  const { makeWith } = await import("./pools/ours.ts")
  const pool = await makeWith(pipelined ? 16 : 1)
  await pool.tiny(tasks / 5)
  await pool.tiny(tasks / 5)
  const from = nowUs()
  for (let i = 0; i < runs; i++) {
    const start = performance.now()
    await pool.tiny(tasks)
    console.error(`run ${i + 1}: ${Math.round(tasks / ((performance.now() - start) / 1000))} tasks/s`)
  }
  const to = nowUs()
  await pool.close()
  console.log(JSON.stringify({ from, to, threadId }))
}

// ---- reading the profile ----

interface CallFrame {
  readonly functionName: string
  readonly url: string
  readonly lineNumber: number
}
interface ProfileNode {
  readonly id: number
  readonly callFrame: CallFrame
  readonly children?: ReadonlyArray<number>
}
interface Profile {
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly startTime: number
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

const root = fileURLToPath(new URL("..", import.meta.url))

const where = (url: string): string => {
  const path = url.startsWith("file://") ? fileURLToPath(url) : url
  if (path === "") return ""
  if (path.startsWith("node:")) return path
  const effect = path.match(/node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?(effect|@effect\/[^/]+)\/(.*)$/)
  if (effect !== null) return `${effect[1]}/${effect[2]}`
  return path.startsWith(root) ? path.slice(root.length) : path
}

const keyOf = (frame: CallFrame): string =>
  `${frame.functionName === "" ? "(anonymous)" : frame.functionName} ${where(frame.url)}${
    frame.url === "" ? "" : `:${frame.lineNumber + 1}`
  }`

const areaOf = (frame: CallFrame): string => {
  const w = where(frame.url)
  if (frame.url === "") return frame.functionName.startsWith("(") ? frame.functionName : "native / V8 builtins"
  if (w.startsWith("packages/core/")) return "effect-threads core"
  if (w.startsWith("packages/node/")) return "effect-threads node"
  if (w.startsWith("effect/") || w.startsWith("@effect/")) return `effect (${w.split("/").slice(0, 3).join("/")})`
  if (w.startsWith("node:")) return "node internals"
  if (w.startsWith("bench/")) return "bench harness"
  return w
}

const analyse = (profile: Profile, from: number, to: number): string => {
  const byId = new Map<number, ProfileNode>()
  const parent = new Map<number, number>()
  for (const node of profile.nodes) {
    byId.set(node.id, node)
    for (const child of node.children ?? []) parent.set(child, node.id)
  }
  const self = new Map<string, number>()
  const inclusive = new Map<string, number>()
  const areas = new Map<string, number>()
  const add = (map: Map<string, number>, key: string, us: number) => map.set(key, (map.get(key) ?? 0) + us)
  let total = 0
  let time = profile.startTime
  for (let i = 0; i < profile.samples.length; i++) {
    time += profile.timeDeltas[i]!
    const us = profile.timeDeltas[i + 1] ?? 0
    if (time < from || time > to) continue
    const leaf = byId.get(profile.samples[i]!)!
    total += us
    add(self, keyOf(leaf.callFrame), us)
    add(areas, areaOf(leaf.callFrame), us)
    const seen = new Set<string>()
    for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
      const key = keyOf(byId.get(id)!.callFrame)
      if (key.startsWith("(root)") || seen.has(key)) continue
      seen.add(key)
      add(inclusive, key, us)
    }
  }
  const top = (map: Map<string, number>, n: number) =>
    [...map].toSorted((a, b) => b[1] - a[1]).slice(0, n).map(([key, us]) =>
      `${(us / 1000).toFixed(0).padStart(7)} ms ${((100 * us) / total).toFixed(1).padStart(5)}%  ${key}`
    ).join("\n")
  return [
    `main thread, ${(total / 1000).toFixed(0)} ms of samples during the measured runs`,
    "",
    "by area (self time):",
    top(areas, 15),
    "",
    "top functions by self time:",
    top(self, 30),
    "",
    "top functions by inclusive time:",
    top(inclusive, 40),
    "",
    "effect-threads' own functions by inclusive time:",
    top(new Map([...inclusive].filter(([key]) => key.includes(" packages/"))), 25)
  ].join("\n")
}

const main = (): void => {
  const dir = mkdtempSync(join(tmpdir(), "effect-threads-profile-"))
  try {
    const stdout = execFileSync(
      process.execPath,
      [
        "--cpu-prof",
        "--cpu-prof-dir",
        dir,
        "--cpu-prof-interval",
        "200",
        fileURLToPath(import.meta.url),
        "--child",
        ...args
      ],
      { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }
    )
    const { from, to, threadId: mainThreadId } = JSON.parse(stdout.trim().split("\n").at(-1)!) as {
      from: number
      to: number
      threadId: number
    }
    // Files are named CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile.
    const file = readdirSync(dir).find((name) => name.split(".")[4] === String(mainThreadId))
    if (file === undefined) throw new Error(`no profile of the main thread in ${dir}`)
    const profile = JSON.parse(readFileSync(join(dir, file), "utf8")) as Profile
    console.log(`effect-threads${pipelined ? " (pipelined)" : ""}, A: ${runs} x ${tasks} tiny tasks`)
    console.log(analyse(profile, from, to))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

if (args.includes("--child")) {
  if (!isMainThread) throw new Error("profile.ts runs on the main thread")
  await workload()
} else {
  main()
}
