/**
 * @since 0.1.0
 */
export * as BrowserThreadPool from "./BrowserThreadPool.ts"
/**
 * @since 0.1.0
 */
export * as BrowserThreadRunner from "./BrowserThreadRunner.ts"
