/**
 * Small helpers over `node:child_process` and `node:net` for the example's processes: run a command to its end, and
 * find a free port. Every child is started in its own process group (`detached`), so a Ctrl-C in the terminal
 * reaches only `main.ts`, which then stops its children in order.
 */
import { Data, Effect } from "effect"
import * as ChildProcess from "node:child_process"
import * as Net from "node:net"

/** A command that could not run, or exited with an error. */
export class CommandFailed extends Data.TaggedError("CommandFailed")<{ readonly message: string }> {}

/** The last `limit` characters of a stream's output, for error messages. */
export const tail = (stream: NodeJS.ReadableStream, limit = 4000): { readonly text: () => string } => {
  let text = ""
  stream.on("data", (chunk: Buffer) => {
    text = (text + chunk.toString()).slice(-limit)
  })
  return { text: () => text }
}

/** Whom a command runs as, and where: `uid` and `gid` (root only: Node switches the user itself) and `cwd`. */
export interface RunAs {
  readonly uid?: number | undefined
  readonly gid?: number | undefined
  readonly cwd?: string | undefined
}

/**
 * Runs `file` with `args` to its end and gives its standard output. Not interruptible: the commands it runs
 * (`initdb`, `pg_ctl`) take a few seconds, and stopping them halfway would leave their files half written.
 */
export const run = (file: string, args: ReadonlyArray<string>, as: RunAs = {}): Effect.Effect<string, CommandFailed> =>
  Effect.uninterruptible(Effect.callback<string, CommandFailed>((resume) => {
    const child = ChildProcess.spawn(file, args, { ...as, detached: true, stdio: ["ignore", "pipe", "pipe"] })
    const out = tail(child.stdout)
    const err = tail(child.stderr)
    child.once("error", (error) => resume(Effect.fail(new CommandFailed({ message: `${file}: ${error.message}` }))))
    child.once("close", (code) =>
      resume(
        code === 0
          ? Effect.succeed(out.text())
          : Effect.fail(new CommandFailed({ message: `${file} ${args.join(" ")} exited with ${code}: ${err.text()}` }))
      ))
  }))

/** A TCP port on 127.0.0.1 nobody listens on now. */
export const freePort: Effect.Effect<number, CommandFailed> = Effect.callback((resume) => {
  const server = Net.createServer()
  server.once("error", (error) => resume(Effect.fail(new CommandFailed({ message: error.message }))))
  server.listen(0, "127.0.0.1", () => {
    const { port } = server.address() as Net.AddressInfo
    server.close(() => resume(Effect.succeed(port)))
  })
})
