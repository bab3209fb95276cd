import assert from "node:assert/strict";
import { KERNELS } from "./mod.ts";

Deno.test("the manifest lists each kernel once with a CPU twin or WGSL, and a reference", () => {
  const names = KERNELS.map((k) => k.name);
  assert.equal(new Set(names).size, names.length);
  for (const k of KERNELS) {
    assert.ok(typeof k.cpu === "function" || (k.cpu === null && k.wgsl !== null), k.name);
    assert.ok(typeof k.reference === "function" || k.reference.startsWith("@fp4lab/"), k.name);
    if (k.wgsl !== null) assert.match(k.wgsl, /@compute/, k.name);
  }
});
