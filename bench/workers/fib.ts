/**
 * The CPU-bound work of workload C: a naive Fibonacci, about 5 ms for `fib(29)` on the benchmark machine.
 */
export const fib = (n: number): number => n < 2 ? n : fib(n - 1) + fib(n - 2)
