import assert from "node:assert/strict";
import { E2M1, E4M3, seedKey, uniformAt } from "@fp4lab/fp4-format";
import { assertBitsEqual } from "../../tests/_util/assert.ts";
import {
  dequantize,
  errorMetrics,
  fakeQuant,
  FP4_PAPER_ACT,
  FP4_PAPER_WEIGHT,
  MXFP4,
  MXFP6_E3M2,
  MXFP8_E4M3,
  NVFP4,
  NVFP4_2D,
  quantizeTensor,
  type QuantScheme,
} from "./mod.ts";
import { testMatrix, unpackCodes } from "./testdata/reference.ts";

const E8M0_RULES = ["e8m0-floor", "e8m0-ceil", "e8m0-even", "e8m0-rceil"] as const;

/** Blocks of 32 whose amax is t · 2^k with t uniform in (6, 8): where OCP `floor` clips. */
function clippingBlocks(blocks: number, seed: number): { x: Float32Array; t: number[] } {
  const key = seedKey(seed);
  const x = new Float32Array(blocks * 32);
  const t: number[] = [];
  for (let b = 0; b < blocks; b++) {
    const tb = 6 + 2 * (0.01 + 0.98 * uniformAt(key, 1000 + b));
    const k = Math.floor(uniformAt(key, 2000 + b) * 20) - 10;
    const amax = Math.fround(tb * 2 ** k);
    t.push(amax / 2 ** k);
    for (let j = 0; j < 32; j++) {
      x[b * 32 + j] = Math.fround((2 * uniformAt(key, b * 32 + j) - 1) * amax * 0.9);
    }
    x[b * 32 + (b % 32)] = b % 2 ? amax : -amax;
  }
  return { x, t };
}

Deno.test("MXFP4 with amax in (6, 8)·2^k: floor clips, rceil and ceil do not", () => {
  const { x, t } = clippingBlocks(64, 1);
  const clipped: Record<string, number> = {};
  const maxErr: Record<string, number> = {};
  for (const scaleRule of E8M0_RULES) {
    const q = quantizeTensor(x, 64, 32, { ...MXFP4, scaleRule });
    clipped[scaleRule] = q.clipped!;
    maxErr[scaleRule] = errorMetrics(x, dequantize(q)).maxAbsError;
  }
  // floor: X = 2^k, so amax / X = t > 6 and at least the amax element of every block saturates.
  assert.ok(clipped["e8m0-floor"] >= 64, `floor clipped ${clipped["e8m0-floor"]}`);
  assert.equal(clipped["e8m0-rceil"], 0);
  assert.equal(clipped["e8m0-ceil"], 0);
  // even bumps the exponent only when t/4 rounds up to 2 at E2M1's one mantissa bit: t >= 7.
  const below7 = t.filter((v) => v < 7).length;
  assert.ok(below7 > 0 && below7 < 64);
  assert.ok(clipped["e8m0-even"] >= below7 && clipped["e8m0-even"] < clipped["e8m0-floor"]);
  // The clipping shows in the worst-case error: floor loses up to (8 - 6)·2^k on the amax element.
  const floorQ = dequantize(quantizeTensor(x, 64, 32, MXFP4));
  for (let b = 0; b < 64; b++) {
    const i = b * 32 + (b % 32);
    const k = Math.log2(Math.abs(x[i]) / t[b]);
    assert.equal(Math.abs(floorQ[i]), 6 * 2 ** k, `block ${b} saturates to 6·2^k`);
  }
  console.log("clipped elements of 2048:", clipped, "max abs error:", maxErr);
});

const POW2_SCHEMES: QuantScheme[] = [
  MXFP4,
  MXFP6_E3M2,
  MXFP8_E4M3,
  ...E8M0_RULES.map((scaleRule) => ({ ...MXFP4, name: scaleRule, scaleRule })),
  { format: E2M1, granularity: "row", scaleRule: "pow2-floor", name: "pow2-row" },
  { format: E2M1, granularity: "block2d", blockSize: 16, scaleRule: "e8m0-rceil", name: "mx2d" },
];

Deno.test("fake-quant is idempotent: quantizing dequantized values changes nothing", () => {
  const x = testMatrix(16, 64, 2);
  const all = [...POW2_SCHEMES, FP4_PAPER_ACT, FP4_PAPER_WEIGHT, NVFP4, NVFP4_2D, {
    format: E4M3,
    granularity: "tensor",
    name: "fp8-tensor",
  } as QuantScheme];
  for (const scheme of all) {
    const once = fakeQuant(x, 16, 64, scheme);
    const twice = fakeQuant(once, 16, 64, scheme);
    assertBitsEqual(twice, once, `${scheme.name}`);
  }
});

Deno.test("scaling a row by a power of two scales its values exactly and keeps its codes", () => {
  const rows = 8;
  const cols = 64;
  const x = testMatrix(rows, cols, 3);
  const rowSchemes = [
    ...POW2_SCHEMES.filter((s) => s.granularity !== "block2d"),
    FP4_PAPER_ACT,
    { format: E2M1, granularity: "block", blockSize: 16, name: "absmax-16" } as QuantScheme,
  ];
  for (const scheme of rowSchemes) {
    for (const k of [-5, 3, 20]) {
      const y = x.slice();
      for (let c = 0; c < cols; c++) y[2 * cols + c] *= 2 ** k;
      const qx = quantizeTensor(x, rows, cols, scheme);
      const qy = quantizeTensor(y, rows, cols, scheme);
      assert.deepEqual(qy.data, qx.data, `${scheme.name} 2^${k}: codes unchanged`);
      const groupsPerRow = qx.scales.length / rows;
      for (let g = 0; g < qx.scales.length; g++) {
        const factor = Math.floor(g / groupsPerRow) === 2 ? 2 ** k : 1;
        assert.equal(qy.scales[g], qx.scales[g] * factor, `${scheme.name} 2^${k}: scale ${g}`);
      }
      const dx = dequantize(qx);
      const dy = dequantize(qy);
      for (let i = 0; i < dx.length; i++) {
        const factor = Math.floor(i / cols) === 2 ? 2 ** k : 1;
        assert.equal(dy[i], dx[i] * factor, `${scheme.name} 2^${k}: value ${i}`);
      }
    }
  }
});

Deno.test("NVFP4: scaling the whole tensor by a power of two keeps codes and block scales", () => {
  const x = testMatrix(8, 64, 4);
  for (const scheme of [NVFP4, NVFP4_2D]) {
    for (const k of [-7, 9]) {
      const y = x.map((v) => v * 2 ** k);
      const qx = quantizeTensor(x, 8, 64, scheme);
      const qy = quantizeTensor(y, 8, 64, scheme);
      assert.deepEqual(qy.data, qx.data);
      assert.deepEqual(qy.scaleCodes, qx.scaleCodes);
      assert.equal(qy.tensorScale, qx.tensorScale / 2 ** k);
      assertBitsEqual(dequantize(qy), dequantize(qx).map((v) => v * 2 ** k));
    }
  }
});

Deno.test("per-token and per-block scales never mix rows; 2-D tiles mix only inside a tile", () => {
  const rows = 32;
  const cols = 64;
  const x = testMatrix(rows, cols, 5);
  const y = x.slice();
  for (let c = 0; c < cols; c++) y[5 * cols + c] = 1000 * Math.sin(c) + 3; // a very different row 5
  const rowBytes = cols / 2;
  const changedRows = (scheme: QuantScheme) => {
    const a = quantizeTensor(x, rows, cols, scheme);
    const b = quantizeTensor(y, rows, cols, scheme);
    const ca = unpackCodes(a.data, rows, cols, 4);
    const cb = unpackCodes(b.data, rows, cols, 4);
    const changed = new Set<number>();
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) if (ca[r * cols + c] !== cb[r * cols + c]) changed.add(r);
    }
    const perRow = a.scales.length / Math.ceil(rows / a.blockRows);
    for (let g = 0; g < a.scales.length; g++) {
      if (a.scales[g] !== b.scales[g]) {
        const r0 = Math.floor(g / perRow) * a.blockRows;
        for (let r = r0; r < Math.min(rows, r0 + a.blockRows); r++) changed.add(r);
      }
    }
    assert.equal(a.data.length, rows * rowBytes);
    return [...changed].sort((p, q) => p - q);
  };
  for (const scheme of [FP4_PAPER_ACT, FP4_PAPER_WEIGHT, MXFP4, ...POW2_SCHEMES.slice(3, 8)]) {
    if (scheme.granularity === "block2d") continue;
    assert.deepEqual(changedRows(scheme), [5], `${scheme.name}`);
  }
  const tile = changedRows({
    format: E2M1,
    granularity: "block2d",
    blockSize: 16,
    scaleRule: "e8m0-floor",
  });
  assert.ok(tile.includes(5) && tile.every((r) => r < 16), `2-D tiles: rows ${tile}`);
  assert.ok(tile.length > 1, "a 16x16 tile shares its scale across its 16 rows");
  const tensor = changedRows({ format: E2M1, granularity: "tensor" });
  assert.ok(tensor.length > 1, "per-tensor scaling does mix rows (the check can fail)");
});
