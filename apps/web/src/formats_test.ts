import assert from "node:assert/strict";
import { BF16, codeTable, E2M1, E4M3, E5M2, floatFormat, FP16 } from "@fp4lab/fp4-format";
import {
  codeOf,
  compareTensor,
  describeValue,
  generateTensor,
  parseNumbers,
  PER_CHANNEL,
  SCHEMES,
} from "./formats.ts";

Deno.test("codeOf gives back every code of the 4- and 8-bit formats", () => {
  for (const f of [E2M1, E4M3, E5M2, floatFormat(3, 4)]) {
    const table = codeTable(f);
    for (let c = 0; c < table.length; c++) {
      if (Number.isNaN(table[c])) continue; // several NaN codes, one canonical
      assert.equal(codeOf(table[c], f), c, `${f.name} code ${c}`);
    }
  }
});

Deno.test("codeOf: FP16 and BF16 codes are the IEEE bit patterns", () => {
  assert.equal(codeOf(1, FP16), 0x3c00);
  assert.equal(codeOf(65504, FP16), 0x7bff);
  assert.equal(codeOf(-2, FP16), 0xc000);
  assert.equal(codeOf(2 ** -24, FP16), 0x0001);
  assert.equal(codeOf(-0, FP16), 0x8000);
  assert.equal(codeOf(Infinity, FP16), 0x7c00);
  // BF16 is the top half of an f32: check against the f32 bits of values on the BF16 grid.
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  const table = codeTable(BF16);
  for (let c = 0; c < table.length; c += 97) {
    if (Number.isNaN(table[c])) continue;
    f32[0] = table[c];
    assert.equal(codeOf(table[c], BF16), u32[0] >>> 16, `BF16 code ${c}`);
  }
});

Deno.test("describeValue: rounding, fields, error and what happened", () => {
  const sat = describeValue(100, E2M1);
  assert.deepEqual([sat.rounded, sat.hex, sat.bits, sat.note], [6, "0x7", "0 11 1", "saturated"]);
  assert.equal(sat.absError, 94);
  const tie = describeValue(2.5, E2M1);
  assert.equal(tie.rounded, 2, "ties to even");
  assert.equal(describeValue(2.5, E2M1, { rounding: "nearest-up" }).rounded, 3);
  assert.equal(describeValue(0.1, E2M1).note, "flushed to zero");
  assert.equal(describeValue(0.5, E2M1).note, "subnormal");
  assert.equal(describeValue(1e6, FP16, { saturate: false }).note, "overflow to inf");
  assert.equal(describeValue(NaN, E4M3).note, "NaN");
  assert.equal(describeValue(NaN, E4M3).hex, "0x7f");
  const bf = describeValue(Math.PI, BF16);
  assert.equal(bf.bits, "0 10000000 1001001");
  assert.ok(Math.abs(bf.relError - Math.abs(bf.rounded - Math.PI) / Math.PI) < 1e-15);
});

Deno.test("parseNumbers takes commas, spaces, lines and inf/nan; names what it cannot read", () => {
  const r = parseNumbers("1, -2.5e3\n.5 inf -inf nan 1x");
  assert.deepEqual(r.values.slice(0, 5), [1, -2500, 0.5, Infinity, -Infinity]);
  assert.ok(Number.isNaN(r.values[5]));
  assert.deepEqual(r.bad, ["1x"]);
});

Deno.test("scheme comparison: with outlier channels, finer scaling has less error", () => {
  const x = generateTensor({
    distribution: "gaussian",
    rows: 32,
    cols: 128,
    outlierChannels: 4,
    outlierScale: 50,
    seed: 3,
  });
  assert.equal(x.length, 32 * 128);
  const rows = compareTensor(x, 32, 128, [
    "E2M1 per-tensor",
    "E2M1 per-token (row)",
    PER_CHANNEL,
    "NVFP4 (block 16, UE4M3)",
  ]);
  const sqnr = Object.fromEntries(rows.map((r) => [r.scheme, r.sqnrDb]));
  assert.ok(sqnr[PER_CHANNEL] > sqnr["E2M1 per-token (row)"], JSON.stringify(sqnr));
  assert.ok(sqnr["NVFP4 (block 16, UE4M3)"] > sqnr["E2M1 per-tensor"]);
  assert.equal(compareTensor(x, 32, 128, Object.keys(SCHEMES)).length, Object.keys(SCHEMES).length);
  assert.throws(() => compareTensor(x, 32, 128, ["nope"]), /unknown scheme "nope"/);
});

Deno.test("generated tensors are seeded and look like their distribution", () => {
  const a = generateTensor({ distribution: "gaussian", rows: 64, cols: 64, seed: 1 });
  const b = generateTensor({ distribution: "gaussian", rows: 64, cols: 64, seed: 1 });
  assert.deepEqual(a, b);
  let mean = 0, sq = 0;
  for (const v of a) {
    mean += v / a.length;
    sq += (v * v) / a.length;
  }
  assert.ok(Math.abs(mean) < 0.05 && Math.abs(sq - 1) < 0.08, `mean ${mean} var ${sq}`);
  const t = generateTensor({ distribution: "student-t", rows: 64, cols: 64, df: 2, seed: 1 });
  assert.ok(Math.max(...t.map(Math.abs)) > Math.max(...a.map(Math.abs)), "heavier tails");
  assert.throws(
    () => generateTensor({ distribution: "gaussian", rows: 2, cols: 4, outlierChannels: 5 }),
    /outlier channels/,
  );
});
