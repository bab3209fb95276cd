import assert from "node:assert/strict";
import {
  BF16,
  E2M1,
  E2M3,
  E3M2,
  E4M3,
  E5M2,
  floatFormat,
  FP16,
  parseFormat,
  UE4M3,
} from "./format.ts";

Deno.test("standard formats carry the OCP / IEEE constants", () => {
  const table = [
    [E2M1, 1, 2, 6, 1, 0.5, false, false],
    [E2M3, 1, 2, 7.5, 1, 0.125, false, false],
    [E3M2, 3, 4, 28, 0.25, 0.0625, false, false],
    [E4M3, 7, 8, 448, 2 ** -6, 2 ** -9, false, true],
    [E5M2, 15, 15, 57344, 2 ** -14, 2 ** -16, true, true],
    [FP16, 15, 15, 65504, 2 ** -14, 2 ** -24, true, true],
    [BF16, 127, 127, (2 - 2 ** -7) * 2 ** 127, 2 ** -126, 2 ** -133, true, true],
  ] as const;
  for (const [f, bias, emax, max, minN, minS, inf, nan] of table) {
    assert.deepEqual(
      [f.bias, f.emax, f.maxNormal, f.minNormal, f.minSubnormal, f.hasInf, f.hasNaN],
      [bias, emax, max, minN, minS, inf, nan],
      f.name,
    );
  }
  assert.equal(UE4M3.bits, 7);
  assert.equal(UE4M3.maxNormal, 448);
  assert.equal(floatFormat(2, 1).maxNormal, 6, "defaults follow OCP for 4-bit");
  assert.equal(floatFormat(4, 3).specials, "nan-only");
  assert.equal(floatFormat(4, 3, { ieeeSpecials: true }).maxNormal, 240);
  assert.equal(floatFormat(4, 3, { ieeeSpecials: false }).maxNormal, 480);
  assert.equal(floatFormat(0, 7).maxNormal, 1.984375, "E0M7 is MXINT8's grid");
});

Deno.test("floatFormat rejects impossible bit counts with the allowed range", () => {
  assert.throws(() => floatFormat(9, 1), /exponentBits must be an integer in \[0, 8\], got 9/);
  assert.throws(() => floatFormat(2, 11), /mantissaBits must be an integer in \[0, 10\]/);
  assert.throws(() => floatFormat(-1, 1), RangeError);
  assert.throws(() => floatFormat(2.5, 1), RangeError);
  assert.throws(() => floatFormat(1, 3, { ieeeSpecials: true }), /at least 2/);
});

Deno.test("parseFormat knows names, aliases and any ExMy", () => {
  assert.equal(parseFormat("e2m1"), E2M1);
  assert.equal(parseFormat("fp4"), E2M1);
  assert.equal(parseFormat("FP8"), E4M3);
  assert.equal(parseFormat("bf16"), BF16);
  assert.equal(parseFormat("E8M7"), BF16);
  assert.equal(parseFormat("fp16"), FP16);
  assert.equal(parseFormat("E5M10"), FP16);
  assert.equal(parseFormat("E3M4").maxNormal, 15.5);
  assert.throws(() => parseFormat("int4"), /unknown format "int4"/);
  assert.throws(() => parseFormat("E9M1"), /exponentBits/);
});
