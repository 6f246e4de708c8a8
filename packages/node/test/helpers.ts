/**
 * Helpers of the real-thread tests: waiting on a condition instead of sleeping, shared memory to see what a thread
 * did, and a platform that counts the threads it spawns and the ones that exited.
 */
import { ThreadPool } from "@effect-threads/core"
import { ThreadPlatform, type ThreadPlatformShape } from "@effect-threads/core/ThreadPlatform"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as WorkerThreads from "node:worker_threads"
import { NodeThreadPool } from "../src/index.ts"

/** The entry of the test threads: every task of `fixtures/api.ts`. */
export const entry = new URL("./fixtures/tasks.ts", import.meta.url)

/**
 * The options of every suite here: real threads on a loaded machine (two cores, other test runs beside) can take
 * seconds to spawn, so a test gets 30 s; each still fails sooner on its own conditions (see {@link waitUntil}).
 */
export const suiteOptions = { timeout: 30_000 }

/**
 * Polls `condition` every 5 ms until it holds; dies naming `what` after `attempts` polls (10 s or more by default).
 */
export const waitUntil = <E, R>(
  what: string,
  condition: Effect.Effect<boolean, E, R>,
  attempts = 2000
): Effect.Effect<void, E, R> =>
  Effect.gen(function*() {
    for (let i = 0; i < attempts; i++) {
      if (yield* condition) return
      yield* Effect.sleep("5 millis")
    }
    return yield* Effect.die(new Error(`timed out waiting until ${what}`))
  })

/** Waits until the pool has nothing busy, nothing backlogged and nothing in flight. */
export const waitIdle = (pool: ThreadPool.ThreadPoolShape): Effect.Effect<void> =>
  waitUntil(
    "the pool is idle",
    Effect.map(
      pool.statistics,
      (s) => s.busyWorkerCount === 0 && s.backloggedWorkCount === 0 && s.tasksInFlight === 0
    )
  )

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

/** Counts of the threads a {@link counting} platform spawned. */
export interface ThreadCounts {
  spawned: number
  /** Threads that posted their first batch (`[[READY]]`): their entry loaded and serves. */
  online: number
  /** Threads whose `onExit` came. */
  exited: number
  /** Calls of `terminate` for a live thread. */
  terminated: number
}

/**
 * Wraps any platform: counts the threads it spawns, the ones that came online (their first batch), the ones that
 * exited, and the `terminate` calls for a live thread (the thread count for real, not the pool's own statistics).
 */
export const counting = (
  platform: ThreadPlatformShape
): { readonly counts: ThreadCounts; readonly alive: () => number; readonly platform: ThreadPlatformShape } => {
  const counts: ThreadCounts = { spawned: 0, online: 0, exited: 0, terminated: 0 }
  const spawn: ThreadPlatformShape["spawn"] = (id, events) => {
    let online = false
    let exited = false
    const handle = platform.spawn(id, {
      onBatch: (batch) => {
        if (!online) {
          online = true
          counts.online++
        }
        events.onBatch(batch)
      },
      onExit: (exit) => {
        exited = true
        counts.exited++
        events.onExit(exit)
      }
    })
    counts.spawned++
    let terminated = false
    return {
      post: handle.post,
      terminate: () => {
        if (!exited && !terminated) counts.terminated++
        terminated = true
        handle.terminate()
      }
    }
  }
  return { counts, alive: () => counts.spawned - counts.exited, platform: { spawn } }
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
