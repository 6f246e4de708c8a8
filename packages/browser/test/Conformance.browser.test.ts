/**
 * The conformance suite on Web Workers, in headless Chromium: `BrowserThreadPool` and `BrowserThreadRunner`.
 */
import { conformance, type CountedWorkers, type Entry } from "@effect-threads/conformance"
import { BrowserThreadPool } from "../src/index.ts"

// Each `new Worker(new URL(...))` is written out in full: that is the shape Vite bundles as a worker.
const spawners: Record<Entry, BrowserThreadPool.Spawn> = {
  tasks: () => new Worker(new URL("./fixtures/browser-entry.ts", import.meta.url), { type: "module" }),
  throwsAtLoad: () =>
    new Worker(new URL("@effect-threads/conformance/throws-at-load", import.meta.url), { type: "module" })
}

/** Wraps a spawn function: counts the workers it creates, and the ones terminated (each once). */
const counted = (entry: Entry): CountedWorkers => {
  let spawned = 0
  let terminated = 0
  const spawn: BrowserThreadPool.Spawn = (id) => {
    const worker = spawners[entry](id)
    spawned++
    const terminate = worker.terminate.bind(worker)
    let ended = false
    worker.terminate = () => {
      if (!ended) terminated++
      ended = true
      terminate()
    }
    return worker
  }
  return {
    layer: BrowserThreadPool.layerPlatform({ spawn }),
    spawned: () => spawned,
    alive: () => spawned - terminated
  }
}

conformance({
  platform: "chromium (Web Workers)",
  layer: (options) => BrowserThreadPool.layer({ ...options, spawn: spawners.tasks }),
  workers: counted
})
