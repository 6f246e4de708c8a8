/**
 * Times dynamic imports one after the other in a fresh thread (`bench/start.ts`): `workerData` is the list of
 * specifiers; each time is what that import added to those before it. Posts the times in milliseconds.
 */
import { parentPort, workerData } from "node:worker_threads"

const specifiers = workerData as ReadonlyArray<string>
const times: Array<number> = []
for (const specifier of specifiers) {
  const start = performance.now()
  await import(specifier)
  times.push(performance.now() - start)
}
parentPort?.postMessage(times)
