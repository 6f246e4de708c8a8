// A task declared as a user would, shared by the program and its worker entry.
import { Task } from "@effect-threads/core"
import { Schema } from "effect"

export class Negative extends Schema.TaggedError()("Negative", { n: Schema.Number }) {}

export const Square = Task.make("Square", { payload: Schema.Number, success: Schema.Number, failure: Negative })
