/**
 * The worker module of piscina and tinypool: the default export runs the tiny task, `fib` the CPU-bound one.
 */
export { fib } from "./fib.ts"

export default (n: number): number => n + 1
