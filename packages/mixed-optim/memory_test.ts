import assert from "node:assert/strict";
import { memoryReport } from "./memory.ts";

Deno.test("memory per configuration: bytes per parameter and scales per tensor", () => {
  const sizes = [1000, 24, 0];
  const f32 = memoryReport(sizes, { m1Format: "f32", m2Format: "f32" });
  assert.deepEqual(
    [f32.params, f32.tensors, f32.weightsBytes, f32.gradsBytes, f32.m1Bytes, f32.m2Bytes],
    [1024, 3, 4096, 4096, 4096, 4096],
  );
  assert.equal(f32.totalBytes, 16 * 1024);
  assert.equal(f32.bytesPerParam, 16);
  const paper = memoryReport(sizes); // m1 E4M3 + scale, m2 FP16 + scale
  assert.equal(paper.m1Bytes, 1024 + 3 * 4);
  assert.equal(paper.m2Bytes, 2048 + 3 * 4);
  assert.equal(paper.optimizerBytes, paper.m1Bytes + paper.m2Bytes);
  const fp8Grads = memoryReport(sizes, { gradFormat: "E4M3" });
  assert.equal(fp8Grads.gradsBytes, 1024 + 12);
  assert.equal(memoryReport(sizes, { momentScaling: "none" }).m1Bytes, 1024);
  assert.equal(
    memoryReport(sizes, { m1Format: "BF16", m2Format: "BF16" }).optimizerBytes,
    4096,
  );
  // Tensors work as sizes.
  assert.deepEqual(memoryReport([new Float32Array(1000), new Float32Array(24)]).params, 1024);
});

Deno.test("bad memory input gets a clear error", () => {
  assert.throws(() => memoryReport([1.5]), /sizes\[0\] must be an integer/);
  assert.throws(
    () => memoryReport([1], { m2Format: "FP8" as "E4M3" }),
    /moment format must be one of/,
  );
  assert.throws(
    () => memoryReport([1], { momentScaling: "row" as "none" }),
    /config.momentScaling/,
  );
});
