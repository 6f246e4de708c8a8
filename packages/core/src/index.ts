/**
 * @since 0.1.0
 */
export * as AlreadyQuit from "./AlreadyQuit.ts"
/**
 * @since 0.2.0
 */
export * as InProcessThreads from "./InProcessThreads.ts"
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
export * as PoolMetrics from "./PoolMetrics.ts"
/**
 * @since 0.1.0
 */
export * as Task from "./Task.ts"
/**
 * @since 0.4.0
 */
export * as TaskCodec from "./TaskCodec.ts"
/**
 * @since 0.1.0
 */
export * as Team from "./Team.ts"
/**
 * @since 0.1.0
 */
export * as TeamPool from "./TeamPool.ts"
/**
 * @since 0.1.0
 */
export * as ThreadError from "./ThreadError.ts"
/**
 * @since 0.2.0
 */
export * as ThreadPlatform from "./ThreadPlatform.ts"
/**
 * @since 0.1.0
 */
export * as ThreadPool from "./ThreadPool.ts"
/**
 * @since 0.2.0
 */
export * as ThreadPoolOptions from "./ThreadPoolOptions.ts"
/**
 * @since 0.1.0
 */
export * as ThreadRunner from "./ThreadRunner.ts"
/**
 * @since 0.1.0
 */
export * as ThreadWorker from "./ThreadWorker.ts"
/**
 * @since 0.1.0
 */
export * as Worker from "./Worker.ts"
