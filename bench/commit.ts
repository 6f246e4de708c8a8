/**
 * Which code a bench run measured, for its JSON: the repository's short HEAD, with `+uncommitted` when the packages
 * differ from it. Shared by `run.ts` and `curves.ts`.
 */
import { execFileSync } from "node:child_process"
import { fileURLToPath } from "node:url"

/** The commit measured, `<hash>` or `<hash>+uncommitted`; "unknown" outside a git checkout. */
export const commit = (): string => {
  try {
    const cwd = fileURLToPath(new URL("..", import.meta.url))
    const head = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd, encoding: "utf8" }).trim()
    const dirty = execFileSync("git", ["status", "--porcelain", "packages"], { cwd, encoding: "utf8" }).trim()
    return dirty === "" ? head : `${head}+uncommitted`
  } catch {
    return "unknown"
  }
}
