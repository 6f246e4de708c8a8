/**
 * A bulk call's batch sizes (`internal/pool/sizer.ts`): one element until a batch has answered, then about 10 ms of
 * work a batch, at most a share of what is left near the end (but not dozens of tiny batches), or the size fixed.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Sizer from "../src/internal/pool/sizer.ts"

describe("Sizer", () => {
  it("sends one element a batch until one has answered", () => {
    const sizer = Sizer.make(2, undefined)
    assert.strictEqual(Sizer.next(sizer, 100_000), 1)
    assert.strictEqual(Sizer.next(sizer, 100_000), 1)
  })

  it("sizes batches to about the target time: thousands of tiny elements, one long one", () => {
    const tiny = Sizer.make(2, undefined)
    Sizer.observe(tiny, 1_000, 1) // 1 µs an element
    assert.strictEqual(Sizer.next(tiny, 1_000_000), Sizer.targetMillis * 1_000)
    const long = Sizer.make(2, undefined)
    Sizer.observe(long, 2, 11) // 5.5 ms an element
    assert.strictEqual(Sizer.next(long, 400), 1)
  })

  it("near the end, a share of what is left, not below a sixteenth of the target, never more than is left", () => {
    const sizer = Sizer.make(2, undefined)
    Sizer.observe(sizer, 1_000, 1)
    assert.strictEqual(Sizer.next(sizer, 8_000), 2_000)
    assert.strictEqual(Sizer.next(sizer, 1_000), (Sizer.targetMillis * 1_000) / 16)
    assert.strictEqual(Sizer.next(sizer, 10), 10)
  })

  it("a fixed size is kept, within what is left", () => {
    const sizer = Sizer.make(4, 7)
    assert.strictEqual(Sizer.next(sizer, 100), 7)
    assert.strictEqual(Sizer.next(sizer, 3), 3)
  })

  it("a batch may go ahead to a busy thread before anything is measured, then only if expected to run briefly", () => {
    const sizer = Sizer.make(2, undefined)
    assert.isTrue(Sizer.isShort(sizer, 1))
    Sizer.observe(sizer, 1_000, 1) // 1 µs an element
    assert.isTrue(Sizer.isShort(sizer, Sizer.aheadMillis * 1_000))
    assert.isFalse(Sizer.isShort(sizer, Sizer.aheadMillis * 1_000 + 1))
    assert.isFalse(Sizer.isShort(sizer, Sizer.next(sizer, 1_000_000)))
  })
})
