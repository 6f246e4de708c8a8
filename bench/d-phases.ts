/**
 * Where D's time goes (create a pool of 2 threads, run one task, close it, in a fresh process):
 * `node bench/d-phases.ts [--samples N]`.
 *
 * Runs itself again in a fresh process per sample, effect-threads and piscina in turn, and marks, in ms since the
 * pool's creation began: for ours, each thread's spawn (the platform called; the cache's check and `new Worker`
 * done), its READY and its exit, the layer built (`start` waits for both threads' READY), the task's answer, the scope
 * closed; for piscina, the pool made, the answer, `destroy()` done. Also the import of the pool's modules before it
 * (not part of D). Prints the median of each mark.
 */
import { execFileSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import { flag, median } from "./lib.ts"

const args = process.argv.slice(2)
const child = flag(args, "--child")

/** One sample's marks, in ms since the pool's creation began; `import` is the modules' import before it. */
type Marks = Record<string, number>

const oursSample = async (): Promise<Marks> => {
  const began = performance.now()
  const [{ ThreadPlatform }, ThreadPool, NodeThreadPool, Effect, Layer, Scope, Exit, Context, { AddOne }] =
    await Promise
      .all([
        import("@effect-threads/core/ThreadPlatform"),
        import("@effect-threads/core/ThreadPool"),
        import("@effect-threads/node/NodeThreadPool"),
        import("effect/Effect"),
        import("effect/Layer"),
        import("effect/Scope"),
        import("effect/Exit"),
        import("effect/Context"),
        import("./workers/api.ts")
      ])
  const t0 = performance.now()
  const marks: Marks = { import: t0 - began }
  const mark = (name: string): void => {
    marks[name] ??= performance.now() - t0
  }
  const options = { entry: new URL("./workers/ours.ts", import.meta.url), minThreads: 2, maxThreads: 2 }
  const platform = Layer.effect(ThreadPlatform)(
    Effect.map(Effect.service(ThreadPlatform), (inner) =>
      ThreadPlatform.of({
        spawn: (id, events) => {
          mark(`thread ${id}: spawn called`)
          const handle = inner.spawn(id, {
            onBatch: (batch) => {
              mark(`thread ${id}: READY`)
              events.onBatch(batch)
            },
            onExit: (exit) => {
              mark(`thread ${id}: exit`)
              events.onExit(exit)
            }
          })
          mark(`thread ${id}: spawn returned`)
          return handle
        }
      }))
  ).pipe(Layer.provide(NodeThreadPool.layerPlatform(options)))
  const scope = Effect.runSync(Scope.make())
  const context = await Effect.runPromise(
    Layer.buildWithScope(ThreadPool.layer(options).pipe(Layer.provide(platform)), scope)
  )
  mark("layer built")
  await Effect.runPromise(Context.get(context, ThreadPool.ThreadPool).deferToThread(AddOne, 1))
  mark("answered")
  await Effect.runPromise(Scope.close(scope, Exit.void))
  mark("closed")
  return marks
}

const piscinaSample = async (): Promise<Marks> => {
  const began = performance.now()
  const { Piscina } = await import("piscina")
  const t0 = performance.now()
  const marks: Marks = { import: t0 - began }
  const pool = new Piscina<unknown, number>({
    filename: new URL("./workers/plain.ts", import.meta.url).href,
    minThreads: 2,
    maxThreads: 2
  })
  marks["pool made"] = performance.now() - t0
  await pool.run(1)
  marks["answered"] = performance.now() - t0
  await pool.destroy()
  marks["closed"] = performance.now() - t0
  return marks
}

if (child !== undefined) {
  const marks = child === "piscina" ? await piscinaSample() : await oursSample()
  process.stdout.write(`${JSON.stringify(marks)}\n`)
  process.exit(0)
}

const samples = Number(flag(args, "--samples") ?? 9)
const self = fileURLToPath(import.meta.url)
const runs: Record<string, Array<Marks>> = { "effect-threads": [], piscina: [] }
for (let i = 0; i < samples; i++) {
  for (const name of i % 2 === 0 ? ["effect-threads", "piscina"] : ["piscina", "effect-threads"]) {
    const line = execFileSync(process.execPath, [self, "--child", name === "piscina" ? "piscina" : "ours"], {
      encoding: "utf8"
    })
    runs[name]!.push(JSON.parse(line.trim().split("\n").at(-1)!) as Marks)
  }
}
for (const [name, marks] of Object.entries(runs)) {
  console.log(`\n${name} (median of ${samples} fresh processes, ms since the pool's creation began):`)
  const names = [...new Set(marks.flatMap((m) => Object.keys(m)))]
  const at = names.map((n) => [n, median(marks.map((m) => m[n] ?? NaN))] as const).toSorted((a, b) => a[1] - b[1])
  for (const [n, ms] of at) console.log(`  ${n.padEnd(28)} ${ms.toFixed(1).padStart(7)}`)
}
