/**
 * An empty thread that speaks the runner's protocol and nothing more: says it is ready, answers `AddOne` requests,
 * ends on a close. The baseline of a thread's start (`bench/start.ts`): what `worker_threads` and the loader cost
 * before any module is imported.
 */
import { parentPort } from "node:worker_threads"

const port = parentPort
if (port === null) throw new Error("workers/empty.ts must run in a worker thread")
port.on("message", (batch: ReadonlyArray<ReadonlyArray<unknown>>) => {
  for (const message of batch) {
    // RUN: answer SUCCESS with the payload plus one; CLOSE: stop listening, the thread ends.
    if (message[0] === 0) port.postMessage([[0, message[1], 0, (message[3] as number) + 1]])
    else if (message[0] === 4) port.close()
  }
})
port.postMessage([[2]])
