// Type-checked by ../consumer-test.ts in a throwaway npm project against the packed .d.ts files
// (NodeNext resolution, strict, skipLibCheck: false). Grow it with real uses of the public API.
import * as Core from "@effect-threads/core"

export type CoreModule = typeof Core
