import type { TestProjectConfiguration } from "vitest/config"

/**
 * The test projects, one per package, plus `scripts` (the consumer test: packs the packages and runs them from a
 * throwaway npm project) and `scripts/readme` (the code blocks of the README and of the cluster's, type-checked and run). vitest 5 reads
 * projects only from `vitest.config.ts`, which imports this list.
 */
export default [
  "packages/core",
  "packages/node",
  "packages/cluster",
  "bench",
  "packages/browser",
  "examples/browser",
  "examples/cluster",
  "scripts",
  "scripts/readme",
  "runtimes"
] satisfies Array<TestProjectConfiguration>
