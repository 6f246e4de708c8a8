/**
 * The conformance suite (`@effect-threads/conformance`, shared with the browser) on `worker_threads`:
 * `NodeThreadPool` and `NodeThreadRunner`, with the same tasks and a Node entry of their own.
 */
import { conformance, type CountedWorkers, type Entry } from "@effect-threads/conformance"
import { NodeThreadPool } from "../src/index.ts"
import { countingPlatform } from "./helpers.ts"

const entries: Record<Entry, URL> = {
  tasks: new URL("./fixtures/conformance-entry.ts", import.meta.url),
  throwsAtLoad: new URL(import.meta.resolve("@effect-threads/conformance/throws-at-load"))
}

/** `countingPlatform` assembles what `NodeThreadPool.layerPlatform` does, counting threads and their exits. */
const counted = (entry: Entry): CountedWorkers => {
  const platform = countingPlatform(entries[entry])
  return { layer: platform.layer, spawned: () => platform.counts.spawned, alive: platform.alive }
}

conformance({
  platform: "node (worker_threads)",
  layer: (options) => NodeThreadPool.layer({ ...options, entry: entries.tasks }),
  workers: counted
})
