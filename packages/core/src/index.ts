/**
 * @since 0.1.0
 */
export * as AlreadyQuit from "./AlreadyQuit.ts"
/**
 * @since 0.1.0
 */
export * as LockWorker from "./LockWorker.ts"
/**
 * @since 0.1.0
 */
export * as MemoryWorker from "./MemoryWorker.ts"
/**
 * @since 0.1.0
 */
export * as Worker from "./Worker.ts"
/**
 * @since 0.1.0
 */
export * as Team from "./Team.ts"
/**
 * @since 0.1.0
 */
export * as ThreadWorker from "./ThreadWorker.ts"
