/**
 * The backlog of a team: first in, first out within a priority, higher priorities first, and any entry taken out in
 * constant time. `append` gives the entry's node; `remove` with that node takes the entry out (a caller interrupted
 * while its task waits), `take` gives the oldest entry of the highest priority.
 *
 * Each priority in use has a level, a list of its own; the levels are kept in descending order. With one priority
 * (the default, 0) there is one level and every operation is a few pointer moves.
 *
 * @internal
 */

/** An entry of a backlog. */
export interface Node<T> {
  readonly value: T
  prev: Node<T> | undefined
  next: Node<T> | undefined
  /** The level it is in, while it is linked. */
  level: Level<T> | undefined
}

/** The entries of one priority. */
export interface Level<T> {
  readonly priority: number
  head: Node<T> | undefined
  tail: Node<T> | undefined
}

/** A backlog. */
export interface Backlog<T> {
  /** The levels in use, the highest priority first. */
  readonly levels: Array<Level<T>>
  length: number
}

/** An empty backlog. */
export const make = <T>(): Backlog<T> => ({ levels: [], length: 0 })

/** The level of `priority`, made (in its place) if there is none. */
const levelOf = <T>(self: Backlog<T>, priority: number): Level<T> => {
  const levels = self.levels
  let at = 0
  while (at < levels.length && levels[at]!.priority > priority) at++
  const found = levels[at]
  if (found !== undefined && found.priority === priority) return found
  const level: Level<T> = { priority, head: undefined, tail: undefined }
  levels.splice(at, 0, level)
  return level
}

/** Adds `value` at the end of its priority; gives its node. */
export const append = <T>(self: Backlog<T>, value: T, priority = 0): Node<T> => {
  const level = levelOf(self, priority)
  const node: Node<T> = { value, prev: level.tail, next: undefined, level }
  if (level.tail === undefined) level.head = node
  else level.tail.next = node
  level.tail = node
  self.length++
  return node
}

/** Takes `node` out, wherever it is; does nothing if it was already taken. */
export const remove = <T>(self: Backlog<T>, node: Node<T>): void => {
  const level = node.level
  if (level === undefined) return
  node.level = undefined
  if (node.prev === undefined) level.head = node.next
  else node.prev.next = node.next
  if (node.next === undefined) level.tail = node.prev
  else node.next.prev = node.prev
  node.prev = undefined
  node.next = undefined
  self.length--
  if (level.head === undefined) self.levels.splice(self.levels.indexOf(level), 1)
}

/** Takes the oldest entry of the highest priority, or `undefined` when empty. */
export const take = <T>(self: Backlog<T>): Node<T> | undefined => {
  const node = self.levels[0]?.head
  if (node !== undefined) remove(self, node)
  return node
}

/** The entries, in the order they would be taken. */
export const toArray = <T>(self: Backlog<T>): Array<T> => {
  const out: Array<T> = []
  for (const level of self.levels) {
    for (let node = level.head; node !== undefined; node = node.next) out.push(node.value)
  }
  return out
}
