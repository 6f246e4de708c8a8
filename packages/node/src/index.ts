/**
 * @since 0.1.0
 */
export * as NodeThreadPool from "./NodeThreadPool.ts"
/**
 * @since 0.1.0
 */
export * as NodeThreadRunner from "./NodeThreadRunner.ts"
