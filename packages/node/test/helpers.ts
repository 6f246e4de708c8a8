/**
 * Helpers of the real-thread tests: waiting on a condition instead of sleeping, shared memory to see what a thread
 * did, and a platform that counts the threads it spawns and the ones that exited.
 */
import { ThreadPool } from "@effect-threads/core"
import * as NodeWorker from "@effect/platform-node/NodeWorker"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Worker from "effect/workers/Worker"
import * as WorkerThreads from "node:worker_threads"

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

/** Counts of the threads a {@link countingPlatform} spawned. */
export interface ThreadCounts {
  spawned: number
  online: number
  exited: number
  /** Calls of the platform's `Terminate` for a live thread. */
  terminated: number
}

/**
 * The Node platform of `NodeThreadPool.layerPlatform`, assembled here from `NodeWorker.layerPlatform` and
 * `Worker.layerSpawner`, with a spawn function that counts the threads it creates and their `online` and `exit`
 * events (the thread count for real, not the pool's own statistics), and the `Terminate` service of
 * `NodeThreadPool.layerPlatform`, counting its calls.
 */
export const countingPlatform = (
  entryFile: URL,
  workerOptions: WorkerThreads.WorkerOptions = {}
): {
  readonly counts: ThreadCounts
  readonly alive: () => number
  readonly layer: Layer.Layer<Worker.WorkerPlatform | Worker.Spawner>
} => {
  const counts: ThreadCounts = { spawned: 0, online: 0, exited: 0, terminated: 0 }
  const live = new Map<number, WorkerThreads.Worker>()
  const spawn = (id: number): WorkerThreads.Worker => {
    const worker = new WorkerThreads.Worker(entryFile, workerOptions)
    counts.spawned++
    live.set(id, worker)
    worker.once("online", () => void counts.online++)
    worker.once("exit", () => {
      counts.exited++
      live.delete(id)
    })
    return worker
  }
  const terminate = (id: number): Effect.Effect<void> =>
    Effect.suspend(() => {
      const worker = live.get(id)
      if (worker === undefined) return Effect.void
      counts.terminated++
      return Effect.asVoid(Effect.promise(() => worker.terminate()))
    })
  const layer = Layer.mergeAll(NodeWorker.layerPlatform, Worker.layerSpawner(spawn)).pipe(
    Layer.provideMerge(Layer.succeed(ThreadPool.Terminate)(terminate))
  )
  return { counts, alive: () => counts.spawned - counts.exited, layer }
}
