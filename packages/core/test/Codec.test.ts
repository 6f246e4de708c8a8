/**
 * The task codec (`internal/wire/codec.ts`): a value that does not match its schema, on any side and in any part of a
 * task (payload, success, failure, element), is the side's typed error with one path format and one message naming
 * the task, the part and the path; a result that could not be cloned, or a payload the thread could not decode,
 * crosses back as that error; a task's codec is made once, and a schema's parser once, whatever the tasks sharing it.
 */
import { Task, ThreadError } from "@effect-threads/core"
import { assert, describe, it } from "@effect/vitest"
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import * as Codec from "../src/internal/wire/codec.ts"
import * as Protocol from "../src/internal/wire/protocol.ts"

const Point = Task.make("Point", {
  success: Schema.Struct({ xs: Schema.Array(Schema.Number), "a key": Schema.optional(Schema.String) }),
  failure: Schema.String
})

const Strict = Task.make("Strict", {
  payload: Schema.Struct({
    n: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
    tags: Schema.Array(Schema.String),
    "a key": Schema.optional(Schema.Number)
  })
})

const Rows = Task.stream("Rows", { element: Schema.Struct({ id: Schema.Number }) })

/** The typed error of a failed exit. */
const errorOf = (exit: Exit.Exit<unknown, unknown>): unknown => {
  assert.isTrue(Exit.isFailure(exit))
  const reason = Exit.isFailure(exit) ? exit.cause.reasons[0] : undefined
  assert.strictEqual(reason?._tag, "Fail")
  return (reason as unknown as { readonly error: unknown }).error
}

const invalidPayloadOf = (exit: Exit.Exit<unknown, unknown>): ThreadError.InvalidPayload => {
  const error = errorOf(exit)
  assert.instanceOf(error, ThreadError.InvalidPayload)
  return error as ThreadError.InvalidPayload
}

const invalidResultOf = (exit: Exit.Exit<unknown, unknown>): ThreadError.InvalidResult => {
  const error = errorOf(exit)
  assert.instanceOf(error, ThreadError.InvalidResult)
  return error as ThreadError.InvalidResult
}

describe("Codec", () => {
  describe("one path format and one message, in every part", () => {
    const payloads: ReadonlyArray<readonly [string, unknown, string, string]> = [
      ["below its minimum", { n: -1, tags: [] }, "$.n", "Expected a value greater than or equal to 0"],
      ["a wrong element in an array", { n: 1, tags: ["a", 2] }, "$.tags[1]", "Expected string"],
      ["a missing field", { n: 1 }, "$.tags", "Missing key"],
      [
        "a key that is not an identifier",
        { n: 1, tags: [], "a key": "x" },
        "$[\"a key\"]",
        "Expected number | undefined"
      ],
      ["not an object at all", "x", "$", "Expected object"]
    ]
    for (const [name, payload, path, what] of payloads) {
      it(`a payload ${name}: InvalidPayload at ${path}, encoding and decoding alike`, () => {
        for (const exit of [Codec.of(Strict).encodePayload(payload), Codec.of(Strict).decodePayload(payload)]) {
          const error = invalidPayloadOf(exit)
          assert.strictEqual(error.task, "Strict")
          assert.strictEqual(error.path, path)
          assert.strictEqual(error.message, `the payload of Strict does not match its schema at ${path}: ${what}`)
        }
      })
    }

    it("a success, a failure, an element: InvalidResult, the same format", () => {
      const success = invalidResultOf(Codec.of(Point).encodeSuccess({ xs: [1, "2"] }))
      assert.strictEqual(success.path, "$.xs[1]")
      assert.strictEqual(success.message, "the success of Point does not match its schema at $.xs[1]: Expected number")
      const failure = invalidResultOf(Codec.of(Point).decodeFailure(42))
      assert.strictEqual(failure.path, "$")
      assert.strictEqual(failure.message, "the failure of Point does not match its schema at $: Expected string")
      const element = invalidResultOf(Codec.of(Rows).decodeElement({ id: "one" }))
      assert.strictEqual(element.path, "$.id")
      assert.strictEqual(element.message, "the element of Rows does not match its schema at $.id: Expected number")
    })

    it("a value that matches passes, encoded or decoded", () => {
      assert.deepStrictEqual(Codec.of(Strict).encodePayload({ n: 1, tags: ["a"] }), Exit.succeed({ n: 1, tags: ["a"] }))
      assert.deepStrictEqual(Codec.of(Rows).encodeElement({ id: 1 }), Exit.succeed({ id: 1 }))
      assert.deepStrictEqual(Codec.of(Point).decodeFailure("no"), Exit.succeed("no"))
    })
  })

  describe("made once", () => {
    it("a task's codec is made once: the same codec each time", () => {
      assert.strictEqual(Codec.of(Strict), Codec.of(Strict))
      assert.notStrictEqual(Codec.of(Strict), Codec.of(Point))
    })

    it("a schema's parsers are made once, whatever the tasks that share the schema", () => {
      const Shared = Schema.Struct({ a: Schema.Number })
      const One = Task.make("One", { payload: Shared, success: Shared })
      const Two = Task.make("Two", { payload: Shared })
      const encoder = Codec.encoder(One.payload)
      assert.strictEqual(Codec.encoder(One.success), encoder)
      assert.strictEqual(Codec.encoder(Two.payload), encoder)
      assert.strictEqual(Codec.decoder(Two.payload), Codec.decoder(One.success))
      assert.notStrictEqual(Codec.decoder(Shared), encoder)
      // Each task's codec, made once from those parsers, gives its own task's name.
      assert.strictEqual(invalidPayloadOf(Codec.of(One).encodePayload({})).task, "One")
      assert.strictEqual(invalidPayloadOf(Codec.of(Two).encodePayload({})).task, "Two")
    })
  })

  describe("outcomes", () => {
    it("encodes a success that does not match its schema as INVALID_RESULT with its path", () => {
      const outcome = Codec.encodeOutcome(Point, Exit.succeed({ xs: [1, "2"] }))
      assert.deepStrictEqual(outcome, [
        Protocol.INVALID_RESULT,
        "$.xs[1]",
        "the success of Point does not match its schema at $.xs[1]: Expected number"
      ])
    })

    it("encodes a failure that does not match its schema likewise", () => {
      const outcome = Codec.encodeOutcome(Point, Exit.fail(42))
      assert.deepStrictEqual(outcome.slice(0, 2), [Protocol.INVALID_RESULT, "$"])
      assert.include(outcome[2] as string, "the failure of Point does not match its schema")
    })

    it("a payload the thread could not decode crosses as INVALID_PAYLOAD, and is an InvalidPayload again", () => {
      const decoded = Codec.of(Strict).decodePayload({ n: 1, tags: [3] })
      assert.isTrue(Exit.isFailure(decoded))
      const outcome = Exit.isFailure(decoded) ? Codec.invalidOutcome(decoded) : [Protocol.INTERRUPTED] as const
      assert.deepStrictEqual(outcome.slice(0, 2), [Protocol.INVALID_PAYLOAD, "$.tags[0]"])
      const error = invalidPayloadOf(Codec.toExit(Strict, outcome))
      assert.strictEqual(error.path, "$.tags[0]")
      assert.strictEqual(error.message, "the payload of Strict does not match its schema at $.tags[0]: Expected string")
    })

    it("toExit: INVALID_RESULT is a typed InvalidResult naming the task and the path", () => {
      const error = invalidResultOf(Codec.toExit(Point, [Protocol.INVALID_RESULT, "$.f.g", "cannot be cloned"]))
      assert.strictEqual(error.task, "Point")
      assert.strictEqual(error.path, "$.f.g")
      assert.strictEqual(error.message, "cannot be cloned")
    })

    it("toExit: a success that does not decode is an InvalidResult with its path", () => {
      const error = invalidResultOf(Codec.toExit(Point, [Protocol.SUCCESS, { xs: [1], "a key": 3 }]))
      assert.strictEqual(error.path, "$[\"a key\"]")
    })

    it("toExit: success, failure, defect, interruption, not implemented", () => {
      assert.deepStrictEqual(Codec.toExit(Point, [Protocol.SUCCESS, { xs: [1] }]), Exit.succeed({ xs: [1] }))
      assert.deepStrictEqual(Codec.toExit(Point, [Protocol.FAILURE, "no"]), Exit.fail("no"))
      assert.isTrue(Exit.hasDies(Codec.toExit(Point, [Protocol.DEFECT, { name: "E", message: "m", stack: "" }])))
      assert.isTrue(Exit.hasInterrupts(Codec.toExit(Point, [Protocol.INTERRUPTED])))
      assert.instanceOf(errorOf(Codec.toExit(Point, [Protocol.NOT_IMPLEMENTED])), ThreadError.TaskNotImplemented)
    })

    it("a RESULT message's success is decoded in place; any other outcome as toExit", () => {
      assert.deepStrictEqual(
        Codec.resultToExit(Point, [Protocol.RESULT, 1, Protocol.SUCCESS, { xs: [2] }]),
        Exit.succeed({ xs: [2] })
      )
      assert.deepStrictEqual(Codec.resultToExit(Point, [Protocol.RESULT, 1, Protocol.FAILURE, "no"]), Exit.fail("no"))
    })
  })

  describe("values that cannot be cloned", () => {
    it("a payload checked before it is posted names where", () => {
      const error = invalidPayloadOf(Codec.encodePayloadChecked(Task.make("Any", { payload: Schema.Any }), {
        a: [1, () => 2]
      }))
      assert.strictEqual(error.path, "$.a[1]")
      assert.strictEqual(error.message, "the payload of Any holds a value at $.a[1] that cannot be sent to a thread")
    })

    it("the walk writes its path in the same format: odd keys, indexes", () => {
      const error = invalidPayloadOf(Codec.encodePayloadChecked(Task.make("Any", { payload: Schema.Any }), {
        "a key": [{ f: Symbol("s") }]
      }))
      assert.strictEqual(error.path, "$[\"a key\"][0].f")
      const walk = (payload: unknown) => Codec.unsendable("Any", payload, new Error("could not be cloned")).path
      assert.strictEqual(walk({ m: new Map([["k", () => 3]]) }), "$.m.get(k)")
      assert.strictEqual(walk({ m: new Map([[Symbol("k"), 3]]) }), "$.m.<key>")
      assert.strictEqual(walk({ s: new Set([1, { p: Promise.resolve(1) }]) }), "$.s.<item>.p")
      const cyclic: Record<string, unknown> = { a: 1 }
      cyclic["self"] = cyclic
      assert.strictEqual(walk(cyclic), "$")
    })

    it("a payload whose post failed is walked only then; to the main thread it says so", () => {
      const error = Codec.unsendable("Call", { f: Symbol("s") }, new Error("could not be cloned"), "the main thread")
      assert.strictEqual(error.path, "$.f")
      assert.include(error.message, "cannot be sent to the main thread")
      const unknown = Codec.unsendable("Call", { w: 1 }, new Error("could not be cloned"))
      assert.strictEqual(unknown.path, "$")
      assert.strictEqual(unknown.message, "the payload of Call cannot be sent to a thread: could not be cloned")
    })
  })
})
