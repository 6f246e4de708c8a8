/**
 * A first-in first-out list whose entries can be taken out from anywhere in constant time: the backlog of a team.
 * `append` gives the entry's node; `remove` with that node takes the entry out (a caller interrupted while its
 * task waits), `take` gives the oldest.
 *
 * @internal
 */

/** An entry of a backlog. */
export interface Node<T> {
  readonly value: T
  prev: Node<T> | undefined
  next: Node<T> | undefined
  /** Whether the node is still in its list. */
  linked: boolean
}

/** A backlog. */
export interface Backlog<T> {
  head: Node<T> | undefined
  tail: Node<T> | undefined
  length: number
}

/** An empty backlog. */
export const make = <T>(): Backlog<T> => ({ head: undefined, tail: undefined, length: 0 })

/** Adds `value` at the end; gives its node. */
export const append = <T>(self: Backlog<T>, value: T): Node<T> => {
  const node: Node<T> = { value, prev: self.tail, next: undefined, linked: true }
  if (self.tail === undefined) self.head = node
  else self.tail.next = node
  self.tail = node
  self.length++
  return node
}

/** Takes `node` out, wherever it is; does nothing if it was already taken. */
export const remove = <T>(self: Backlog<T>, node: Node<T>): void => {
  if (!node.linked) return
  node.linked = false
  if (node.prev === undefined) self.head = node.next
  else node.prev.next = node.next
  if (node.next === undefined) self.tail = node.prev
  else node.next.prev = node.prev
  node.prev = undefined
  node.next = undefined
  self.length--
}

/** Takes the oldest entry's node, or `undefined` when empty. */
export const take = <T>(self: Backlog<T>): Node<T> | undefined => {
  const node = self.head
  if (node !== undefined) remove(self, node)
  return node
}

/** The entries, oldest first. */
export const toArray = <T>(self: Backlog<T>): Array<T> => {
  const out: Array<T> = []
  for (let node = self.head; node !== undefined; node = node.next) out.push(node.value)
  return out
}
