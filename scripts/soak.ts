/**
 * `pnpm soak`: the full soak of the Node pool (1,000,000 tiny tasks through two threads, in waves; nothing lost,
 * every result right, memory flat), then the full fault injection (10,000 tasks, 1,000 of which kill their
 * thread). It runs `packages/node/test/reliability/soak-main.ts` in a Node of its own with `--expose-gc`, so that
 * the memory is measured after a forced GC; arguments are passed on (`--waves N`, `--tasks-per-wave N`,
 * `--per-thread N`, `--only soak|faults`). The suite runs short versions of both (`packages/node/test/reliability`).
 */
import { spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"

const main = fileURLToPath(new URL("../packages/node/test/reliability/soak-main.ts", import.meta.url))
const result = spawnSync(process.execPath, ["--expose-gc", main, ...process.argv.slice(2)], { stdio: "inherit" })
if (result.error !== undefined) throw result.error
process.exit(result.status ?? 1)
