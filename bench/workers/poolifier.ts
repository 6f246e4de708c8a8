/**
 * The worker of poolifier: the first task function (`add`) is its default.
 */
import { ThreadWorker } from "poolifier"
import { fib } from "./fib.ts"

export default new ThreadWorker<number, number>({
  add: (n) => (n ?? 0) + 1,
  fib: (n) => fib(n ?? 0)
})
