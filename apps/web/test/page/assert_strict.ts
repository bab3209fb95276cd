// node:assert/strict for the browser: npm `assert` (Node's assert, ported), strict mode.
import "./deno_shim.ts";
import assert from "assert";

/** `assert.strict`, as `import assert from "node:assert/strict"` gives in Deno and Node. */
// deno-lint-ignore no-explicit-any
const strict: any = (assert as any).strict;
export default strict;
