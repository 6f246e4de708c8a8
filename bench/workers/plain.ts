/**
 * The worker module of piscina and tinypool: the default export runs the tiny task, `fib` the CPU-bound one, `rows`
 * and `bytes` the cost curves' payloads (they answer how many rows or bytes arrived).
 */
export { fib } from "./fib.ts"

export default (n: number): number => n + 1

export const rows = (rows: ReadonlyArray<unknown>): number => rows.length

export const bytes = (bytes: Uint8Array): number => bytes.byteLength
