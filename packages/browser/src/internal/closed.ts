/**
 * The last message a browser worker posts before it closes itself, after the pool asked it to close: a browser
 * sends no event when a worker ends, so this is how the page learns that the worker is gone.
 *
 * @internal
 */
export const CLOSED = "@effect-threads/browser/closed"
