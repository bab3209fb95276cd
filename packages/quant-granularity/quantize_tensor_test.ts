import assert from "node:assert/strict";
import { BF16, E2M1, E2M3, E3M2, E4M3, E5M2, type FloatFormat } from "@fp4lab/fp4-format";
import { assertBitsEqual } from "../../tests/_util/assert.ts";
import {
  dequantize,
  FP4_PAPER_ACT,
  FP4_PAPER_WEIGHT,
  MXFP4,
  MXFP6_E2M3,
  MXFP6_E3M2,
  MXFP8_E4M3,
  MXFP8_E5M2,
  NVFP4,
  NVFP4_2D,
  type QuantScheme,
} from "./mod.ts";
import { fakeQuant } from "./fake_quant.ts";
import { quantizeTensor } from "./quantize_tensor.ts";
import { referenceQuantize, testMatrix, unpackCodes } from "./testdata/reference.ts";

/** Quantizes with the package and the reference and demands identical codes and scales. */
function checkAgainstReference(x: Float32Array, rows: number, cols: number, scheme: QuantScheme) {
  const label = `${
    scheme.name ?? JSON.stringify({ ...scheme, format: scheme.format.name })
  } ${rows}x${cols}`;
  const q = quantizeTensor(x, rows, cols, scheme);
  const ref = referenceQuantize(x, rows, cols, scheme);
  assert.deepEqual([q.blockRows, q.blockCols], [ref.blockRows, ref.blockCols], `${label} groups`);
  assertBitsEqual(q.scales, ref.scales, `${label} scales`);
  if (ref.scaleCodes) assert.deepEqual(q.scaleCodes, ref.scaleCodes, `${label} scale codes`);
  else assert.equal(q.scaleCodes, undefined, `${label} has no scale codes`);
  assert.equal(q.tensorScale, ref.tensorScale, `${label} tensor scale`);
  assert.equal(q.clipped, ref.clipped, `${label} clipped`);
  const codes = unpackCodes(q.data, rows, cols, q.format.bits);
  for (let i = 0; i < codes.length; i++) {
    if (codes[i] !== ref.codes[i]) {
      assert.fail(
        `${label}: code of element ${i} (row ${Math.floor(i / cols)}, x = ${x[i]}) is ${
          codes[i]
        }, reference ${ref.codes[i]}`,
      );
    }
  }
  assertBitsEqual(dequantize(q), ref.values, `${label} dequantized`);
  assertBitsEqual(fakeQuant(x, rows, cols, scheme), ref.values, `${label} fakeQuant`);
}

const FORMATS: FloatFormat[] = [E2M1, E2M3, E3M2, E4M3, E5M2];
const RULES = [
  "absmax",
  "pow2-floor",
  "e8m0-floor",
  "e8m0-ceil",
  "e8m0-even",
  "e8m0-rceil",
] as const;

Deno.test("every preset matches the slow reference exactly (codes, scales, values)", () => {
  const x = testMatrix(19, 96, 1);
  for (
    const scheme of [
      MXFP4,
      MXFP6_E2M3,
      MXFP6_E3M2,
      MXFP8_E4M3,
      MXFP8_E5M2,
      NVFP4,
      NVFP4_2D,
      FP4_PAPER_ACT,
      FP4_PAPER_WEIGHT,
    ]
  ) {
    checkAgainstReference(x, 19, 96, scheme);
  }
});

Deno.test("every scale rule x granularity x format matches the reference", () => {
  const x = testMatrix(9, 40, 2);
  const granularities: Partial<QuantScheme>[] = [
    { granularity: "tensor" },
    { granularity: "row" },
    { granularity: "block", blockSize: 8 },
    { granularity: "block", blockSize: 32 }, // 40 = 32 + 8: a ragged last block
    { granularity: "block2d", blockSize: 16 },
    { granularity: "block2d", blockSize: 8, blockRows: 4 },
  ];
  for (const format of FORMATS) {
    for (const scaleRule of RULES) {
      for (const g of granularities) {
        checkAgainstReference(x, 9, 40, { format, scaleRule, ...g } as QuantScheme);
      }
    }
  }
  for (const g of granularities) {
    checkAgainstReference(x, 9, 40, { format: E2M1, scaleRule: "nvfp4", ...g } as QuantScheme);
  }
});

Deno.test("paper ties-up rounding and stochastic rounding go through the same entry point", () => {
  const x = testMatrix(8, 48, 3);
  for (const rounding of ["nearest-up", "stochastic"] as const) {
    for (const scheme of [MXFP4, NVFP4, FP4_PAPER_ACT, { ...MXFP8_E5M2, name: undefined }]) {
      for (const seed of [0, 1, 12345]) {
        checkAgainstReference(x, 8, 48, { ...scheme, rounding, seed });
      }
    }
  }
});

Deno.test("stochastic rounding is reproducible, seed-dependent and unbiased", () => {
  const x = new Float32Array(4096).map((_, i) => 0.3 + (i % 7) * 0.01);
  const scheme: QuantScheme = {
    format: E2M1,
    granularity: "tensor",
    scaleRule: "pow2-floor",
    rounding: "stochastic",
    seed: 7,
  };
  const a = fakeQuant(x, 64, 64, scheme);
  assertBitsEqual(fakeQuant(x, 64, 64, scheme), a, "same seed, same result");
  const b = fakeQuant(x, 64, 64, { ...scheme, seed: 8 });
  assert.ok(a.some((v, i) => v !== b[i]), "another seed gives other draws");
  let mean = 0;
  let meanX = 0;
  for (let i = 0; i < x.length; i++) {
    mean += a[i];
    meanX += x[i];
  }
  // Each draw has variance below (grid step)² / 4 = 0.0039 here; 4096 draws: sd of the mean ~1e-3.
  assert.ok(Math.abs(mean - meanX) / x.length < 0.004, `mean ${mean / 4096} vs ${meanX / 4096}`);
  const nearest = fakeQuant(x, 64, 64, { ...scheme, rounding: "nearest-even" });
  assert.ok(nearest.some((v, i) => v !== a[i]), "stochastic differs from nearest");
});

Deno.test("the element order of stochastic draws does not depend on chunking", () => {
  // 1 x 20000 and 20000 x 1 hit different chunk splits; per-tensor scale keeps the math equal.
  const x = testMatrix(1, 20000, 4);
  const scheme: QuantScheme = {
    format: E2M1,
    granularity: "tensor",
    rounding: "stochastic",
    seed: 3,
  };
  assertBitsEqual(fakeQuant(x, 20000, 1, scheme), fakeQuant(x, 1, 20000, scheme));
});

Deno.test("4-bit codes pack two per byte, low nibble first, rows padded for odd K", () => {
  const x = new Float32Array([0.5, 1, 1.5, -6, 2, 3, 4]);
  // Per-row pow2 scales of 1 keep these values on the grid.
  const q = quantizeTensor(x, 1, 7, { format: E2M1, granularity: "row", scaleRule: "e8m0-rceil" });
  assert.deepEqual(q.scales, new Float32Array([1]));
  assert.deepEqual(Array.from(q.data), [0x21, 0xf3, 0x54, 0x06]);
  const two = quantizeTensor(new Float32Array([1, 1, 1, 2, 2, 2]), 2, 3, FP4_PAPER_ACT);
  assert.equal(two.data.length, 4, "each 3-element row takes 2 bytes");
  assert.deepEqual(Array.from(two.data), [0x77, 0x07, 0x77, 0x07]);
  const wide = quantizeTensor(new Float32Array([448, -1]), 1, 2, {
    format: E4M3,
    granularity: "tensor",
    scaleRule: "e8m0-floor",
  });
  assert.equal(wide.data.length, 2, "8-bit formats take one byte each");
});

Deno.test("fakeQuant works in place and for formats wider than 8 bits", () => {
  const x = testMatrix(5, 33, 5);
  const expected = dequantize(quantizeTensor(x, 5, 33, NVFP4));
  for (const scheme of [NVFP4, MXFP4, FP4_PAPER_ACT, NVFP4_2D]) {
    const copy = x.slice();
    assert.equal(fakeQuant(copy, 5, 33, scheme, copy), copy);
    assertBitsEqual(copy, dequantize(quantizeTensor(x, 5, 33, scheme)), `${scheme.name} in place`);
  }
  assertBitsEqual(fakeQuant(x, 5, 33, NVFP4), expected);
  const bf16 = fakeQuant(x, 5, 33, { format: BF16, granularity: "tensor" });
  assert.ok(bf16.every((v, i) => Math.abs(v - x[i]) <= Math.abs(x[i]) * 2 ** -8));
  assert.throws(
    () => quantizeTensor(x, 5, 33, { format: BF16, granularity: "tensor" }),
    /at most 8 bits.*use fakeQuant/,
  );
});

Deno.test("zero and non-finite groups: scale 1 for absmax, 0x00 / 0xFF for E8M0", () => {
  const x = new Float32Array([0, 0, 0, 0, 1, Infinity, -2, 0.25]);
  const abs = quantizeTensor(x, 2, 4, { format: E2M1, granularity: "row" });
  assert.deepEqual(abs.scales, new Float32Array([1, 1]));
  assert.deepEqual(dequantize(abs), new Float32Array([0, 0, 0, 0, 1, 6, -2, 0]));
  assert.equal(abs.clipped, 1, "the Inf saturated");
  const mx = quantizeTensor(x, 2, 4, { ...MXFP4, blockSize: 4 });
  assert.deepEqual(mx.scaleCodes, new Uint8Array([0x00, 0xff]));
  const back = dequantize(mx);
  assert.deepEqual(Array.from(back.subarray(0, 4)), [0, 0, 0, 0]);
  assert.ok(back.subarray(4).every(Number.isNaN), "a block with Inf reads back as NaN");
  const zeros = quantizeTensor(new Float32Array(32), 2, 16, NVFP4);
  assert.equal(zeros.tensorScale, 1, "amax 0 gives s_enc = 1");
  assert.deepEqual(dequantize(zeros), new Float32Array(32));
});

Deno.test("tiny and huge finite inputs never give NaN", () => {
  const x = new Float32Array([1e-45, -1e-45, 1e38, -1.5e38, 1e-40, 0, 5, -7]);
  const edge = new Float32Array([3e38, -3.4e38, 1, 2]);
  const schemes: QuantScheme[] = [FP4_PAPER_ACT, MXFP4, NVFP4, {
    ...MXFP4,
    name: "pow2",
    scaleRule: "pow2-floor",
  }];
  for (
    const scheme of [
      ...schemes,
      ...RULES.map((scaleRule) => ({ ...MXFP4, name: scaleRule, scaleRule })),
    ]
  ) {
    for (const [rows, cols] of [[1, 8], [8, 1], [2, 4]]) {
      const out = fakeQuant(x, rows, cols, { ...scheme, blockSize: 2 });
      assert.ok(out.every(Number.isFinite), `${scheme.name} ${rows}x${cols}: ${out}`);
    }
    // Within a factor 2 of FLT_MAX a power-of-two scale times maxNormal can pass the f32 range:
    // the result may be ±Inf (documented), but never NaN.
    assert.ok(!fakeQuant(edge, 2, 2, scheme).some(Number.isNaN), `${scheme.name} near FLT_MAX`);
  }
});

Deno.test("NaN input is refused with its row named", () => {
  const x = new Float32Array(12);
  x[7] = NaN;
  for (const scheme of [MXFP4, NVFP4, FP4_PAPER_ACT]) {
    assert.throws(() => quantizeTensor(x, 3, 4, scheme), /NaN at row 1 \(column 3\)/);
    assert.throws(() => fakeQuant(x, 3, 4, scheme), /NaN at row 1/);
  }
  // A NaN far down a tall matrix (past the first processing chunk) still names its own row.
  const tall = new Float32Array(5000 * 4);
  tall[4321 * 4 + 2] = NaN;
  for (const scheme of [MXFP4, NVFP4, FP4_PAPER_ACT, NVFP4_2D]) {
    assert.throws(
      () => fakeQuant(tall, 5000, 4, { ...scheme, blockSize: 4 }),
      /NaN at row 4321 \(column 2\)/,
    );
  }
  const inf = new Float32Array(12);
  inf[9] = -Infinity;
  assert.throws(() => quantizeTensor(inf, 3, 4, NVFP4), /-Infinity at row 2.*finite tensor amax/);
});

Deno.test("bad shapes and schemes get errors naming the argument", () => {
  const x = new Float32Array(12);
  assert.throws(
    () => quantizeTensor(x, 3, 5, MXFP4),
    /values.length must be rows \* cols = 3 \* 5 = 15, got 12/,
  );
  assert.throws(() => quantizeTensor(x, 0, 12, MXFP4), /rows must be a positive integer/);
  assert.throws(() => quantizeTensor(x, 3, 4.5, MXFP4), /cols must be a positive integer/);
  assert.throws(() => quantizeTensor([1, 2] as unknown as Float32Array, 1, 2, MXFP4), TypeError);
  assert.throws(
    () => quantizeTensor(x, 3, 4, { ...MXFP4, blockSize: 0 }),
    /scheme.blockSize must be a positive integer/,
  );
  assert.throws(
    () => quantizeTensor(x, 3, 4, { ...MXFP4, granularity: "column" as "row" }),
    /scheme.granularity must be one of/,
  );
  assert.throws(
    () => quantizeTensor(x, 3, 4, { ...MXFP4, scaleRule: "e8m0" as "e8m0-floor" }),
    /scheme.scaleRule/,
  );
  assert.throws(
    () => quantizeTensor(x, 3, 4, { ...MXFP4, rounding: "up" as "nearest-up" }),
    /scheme.rounding/,
  );
  assert.throws(
    () => quantizeTensor(x, 3, 4, { granularity: "row" } as QuantScheme),
    /scheme.format must be a FloatFormat/,
  );
  assert.throws(() => fakeQuant(x, 3, 4, MXFP4, new Float32Array(11)), /out must have length 12/);
});

Deno.test("a block size that does not divide K pads: the last block is narrower", () => {
  const x = testMatrix(3, 40, 6);
  const q = quantizeTensor(x, 3, 40, MXFP4);
  assert.equal(q.scales.length, 3 * 2);
  // Same as zero-padding each row to 64 columns and dropping the padding afterwards.
  const padded = new Float32Array(3 * 64);
  for (let r = 0; r < 3; r++) padded.set(x.subarray(r * 40, r * 40 + 40), r * 64);
  const p = quantizeTensor(padded, 3, 64, MXFP4);
  assert.deepEqual(q.scaleCodes, p.scaleCodes);
  const a = dequantize(q);
  const b = dequantize(p);
  for (let r = 0; r < 3; r++) {
    assertBitsEqual(a.subarray(r * 40, r * 40 + 40), b.subarray(r * 64, r * 64 + 40));
  }
});

Deno.test("dequantize checks the tensor it is given", () => {
  const q = quantizeTensor(testMatrix(2, 32, 7), 2, 32, MXFP4);
  assert.throws(() => dequantize({ ...q, data: q.data.subarray(1) }), /q.data must have 32 bytes/);
  assert.throws(
    () => dequantize({ ...q, scales: new Float32Array(3) }),
    /q.scales must have 2 entries/,
  );
  assert.throws(
    () => dequantize({ ...q, tensorScale: 0 }),
    /q.tensorScale must be finite and non-zero/,
  );
  assert.throws(() => dequantize(q, new Float32Array(3)), /out must have length 64/);
  const six = quantizeTensor(testMatrix(1, 32, 8), 1, 32, MXFP6_E2M3);
  const bad = six.data.slice();
  bad[5] = 200;
  assert.throws(() => dequantize({ ...six, data: bad }), /row 0, column 5 is 200/);
});

/** Blocks whose amax sits exactly on each rule's decision points, and just beside them. */
function edgeAmaxMatrix(format: FloatFormat, blockSize: number): Float32Array {
  const m = format.mantissaBits;
  const points = [1, 1.5, 2 - 2 ** -(m + 1), 1.75, 1.875, 1.9375, format.maxNormal / 4];
  const amaxes: number[] = [];
  for (const k of [-130, -20, -1, 0, 3, 17]) {
    for (const p of points) {
      const a = Math.fround(p * 2 ** k);
      amaxes.push(a, Math.fround(a * (1 + 2 ** -23)), Math.fround(a * (1 - 2 ** -24)));
    }
  }
  const x = new Float32Array(amaxes.length * blockSize);
  amaxes.forEach((a, b) => {
    for (let j = 0; j < blockSize; j++) {
      x[b * blockSize + j] = Math.fround(
        a * (((j * 37) % blockSize) / blockSize) * (j % 2 ? -1 : 1),
      );
    }
    x[b * blockSize + ((b * 5) % blockSize)] = b % 3 ? a : -a;
  });
  return x;
}

Deno.test("scale rules at their decision points match the reference", () => {
  for (const format of FORMATS) {
    const x = edgeAmaxMatrix(format, 8);
    const rows = x.length / 8;
    for (const scaleRule of [...RULES, ...(format === E2M1 ? ["nvfp4" as const] : [])]) {
      checkAgainstReference(x, rows, 8, { format, scaleRule, granularity: "row" });
      checkAgainstReference(x, rows / 2, 16, {
        format,
        scaleRule,
        granularity: "block",
        blockSize: 8,
      });
    }
  }
});

Deno.test("NVFP4 follows TransformerEngine's f32 order on many blocks", () => {
  for (const seed of [11, 12, 13]) {
    const x = testMatrix(32, 256, seed);
    checkAgainstReference(x, 32, 256, NVFP4);
  }
});

Deno.test("caller-owned buffers are filled instead of allocating, with the same results", () => {
  const x = testMatrix(6, 48, 9);
  for (const scheme of [MXFP4, NVFP4, FP4_PAPER_ACT, MXFP8_E4M3]) {
    const fresh = quantizeTensor(x, 6, 48, scheme);
    const into = {
      data: new Uint8Array(fresh.data.length).fill(0xaa),
      scales: new Float32Array(fresh.scales.length).fill(7),
      scaleCodes: new Uint8Array(fresh.scales.length).fill(3),
    };
    for (let round = 0; round < 2; round++) {
      const q = quantizeTensor(x, 6, 48, scheme, into);
      assert.equal(q.data, into.data);
      assert.equal(q.scales, into.scales);
      assert.deepEqual(q.data, fresh.data);
      assertBitsEqual(q.scales, fresh.scales);
      assert.deepEqual(q.scaleCodes, fresh.scaleCodes);
      if (fresh.scaleCodes) assert.equal(q.scaleCodes, into.scaleCodes);
    }
  }
  const tile = quantizeTensor(x, 6, 48, NVFP4_2D);
  const scales = new Float32Array(tile.scales.length).fill(9);
  assertBitsEqual(
    quantizeTensor(x, 6, 48, { ...MXFP4, granularity: "block2d", blockSize: 16 }, { scales })
      .scales,
    quantizeTensor(x, 6, 48, { ...MXFP4, granularity: "block2d", blockSize: 16 }).scales,
    "2-D tiles reset a reused buffer",
  );
  assert.throws(
    () => quantizeTensor(x, 6, 48, MXFP4, { data: new Uint8Array(10) }),
    /into.data must have length 144, got 10/,
  );
  assert.throws(
    () =>
      quantizeTensor(x, 6, 48, MXFP4, { scales: new Float64Array(12) as unknown as Float32Array }),
    /into.scales must be a Float32Array/,
  );
});
