import assert from "node:assert/strict";
import { assertBitsEqual } from "../tests/_util/assert.ts";
import { E2M1, encode, packNibbles } from "@fp4lab/fp4-format";
import {
  fp4Matmul,
  fp4MatmulReference,
  matmulReference,
  type QuantizedTensor,
  setThreads,
} from "./mod.ts";
import { dequantizeFp4, lcg, randomFp4, type ScaleKind } from "./_testdata.ts";

interface Case {
  m: number;
  n: number;
  k: number;
  a: [number, number, ScaleKind]; // blockRows (0 = all rows), blockCols (0 = K), kind
  w: [number, number, ScaleKind];
  tA?: number;
  tW?: number;
}

function operands(c: Case, seed: number): [QuantizedTensor, QuantizedTensor] {
  const rnd = lcg(seed);
  const g = (rows: number, [br, bc, kind]: [number, number, ScaleKind], t: number) =>
    randomFp4(rows, c.k, br || Math.max(rows, 1), bc || Math.max(c.k, 1), kind, rnd, t);
  return [g(c.m, c.a, c.tA ?? 1), g(c.n, c.w, c.tW ?? 1)];
}

const CASES: Case[] = [
  // per token x per channel (the FP4 paper), odd sizes around the 4 x 8 tile and 64 x 128 tasks
  { m: 1, n: 1, k: 1, a: [1, 0, "f32"], w: [1, 0, "f32"] },
  { m: 3, n: 5, k: 7, a: [1, 0, "f32"], w: [1, 0, "f32"] },
  { m: 4, n: 8, k: 2, a: [1, 0, "f32"], w: [1, 0, "f32"] },
  { m: 67, n: 131, k: 250, a: [1, 0, "f32"], w: [1, 0, "f32"] },
  { m: 130, n: 260, k: 96, a: [1, 0, "f32"], w: [1, 0, "f32"] },
  // per tensor
  { m: 9, n: 17, k: 33, a: [0, 0, "f32"], w: [0, 0, "f32"] },
  // MXFP4: block 32, E8M0 scales; K not a multiple of 32
  { m: 33, n: 41, k: 96, a: [1, 32, "e8m0"], w: [1, 32, "e8m0"] },
  { m: 5, n: 9, k: 45, a: [1, 32, "e8m0"], w: [1, 32, "e8m0"] },
  // NVFP4: block 16, UE4M3 scales and a tensor scale; W with 16 x 16 2-D blocks
  { m: 20, n: 36, k: 80, a: [1, 16, "ue4m3"], w: [1, 16, "ue4m3"], tA: 37.25, tW: 1.0e3 / 3 },
  { m: 19, n: 40, k: 64, a: [1, 16, "ue4m3"], w: [16, 16, "ue4m3"], tA: 3, tW: 0.7 },
  // mixed granularity: per-token A with MX W
  { m: 7, n: 12, k: 70, a: [1, 0, "f32"], w: [1, 32, "e8m0"] },
];

for (const threads of [1, 2]) {
  Deno.test(`fp4Matmul is bit-identical to the reference (${threads} threads)`, () => {
    setThreads(threads);
    let seed = 7;
    for (const c of CASES) {
      const [a, w] = operands(c, seed++);
      const got = fp4Matmul(a, w);
      assertBitsEqual(got, fp4MatmulReference(a, w), `${JSON.stringify(c)}`);
    }
  });
}

Deno.test("fp4Matmul equals the dequantized f64 product up to f32 rounding", () => {
  // Independent of the epilogue order: dequantize with the contract's formula, multiply in f64.
  let seed = 99;
  for (const c of CASES) {
    const [a, w] = operands(c, seed++);
    const got = fp4Matmul(a, w);
    const da = dequantizeFp4(a), dw = dequantizeFp4(w);
    const want = matmulReference(da, dw, c.m, c.n, c.k, "nt");
    const scale = matmulReference(da.map(Math.abs), dw.map(Math.abs), c.m, c.n, c.k, "nt");
    for (let i = 0; i < want.length; i++) {
      const tol = 4e-6 * scale[i] + 1e-30;
      assert.ok(Math.abs(got[i] - want[i]) <= tol, `${JSON.stringify(c)} [${i}]`);
    }
  }
});

Deno.test("fp4Matmul on a hand-made example", () => {
  const op = (vals: number[], scale: number, t = 1): QuantizedTensor => ({
    shape: [1, vals.length],
    format: E2M1,
    data: packNibbles(encode(new Float32Array(vals), E2M1)),
    blockRows: 1,
    blockCols: vals.length,
    scales: new Float32Array([scale]),
    tensorScale: t,
    scaleFormat: "f32",
    scheme: "absmax",
  });
  // (1·3 + 2·1 − 0.5·4 + 6·0) · 0.5 · 2 = 3
  assert.deepEqual(fp4Matmul(op([1, 2, -0.5, 6], 0.5), op([3, 1, 4, 0], 2)), new Float32Array([3]));
  // the tensor scales divide last: 3 / 2 / 3 = 0.5
  assert.deepEqual(
    fp4Matmul(op([1, 2, -0.5, 6], 0.5, 2), op([3, 1, 4, 0], 2, 3)),
    new Float32Array([0.5]),
  );
});

Deno.test("fp4Matmul handles empty operands and K = 0", () => {
  const rnd = lcg(1);
  const e = (r: number, c: number) => randomFp4(r, c, 1, Math.max(c, 1), "f32", rnd);
  assert.deepEqual(fp4Matmul(e(0, 5), e(3, 5)), new Float32Array(0));
  assert.deepEqual(fp4Matmul(e(2, 0), e(3, 0)), new Float32Array(6));
  assert.deepEqual(fp4MatmulReference(e(2, 0), e(3, 0)), new Float32Array(6));
});

Deno.test("fp4Matmul rejects bad operands before any work", () => {
  const rnd = lcg(2);
  const a = randomFp4(4, 32, 1, 32, "f32", rnd);
  const w = randomFp4(8, 32, 1, 32, "f32", rnd);
  assert.throws(() => fp4Matmul(a, randomFp4(8, 30, 1, 30, "f32", rnd)), /must be equal/);
  assert.throws(() => fp4Matmul({ ...a, data: new Uint8Array(3) }, w), /a.data must hold/);
  assert.throws(() => fp4Matmul(a, { ...w, scales: new Float32Array(2) }), /w.scales must hold/);
  assert.throws(
    () => fp4Matmul({ ...a, format: { ...a.format, name: "E4M3", bits: 8 } }, w),
    /a.format must be E2M1/,
  );
  assert.throws(() => fp4Matmul(a, { ...w, tensorScale: 0 }), /tensorScale/);
  assert.throws(
    () => fp4Matmul(randomFp4(2, 60, 1, 20, "f32", rnd), randomFp4(2, 60, 1, 15, "f32", rnd)),
    /must nest/,
  );
  const out = new Float32Array(5).fill(7);
  assert.throws(() => fp4Matmul(a, w, { out }), /options.out must have m\*n = 32/);
  assert.deepEqual(out, new Float32Array(5).fill(7));
});

Deno.test("fp4Matmul on the pool (parallel packing and tiles) equals one thread, bit for bit", () => {
  // Big enough that both the packing job and the GEMM go to the pool.
  const rnd = lcg(21);
  const [m, n, k] = [16, 4096, 512]; // (m + n) * k >= 2^21 and m * n * k >= 2^23
  const a = randomFp4(m, k, 1, 32, "e8m0", rnd);
  const w = randomFp4(n, k, 1, 32, "e8m0", rnd);
  setThreads(1);
  const one = fp4Matmul(a, w);
  setThreads(2);
  assertBitsEqual(fp4Matmul(a, w), one);
  // and three rows against the reference
  const rows = 3, rowBytes = k / 2, nbk = k / 32;
  const a3 = {
    ...a,
    shape: [rows, k] as const,
    data: a.data.subarray(0, rows * rowBytes),
    scales: a.scales.subarray(0, rows * nbk),
  };
  assertBitsEqual(one.subarray(0, rows * n), fp4MatmulReference(a3, w));
});
