// Runs inside a throwaway npm project (see ../consumer-test.ts) that installed the packed tarballs and effect.
// Grow it: import more of @effect-threads/core and @effect-threads/node, run something and check the result.
// It must print `consumer: ok` as its last step; throwing or a non-zero exit fails the consumer test.
import * as Core from "@effect-threads/core"
import { Effect } from "effect"
import { readdirSync } from "node:fs"
import { createRequire } from "node:module"
import { fileURLToPath } from "node:url"

const names = Object.keys(Core).sort()
console.log(`@effect-threads/core exports: ${names.join(", ")}`)
if (names.length === 0) throw new Error("@effect-threads/core exports nothing")

// effect resolves to one and the same file from here and from every installed @effect-threads package.
const effectHere = fileURLToPath(import.meta.resolve("effect"))
for (const name of readdirSync(new URL("./node_modules/@effect-threads/", import.meta.url))) {
  const entry = fileURLToPath(import.meta.resolve(`@effect-threads/${name}`))
  const effectThere = createRequire(entry).resolve("effect")
  if (effectThere !== effectHere) {
    throw new Error(`@effect-threads/${name} resolves effect to ${effectThere}, not ${effectHere}`)
  }
  console.log(`@effect-threads/${name}: ${entry.slice(entry.indexOf("node_modules"))}, same effect`)
}

const answer = Effect.runSync(Effect.succeed(21).pipe(Effect.map((n) => n * 2)))
if (answer !== 42) throw new Error(`expected 42, got ${answer}`)

console.log("consumer: ok")
