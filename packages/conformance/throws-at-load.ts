/**
 * A worker entry that throws while it loads, before it could serve: the same file on every platform.
 */
throw new TypeError("the entry failed while loading")
