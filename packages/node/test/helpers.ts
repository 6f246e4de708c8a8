/**
 * Helpers of the real-thread tests on Node: the entry, shared memory to see what a thread did, and a Node platform
 * that counts its threads. The helpers every platform's tests share (waiting on a condition, idleness, exits, the
 * counting decorator, the protocol's tags) are the kit's, `@effect-threads/conformance/kit`, re-exported here.
 */
import { counting, type ThreadCounts, waitUntil } from "@effect-threads/conformance/kit"
import { ThreadPlatform } from "@effect-threads/core/ThreadPlatform"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as WorkerThreads from "node:worker_threads"
import { NodeThreadPool } from "../src/index.ts"

export {
  counting,
  expectDefect,
  expectFailure,
  expectOnlyFailure,
  isIdle,
  isInterruptedOnly,
  onlyFailure,
  Protocol,
  type ThreadCounts,
  waitIdle,
  waitStatistics,
  waitUntil
} from "@effect-threads/conformance/kit"

/** The entry of the test threads: every task of `fixtures/api.ts`. */
export const entry = new URL("./fixtures/tasks.ts", import.meta.url)

/**
 * The options of every suite here: real threads on a loaded machine (two cores, other test runs beside) can take
 * seconds to spawn, so a test gets 30 s; each still fails sooner on its own conditions (see `waitUntil`).
 */
export const suiteOptions = { timeout: 30_000 }

/** Shared memory for the `Gate`, `Append` and `SpinSignal` tasks. */
export interface Signal {
  readonly buffer: SharedArrayBuffer
  readonly cells: Int32Array
  readonly get: (slot: number) => number
  readonly set: (slot: number, value: number) => void
}

export const makeSignal = (slots = 64): Signal => {
  const buffer = new SharedArrayBuffer(slots * Int32Array.BYTES_PER_ELEMENT)
  const cells = new Int32Array(buffer)
  return {
    buffer,
    cells,
    get: (slot) => Atomics.load(cells, slot),
    set: (slot, value) => void Atomics.store(cells, slot, value)
  }
}

/** The `Gate` task's slots. */
export const GateSlot = { started: 0, release: 1, interrupted: 2 } as const

/** Waits until `n` `Gate` tasks on `signal` have started in their threads. */
export const waitGatesStarted = (signal: Signal, n: number): Effect.Effect<void> =>
  waitUntil(`${n} gates started`, Effect.sync(() => signal.get(GateSlot.started) >= n))

/** Lets every `Gate` task on `signal` finish. */
export const openGates = (signal: Signal): Effect.Effect<void> => Effect.sync(() => signal.set(GateSlot.release, 1))

/** The entries of an `Append` log: the values and the thread each was appended on. */
export const readLog = (log: Signal): { readonly values: Array<number>; readonly threads: Array<number> } => {
  const count = log.get(0)
  const values: Array<number> = []
  const threads: Array<number> = []
  for (let i = 0; i < count; i++) {
    values.push(log.get(1 + 2 * i))
    threads.push(log.get(2 + 2 * i))
  }
  return { values, threads }
}

/** `NodeThreadPool.layerPlatform` on `entryFile`, {@link counting} its threads. */
export const countingPlatform = (
  entryFile: URL,
  workerOptions: Omit<WorkerThreads.WorkerOptions, "name"> = {}
): {
  readonly counts: ThreadCounts
  readonly alive: () => number
  readonly layer: Layer.Layer<ThreadPlatform>
} => {
  const node = Effect.runSync(
    Effect.provide(
      Effect.gen(function*() {
        return yield* ThreadPlatform
      }),
      NodeThreadPool.layerPlatform({ entry: entryFile, workerOptions })
    )
  )
  const counted = counting(node)
  return { counts: counted.counts, alive: counted.alive, layer: Layer.succeed(ThreadPlatform)(counted.platform) }
}
