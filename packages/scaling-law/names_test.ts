import assert from "node:assert/strict";
import { resolveBlock, resolveFormat } from "./mod.ts";

Deno.test("resolveFormat: ExMy in any case and the aliases", () => {
  assert.deepEqual(resolveFormat("E2M1"), { name: "E2M1", exponentBits: 2, mantissaBits: 1 });
  assert.equal(resolveFormat("e4m3").name, "E4M3");
  assert.equal(resolveFormat("fp4").name, "E2M1");
  assert.equal(resolveFormat("FP8").name, "E4M3");
  assert.equal(resolveFormat("bf16").name, "E8M7");
  assert.equal(resolveFormat("fp16").name, "E5M10");
  assert.throws(() => resolveFormat("fp5"), /unknown format "fp5"/);
  assert.throws(() => resolveFormat("E2"), /unknown format/);
});

Deno.test("resolveBlock: numbers, channel, none; tensor and junk refused", () => {
  assert.equal(resolveBlock("128"), 7);
  assert.equal(resolveBlock(32), 5);
  assert.equal(resolveBlock(1), 0);
  assert.equal(resolveBlock("Channel"), 13.1567);
  assert.throws(() => resolveBlock("tensor"), /tensor-wise/);
  assert.throws(() => resolveBlock("0"), /block must be an integer >= 1/);
  assert.throws(() => resolveBlock("12.5"), /block must be/);
  assert.throws(() => resolveBlock("abc"), /block must be/);
});
