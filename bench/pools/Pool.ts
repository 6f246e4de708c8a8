/**
 * What the benchmark needs from a pool: the workloads and a way to close it. Each pool module exports `make`, which
 * creates a started pool of two threads (or `threads`, for the cost curves).
 */

/** A row of the cost curves' object payloads (`bench/curves.ts`). */
export interface Row {
  readonly k: number
  readonly v: string
}

/** A started pool, driven by the benchmark. */
export interface Pool {
  /** Workload A: `count` tiny tasks (`i => i + 1`) submitted at once; resolves with the sum of their results. */
  readonly tiny: (count: number) => Promise<number>
  /** Workload B: `count` sequential round trips; resolves with each one's latency in microseconds. */
  readonly latency: (count: number) => Promise<Array<number>>
  /** Workload C: `count` tasks of `fib(n)` submitted at once. */
  readonly cpu: (count: number, n: number) => Promise<void>
  /** Cost curves: one task per payload of rows, submitted at once; resolves with the rows the threads counted. */
  readonly rows: (payloads: ReadonlyArray<ReadonlyArray<Row>>) => Promise<number>
  /**
   * Cost curves: one task per typed array, submitted at once, each copied or its buffer transferred; resolves with
   * the bytes the threads counted.
   */
  readonly bytes: (payloads: ReadonlyArray<Uint8Array<ArrayBuffer>>, transfer: boolean) => Promise<number>
  /** Closes the pool and ends its threads. */
  readonly close: () => Promise<void>
}

/** A pool module: `bench/pools/<name>.ts`. */
export interface PoolModule {
  /** A started pool of `threads` threads (minimum and maximum), 2 by default. */
  readonly make: (threads?: number) => Promise<Pool>
}

/** The pools compared, in the order of the table. */
export const poolNames = [
  "effect-threads",
  "effect-threads (pipelined)",
  "piscina",
  "tinypool",
  "poolifier",
  "raw"
] as const

export type PoolName = typeof poolNames[number]

/** The module that implements each pool. */
export const moduleOf: Record<PoolName, string> = {
  "effect-threads": "./ours.ts",
  "effect-threads (pipelined)": "./ours-pipelined.ts",
  piscina: "./piscina.ts",
  tinypool: "./tinypool.ts",
  poolifier: "./poolifier.ts",
  raw: "./raw.ts"
}

/** Loads a pool module; only that pool's library is imported. */
export const load = (name: PoolName): Promise<PoolModule> => import(moduleOf[name]) as Promise<PoolModule>

/** The input of task `i`, an array of `0 .. count - 1`. */
export const inputs = (count: number): Array<number> => Array.from({ length: count }, (_, i) => i)

/** The expected result of {@link Pool.tiny}: the sum of `i + 1` for `i < count`. */
export const tinySum = (count: number): number => (count * (count + 1)) / 2

/** A {@link Pool} over a promise-returning `run` (piscina, tinypool, poolifier, the raw dispatcher). */
export const fromPromises = (options: {
  readonly add: (n: number) => Promise<number>
  readonly fib: (n: number) => Promise<number>
  readonly rows: (rows: ReadonlyArray<Row>) => Promise<number>
  readonly bytes: (bytes: Uint8Array<ArrayBuffer>, transfer: boolean) => Promise<number>
  readonly close: () => Promise<void>
}): Pool => {
  const { add, fib } = options
  const sumOf = async (results: Promise<Array<number>>): Promise<number> => {
    let sum = 0
    for (const result of await results) sum += result
    return sum
  }
  return {
    tiny: async (count) => {
      const results = await Promise.all(inputs(count).map(add))
      let sum = 0
      for (const result of results) sum += result
      return sum
    },
    latency: async (count) => {
      const latencies: Array<number> = []
      for (let i = 0; i < count; i++) {
        const start = performance.now()
        await add(i)
        latencies.push((performance.now() - start) * 1000)
      }
      return latencies
    },
    cpu: async (count, n) => {
      await Promise.all(Array.from({ length: count }, () => fib(n)))
    },
    rows: (payloads) => sumOf(Promise.all(payloads.map(options.rows))),
    bytes: (payloads, transfer) => sumOf(Promise.all(payloads.map((bytes) => options.bytes(bytes, transfer)))),
    close: options.close
  }
}
