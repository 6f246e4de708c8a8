/**
 * A throwaway project for a README's files, outside the workspace: its `node_modules` links the workspace packages
 * the README imports, its `tsconfig.json` extends the workspace's options, and `run` runs a command in it.
 */
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { promisify } from "node:util"

export const root = path.resolve(import.meta.dirname, "..", "..")
export const tsc = path.join(root, "node_modules", ".bin", "tsc")

/** Runs a command (60 s at most); its exit code and output, never a thrown error. */
export const run = async (command: string, args: ReadonlyArray<string>, cwd: string) => {
  try {
    const { stdout, stderr } = await promisify(execFile)(command, args, { cwd, timeout: 60_000, encoding: "utf8" })
    return { code: 0, stdout, stderr }
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string; message: string }
    return { code: failed.code ?? 1, stdout: failed.stdout ?? "", stderr: `${failed.stderr ?? ""}\n${failed.message}` }
  }
}

/** A `tsconfig.json` for the `.ts` files of one folder: the workspace's options, type-check only. */
export const tsconfig = (compilerOptions: Record<string, unknown>): string =>
  JSON.stringify(
    {
      extends: path.join(root, "tsconfig.base.json"),
      compilerOptions: {
        composite: false,
        incremental: false,
        declaration: false,
        emitDeclarationOnly: false,
        noEmit: true,
        ...compilerOptions
      },
      include: ["*.ts"]
    },
    null,
    2
  ) + "\n"

/**
 * Makes the project in a new temporary folder: `node_modules` links each package name to its folder in the
 * workspace, and a `package.json` makes the files ES modules. Gives the folder.
 */
export const makeProject = (prefix: string, links: ReadonlyArray<readonly [string, string]>): string => {
  const temp = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  for (const [name, target] of links) {
    const link = path.join(temp, "node_modules", name)
    fs.mkdirSync(path.dirname(link), { recursive: true })
    fs.symlinkSync(fs.realpathSync(path.join(root, target)), link, "dir")
  }
  fs.writeFileSync(
    path.join(temp, "package.json"),
    JSON.stringify({ name: "readme-examples", private: true, type: "module" }, null, 2) + "\n"
  )
  return temp
}
