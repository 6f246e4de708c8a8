/**
 * What the page side's platform does beyond the conformance suite: a worker whose script cannot load (an `error`
 * event without a message) fails the pool's start. (The platform alone: `BrowserThreadPlatform.browser.test.ts`.)
 */
import { ThreadError } from "@effect-threads/core"
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import { BrowserThreadPool } from "../src/index.ts"

describe("BrowserThreadPool", () => {
  it.live("a worker whose script is missing: the pool's layer fails with ThreadStartFailed, the worker terminated", () =>
    Effect.gen(function*() {
      let spawned = 0
      let terminated = 0
      // A URL Vite does not see at build time: the browser gets a 404 when the worker loads it.
      const missing = `${location.origin}/does-not-exist-${Math.random()}.js`
      const spawn: BrowserThreadPool.Spawn = () => {
        const worker = new Worker(missing, { type: "module" })
        spawned++
        const terminate = worker.terminate.bind(worker)
        worker.terminate = () => {
          terminated++
          terminate()
        }
        return worker
      }
      const exit = yield* Effect.exit(Effect.scoped(Layer.build(BrowserThreadPool.layer({ spawn, minThreads: 1 }))))
      assert.isTrue(Exit.isFailure(exit))
      const error = Cause.squash((exit as Exit.Failure<unknown, unknown>).cause)
      assert.instanceOf(error, ThreadError.ThreadStartFailed)
      assert.include((error as ThreadError.ThreadStartFailed).message, "failed to load")
      assert.strictEqual(spawned, 1)
      assert.isAtLeast(terminated, 1)
    }))
})
