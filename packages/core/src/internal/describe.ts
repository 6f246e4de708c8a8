/**
 * How a value of any kind reads in an error's message, without ever throwing: what a thread died of, what a task
 * died of, what a payload's getter threw. The value may be anything a program can throw: `null`, a symbol, a
 * string, an object whose `toString` or getters throw, a `Proxy` whose every trap throws, or what Node makes of an
 * error that is not an `Error` when it crosses threads (an object with no prototype whose only content is its
 * `util.inspect` text).
 *
 * @internal
 */

/** The longest description given; longer ones are cut, with `…`. */
const maxLength = 1000

/** Where Node's `util.inspect` looks for an object's own text (and where Node puts it on an error that crossed). */
const inspectSymbol = Symbol.for("nodejs.util.inspect.custom")

/** Runs `f`, or gives `undefined` if it throws. */
const attempt = <A>(f: () => A): A | undefined => {
  try {
    return f()
  } catch {
    return undefined
  }
}

/** A field of `o` when it is a string, read with every trap and getter guarded. */
const stringField = (o: object, key: string): string | undefined => {
  const value = attempt(() => (o as Record<string, unknown>)[key])
  return typeof value === "string" ? value : undefined
}

const cut = (text: string): string => text.length > maxLength ? `${text.slice(0, maxLength)}…` : text

/** What `o`'s own `util.inspect` hook says, if it has one that gives a string. */
const inspected = (o: object): string | undefined =>
  attempt(() => {
    const hook = (o as Record<symbol, unknown>)[inspectSymbol]
    if (typeof hook !== "function") return undefined
    const text: unknown = hook.call(o)
    return typeof text === "string" && text !== "" ? text : undefined
  })

/** An object: `name: message` when it has a message, else its inspect text, its JSON, its `toString`, its kind. */
const describeObject = (o: object): string => {
  const name = stringField(o, "name") ?? stringField(o, "_tag")
  const message = stringField(o, "message")
  if (message !== undefined && message !== "") return name === undefined ? message : `${name}: ${message}`
  const text = inspected(o)
  if (text !== undefined) return text
  const json = attempt(() => JSON.stringify(o))
  if (typeof json === "string" && json !== "{}") return name === undefined ? json : `${name} ${json}`
  const string = attempt(() => String(o))
  if (string !== undefined && string !== "[object Object]") return string
  if (name !== undefined) return name
  const kind = attempt(() => Object.prototype.toString.call(o))
  return kind === undefined ? "an object that cannot be read" : kind === "[object Object]" ? "an empty object" : kind
}

/** How `u` reads in a message. Never throws. */
export const describe = (u: unknown): string => {
  switch (typeof u) {
    case "string":
      return cut(u)
    case "undefined":
      return "undefined"
    case "symbol":
      return attempt(() => u.toString()) ?? "a symbol"
    case "function": {
      const name = stringField(u, "name")
      return name === undefined || name === "" ? "a function" : `the function ${name}`
    }
    case "object":
      return u === null ? "null" : cut(describeObject(u))
    default:
      return String(u)
  }
}

/**
 * Whether `u` can be kept as an error's `cause` and read later: not an object whose basic traps throw (a hostile
 * `Proxy`), which would throw wherever the error is printed or compared.
 */
export const isReadable = (u: unknown): boolean =>
  (typeof u !== "object" && typeof u !== "function") || u === null ||
  attempt(() => {
      Object.getPrototypeOf(u)
      Reflect.ownKeys(u)
      return true
    }) === true

/** The message of an error-like `u` (its `message` alone), else how `u` reads. Never throws. */
export const messageOf = (u: unknown): string => {
  if (typeof u === "object" && u !== null) {
    const message = stringField(u, "message")
    if (message !== undefined && message !== "") return cut(message)
  }
  return describe(u)
}
