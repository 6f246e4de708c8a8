/**
 * A throwaway project for a README's files, outside the workspace: its `node_modules` links the workspace packages
 * the README imports, its `tsconfig.json` extends the workspace's options, and `run` runs a command in it;
 * `serveFolder` serves a page built in it.
 */
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
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

const contentTypes: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml"
}

/** A static server for a folder (a built page) on 127.0.0.1 and a free port: its address, and how to close it. */
export const serveFolder = async (
  folder: string
): Promise<{ readonly url: string; readonly close: () => Promise<void> }> => {
  const server = http.createServer((request, response) => {
    const pathname = new URL(request.url ?? "/", "http://localhost").pathname
    const file = path.join(folder, pathname.endsWith("/") ? `${pathname}index.html` : pathname)
    if (!file.startsWith(folder) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      response.writeHead(404).end()
      return
    }
    response.writeHead(200, { "content-type": contentTypes[path.extname(file)] ?? "application/octet-stream" })
    fs.createReadStream(file).pipe(response)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve()))
  }
}
