// Every operation of the resident CPU backend against the plain TypeScript it replaces (the
// packages' functions, which the reference backend runs): zero tolerance where the math is exact
// (rounding, codes, scales, the FP4 GEMM, OCC, Hadamard, AdamW), a stated tolerance where only the
// summation order differs; odd sizes; 1 and 2 threads.
import assert from "node:assert/strict";
import { assertBitsEqual } from "../../../tests/_util/assert.ts";
import { normal, seededRandom } from "../../../tests/_util/random.ts";
import { fp4MatmulReference, getThreads, matmulReference, setThreads } from "@fp4lab/kernels";
import { parseFormat } from "@fp4lab/fp4-format";
import { randomHadamard } from "@fp4lab/quant-granularity";
import { clampOutliers, csrMatmul } from "@fp4lab/outlier-comp";
import { applyGradientFactor } from "@fp4lab/dge";
import {
  adamwStep as hostAdamwStep,
  clipGradNorm as hostClip,
  createAdamW,
  exportAdamWState,
} from "@fp4lab/mixed-optim";
import { createWasmBackend } from "./wasm.ts";
import { checkConformance } from "./_conformance.ts";
import type { Backend, QuantizedOperand, Tensor } from "../backend.ts";
import type { QuantizedTensor } from "@fp4lab/kernels";
import { createHostCpuBackend, createReferenceBackend } from "./host.ts";
import { LLAMA_PRESETS } from "../config.ts";
import {
  backward,
  createModel,
  forward,
  freeModel,
  initialParams,
  readGrads,
  writeParams,
} from "../model.ts";
import type { OperandSpec } from "../recipe.ts";
import { RECIPES } from "../recipe.ts";
import { operandStats, quantizeOperand, quantizeOperandTensor } from "../operand.ts";
import {
  attentionBackward,
  attentionForward,
  crossEntropy,
  embeddingBackward,
  embeddingForward,
  rmsnormBackward,
  rmsnormForward,
  ropeApply,
  ropeTables,
  swigluBackward,
  swigluForward,
} from "../layers.ts";

/** Tolerance of the ops whose sums are reordered: max |a − b| <= TOL · max |b| per tensor. */
const TOL = 1e-5;

function randn(n: number, seed: number, scale = 1): Float32Array {
  const rnd = seededRandom(seed);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = normal(rnd) * scale;
  // a few outliers, exact zeros and negative zeros
  for (let i = 0; i < n; i += 97) x[i] *= 9;
  for (let i = 5; i < n; i += 131) x[i] = 0;
  for (let i = 11; i < n; i += 173) x[i] = -0;
  return x;
}

function assertNear(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  msg: string,
  tol = TOL,
) {
  assert.equal(actual.length, expected.length, `${msg}: length`);
  let maxRef = 0, maxDiff = 0, at = -1;
  for (let i = 0; i < expected.length; i++) {
    maxRef = Math.max(maxRef, Math.abs(expected[i]));
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= maxDiff)) {
      maxDiff = d;
      at = i;
    }
  }
  assert.ok(
    maxDiff <= tol * maxRef,
    `${msg}: max |diff| ${maxDiff} at ${at} (${actual[at]} vs ${
      expected[at]
    }) > ${tol} x ${maxRef}`,
  );
}

function put(be: Backend, data: Float32Array | Int32Array): Tensor {
  const t = be.alloc(data.length, data instanceof Int32Array ? "i32" : "f32");
  be.write(t, data);
  return t;
}

async function get(be: Backend, t: Tensor): Promise<Float32Array> {
  return (await be.read(t)) as Float32Array;
}

function eachThreads(name: string, fn: (be: Backend) => Promise<void> | void): void {
  for (const threads of [1, 2]) {
    Deno.test(`cpu (resident) ${name} (${threads} thread${threads > 1 ? "s" : ""})`, async () => {
      const before = getThreads();
      const be = createWasmBackend({ threads });
      try {
        await fn(be);
      } finally {
        be.dispose();
        setThreads(before);
      }
    });
  }
}

eachThreads("element-wise ops and transpose are exact", async (be) => {
  const n = 70001;
  const a = randn(n, 1), b = randn(n, 2);
  const ta = put(be, a), tb = put(be, b), out = be.alloc(n);
  be.add(out, ta, tb);
  const sum = new Float32Array(n).map((_, i) => a[i] + b[i]);
  assertBitsEqual(await get(be, out), sum, "add");
  be.scale(out, 0.3);
  const scaled = sum.slice();
  for (let i = 0; i < n; i++) scaled[i] *= 0.3;
  assertBitsEqual(await get(be, out), scaled, "scale");
  be.copy(out, ta);
  assertBitsEqual(await get(be, out), a, "copy");
  be.fill(out, -2.5);
  assert.ok((await get(be, out)).every((v) => v === -2.5));
  const rows = 37, cols = 91;
  const src = put(be, a.subarray(0, rows * cols)), dst = be.alloc(rows * cols);
  be.transpose(dst, src, rows, cols);
  const t = await get(be, dst);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) assert.equal(t[c * rows + r], a[r * cols + c]);
  }
  assert.equal(await be.hasNonFinite(ta), false);
  be.write(tb, b.map((v, i) => i === 777 ? NaN : v));
  assert.equal(await be.hasNonFinite(tb), true);
});

eachThreads("matmul in every layout, accumulating, within 1e-5", async (be) => {
  const [m, n, k] = [67, 45, 130];
  for (const layout of ["nn", "nt", "tn"] as const) {
    const a = randn(m * k, 3), b = randn(k * n, 4), c0 = randn(m * n, 5);
    const out = put(be, c0);
    be.matmul(out, put(be, a), put(be, b), m, n, k, layout, true);
    const want = matmulReference(a, b, m, n, k, layout);
    for (let i = 0; i < want.length; i++) want[i] += c0[i];
    assertNear(await get(be, out), want, `matmul ${layout}`);
  }
});

// Every operand spec the recipes use, and the variants the kernels support besides.
const SPECS: OperandSpec[] = (() => {
  const out = new Map<string, OperandSpec>();
  for (const r of Object.values(RECIPES)) {
    for (const lin of [r.linear, r.lmHead]) {
      for (
        const s of [
          lin.forward.a,
          lin.forward.w,
          lin.inputGrad.dy,
          lin.inputGrad.w,
          lin.weightGrad.dy,
          lin.weightGrad.a,
        ]
      ) {
        if (s !== "reuse" && s.format !== "fp32") out.set(JSON.stringify(s), s);
      }
    }
  }
  const extra: OperandSpec[] = [
    { format: "E2M1", granularity: "tensor" },
    { format: "E2M1", granularity: "row", rounding: "stochastic" },
    { format: "E4M3", granularity: "row" },
    { format: "E5M2", granularity: "block", blockSize: 32, scaleRule: "e8m0-floor" },
    { format: "E2M1", granularity: "block2d", blockSize: 16, scaleRule: "absmax" },
    { format: "E5M2", granularity: "none", rounding: "stochastic" },
    { format: "FP16", granularity: "none" },
  ];
  for (const s of extra) out.set(JSON.stringify(s), s);
  return [...out.values()];
})();

eachThreads("quantize is bit-identical to quantizeOperand for every recipe spec", async (be) => {
  for (const [rows, cols] of [[37, 50], [64, 48], [5, 7]]) {
    const x = randn(rows * cols, rows + cols, 0.7);
    const src = put(be, x), out = be.alloc(x.length), grid = be.alloc(x.length);
    for (const spec of SPECS) {
      const name = `${JSON.stringify(spec)} ${rows}x${cols}`;
      const want = new Float32Array(x.length), wantGrid = new Float32Array(x.length);
      quantizeOperand(x, rows, cols, spec, want, 1234, wantGrid);
      be.quantize(out, src, rows, cols, spec, 1234, grid);
      assertBitsEqual(await get(be, out), want, name);
      assertBitsEqual(await get(be, grid), wantGrid, `${name} grid`);
      const plain = new Float32Array(x.length);
      quantizeOperand(x, rows, cols, spec, plain, 99);
      const inPlace = put(be, x);
      be.quantize(inPlace, inPlace, rows, cols, spec, 99);
      assertBitsEqual(await get(be, inPlace), plain, `${name} in place`);
    }
  }
});

const CODE_SPECS = SPECS.filter((s) => s.format === "E2M1" && (s.granularity ?? "none") !== "none");

eachThreads(
  "quantizeCodes: codes, scales, values and grid units as quant-granularity",
  async (be) => {
    const rows = 37, cols = 50;
    const x = randn(rows * cols, 8, 2);
    const src = put(be, x), deq = be.alloc(x.length), grid = be.alloc(x.length);
    for (const spec of CODE_SPECS) {
      const want = new Float32Array(x.length), wantGrid = new Float32Array(x.length);
      const q = quantizeOperandTensor(x, rows, cols, spec, want, 77, wantGrid);
      const op = be.quantizeCodes(src, rows, cols, spec, 77, deq, grid);
      const name = JSON.stringify(spec);
      assertBitsEqual(await get(be, deq), want, `${name} values`);
      assertBitsEqual(await get(be, grid), wantGrid, `${name} grid`);
      const internal = op as unknown as { codes: number; scales: number };
      const mem = (be.view!(src) as Float32Array).buffer;
      assert.deepEqual(new Uint8Array(mem, internal.codes, q.data.length), q.data, `${name} codes`);
      assertBitsEqual(
        new Float32Array(mem, internal.scales, q.scales.length),
        q.scales,
        `${name} scales`,
      );
      be.freeQuantized(op);
    }
  },
);

eachThreads(
  "fp4Matmul is bit-identical to the reference on the recipes' operand pairs",
  async (be) => {
    const pairs: [OperandSpec, OperandSpec][] = [
      [RECIPES.fp4.linear.forward.a, RECIPES.fp4.linear.forward.w],
      [RECIPES.mxfp4.linear.forward.a, RECIPES.mxfp4.linear.forward.w],
      [RECIPES.nvfp4.linear.forward.a, RECIPES.nvfp4.linear.forward.w],
      [{ format: "E2M1", granularity: "tensor" }, { format: "E2M1", granularity: "row" }],
    ];
    const [m, n, k] = [37, 21, 96];
    const a = randn(m * k, 11), w = randn(n * k, 12, 0.05);
    const ta = put(be, a), tw = put(be, w);
    const da = be.alloc(m * k), dw = be.alloc(n * k), out = be.alloc(m * n);
    for (const [sa, sw] of pairs) {
      const qa = quantizeOperandTensor(a, m, k, sa, new Float32Array(m * k), 1);
      const qw = quantizeOperandTensor(w, n, k, sw, new Float32Array(n * k), 2);
      const oa = be.quantizeCodes(ta, m, k, sa, 1, da), ow = be.quantizeCodes(tw, n, k, sw, 2, dw);
      be.fp4Matmul(out, oa, ow);
      assertBitsEqual(await get(be, out), fp4MatmulReference(qa, qw), JSON.stringify([sa, sw]));
      be.freeQuantized(oa);
      be.freeQuantized(ow);
    }
  },
);

eachThreads("operandStats equals the reference", async (be) => {
  const rows = 33, cols = 70;
  const x = randn(rows * cols, 13);
  const r = new Float32Array(x.length);
  quantizeOperand(x, rows, cols, { format: "E2M1", granularity: "row" }, r, 0);
  const got = await be.operandStats(put(be, x), put(be, r), rows, cols);
  assert.deepEqual(got, operandStats(x, r, rows, cols));
});

eachThreads("OCC clamp, residual product and residual add equal outlier-comp", async (be) => {
  for (const scope of ["row", "tensor"] as const) {
    for (const [rows, cols] of [[41, 300], [9, 1000], [20, 32]]) {
      const x = randn(rows * cols, rows * 7 + cols);
      const want = clampOutliers(x, rows, cols, { alpha: 0.99, scope });
      const clamped = be.alloc(x.length);
      const res = be.occClamp(clamped, put(be, x), rows, cols, 0.99, scope);
      const name = `${scope} ${rows}x${cols}`;
      assertBitsEqual(await get(be, clamped), want.clamped, `${name} clamped`);
      assert.equal(await res.sparsity, want.sparsity, `${name} sparsity`);
      // 13 outputs: one task, a SIMD block and a scalar tail; 77: three column blocks
      for (const n of [13, 77]) {
        const w = randn(n * cols, 3);
        const base = randn(rows * n, 4);
        const out = put(be, base);
        be.residualMatmul(out, res, put(be, w), n);
        const expect = csrMatmul(want.residual, w, n, base.slice(), true, "nt");
        const got = await get(be, out);
        // rows without outliers are skipped (the reference adds +0 there, turning -0 into +0)
        for (let i = 0; i < got.length; i++) if (Object.is(got[i], -0)) got[i] = 0;
        for (let i = 0; i < expect.length; i++) if (Object.is(expect[i], -0)) expect[i] = 0;
        assertBitsEqual(got, expect, `${name} residual product n=${n}`);
      }
      const dense = put(be, want.clamped);
      be.residualAdd(dense, res);
      const added = want.clamped.slice();
      const { rowOffsets, columnIndices, values } = want.residual;
      for (let r = 0; r < rows; r++) {
        for (let e = rowOffsets[r]; e < rowOffsets[r + 1]; e++) {
          added[r * cols + columnIndices[e]] += values[e];
        }
      }
      assertBitsEqual(await get(be, dense), added, `${name} residual add`);
      be.freeResidual(res);
    }
  }
});

eachThreads("DGE factor applied to the gradient as dge's applyGradientFactor", async (be) => {
  const rows = 29, cols = 77;
  const w = randn(rows * cols, 21, 0.05);
  const spec: OperandSpec = { format: "E2M1", granularity: "row" };
  const grid = new Float32Array(w.length);
  quantizeOperand(w, rows, cols, spec, new Float32Array(w.length), 0, grid);
  const raw = randn(w.length, 22), acc0 = randn(w.length, 23);
  const want = applyGradientFactor(raw, grid, parseFormat("E2M1"), { k: 5, cap: 3 });
  const expect = acc0.map((v, i) => v + want.gradient[i]);
  const acc = put(be, acc0);
  const stats = await be.dge(acc, put(be, raw), put(be, grid), "E2M1", 5, 3);
  // the factor runs in f32 SIMD (ln and exp polynomials): not one of the bit-exact operations
  assertNear(await get(be, acc), expect, "dge", 1e-6);
  assert.ok(Math.abs(stats.meanFactor - want.meanFactor) <= 1e-6 * want.meanFactor);
  // a factor within f32 rounding of the cap may land on the other side of it
  assert.ok(Math.abs(stats.cappedFraction - want.cappedFraction) <= 2 / w.length);
});

eachThreads("matmulDge equals matmul then dge, bit for bit, statistics included", async (be) => {
  // Odd sizes: partial micro-tiles, K past one and two K blocks (256), N past one column block
  // (256), an empty K, more rows than one A block (72); every layout; accumulating onto a
  // non-zero gradient.
  const shapes = [[13, 33, 300], [29, 301, 70], [7, 5, 600], [40, 19, 1], [6, 8, 0], [1, 1, 257]];
  shapes.push([97, 301, 520]); // above the GEMM's threshold for the pool: several tiles per thread
  for (const [m, n, k] of shapes) {
    for (const layout of ["tn", "nt", "nn"] as const) {
      const name = `${layout} ${m}x${n} over ${k}`;
      const w = randn(m * n, m + n, 0.05);
      const grid = new Float32Array(w.length);
      quantizeOperand(
        w,
        m,
        n,
        { format: "E2M1", granularity: "row" },
        new Float32Array(w.length),
        0,
        grid,
      );
      const a = put(be, randn(m * k, 7 + k)), b = put(be, randn(k * n, 8 + k));
      const acc0 = randn(m * n, 9), g = put(be, grid);
      const raw = be.alloc(m * n), want = put(be, acc0);
      be.matmul(raw, a, b, m, n, k, layout, false);
      const wantStats = await be.dge(want, raw, g, "E2M1", 5, 3);
      const got = put(be, acc0);
      const stats = await be.matmulDge!(got, a, b, m, n, k, layout, g, "E2M1", 5, 3, true);
      assertBitsEqual(await get(be, got), await get(be, want), name);
      assert.deepEqual(stats, wantStats, `${name} statistics`);
      const quiet = put(be, acc0);
      assert.equal(be.matmulDge!(quiet, a, b, m, n, k, layout, g, "E2M1", 5, 3, false), null);
      assertBitsEqual(await get(be, quiet), await get(be, want), `${name} without statistics`);
    }
  }
});

eachThreads("matmulCodes equals matmul on the dequantized copy, bit for bit", async (be) => {
  // Every scale layout the quantizer writes: per row, per tensor, 1-D blocks (absmax, E8M0),
  // NVFP4's 16 x 16 tiles with its tensor scale, and a scheme the TypeScript quantizer serves
  // (ties up). B [k, n] with odd n (a half-filled last code byte, partial panels), K past one
  // block (256), a product above the pool's threshold; "nn" and "tn"; accumulating or not.
  const specs: OperandSpec[] = [
    { format: "E2M1", granularity: "row" },
    { format: "E2M1", granularity: "tensor" },
    { format: "E2M1", granularity: "block", blockSize: 32, scaleRule: "e8m0-floor" },
    { format: "E2M1", granularity: "block", blockSize: 16 },
    { format: "E2M1", granularity: "block2d", blockSize: 16, scaleRule: "nvfp4" },
    { format: "E2M1", granularity: "row", rounding: "nearest-up" },
  ];
  const shapes = [[7, 13, 5], [29, 77, 300], [130, 264, 150], [3, 1, 9]];
  for (const spec of specs) {
    for (const [m, n, k] of shapes) {
      const bSrc = put(be, randn(k * n, m + n + k));
      const deq = be.alloc(k * n);
      const withCopy = be.quantizeCodes(bSrc, k, n, spec, 3, deq);
      const noCopy = be.quantizeCodes(bSrc, k, n, spec, 3, null);
      for (const layout of ["nn", "tn"] as const) {
        for (const accumulate of [false, true]) {
          const name = `${JSON.stringify(spec)} ${layout} ${m}x${n} over ${k} acc=${accumulate}`;
          const a = put(be, randn(m * k, 40 + k)), c0 = randn(m * n, 41);
          const want = put(be, c0), got = put(be, c0), got2 = put(be, c0);
          be.matmul(want, a, deq, m, n, k, layout, accumulate);
          be.matmulCodes!(got, a, withCopy, m, n, k, layout, accumulate);
          be.matmulCodes!(got2, a, noCopy, m, n, k, layout, accumulate);
          const expect = await get(be, want);
          assertBitsEqual(await get(be, got), expect, name);
          assertBitsEqual(await get(be, got2), expect, `${name} (codes without a copy)`);
        }
      }
      be.freeQuantized(withCopy);
      be.freeQuantized(noCopy);
    }
  }
  const q = be.quantizeCodes(put(be, randn(12, 1)), 3, 4, specs[0], 0, null);
  assert.throws(() => be.matmulCodes!(be.alloc(8), be.alloc(8), q, 2, 4, 2, "nn", false), /3x4/);
});

eachThreads("random Hadamard transform is bit-identical", async (be) => {
  for (const size of [16, 32] as const) {
    const rows = 19, cols = 96;
    const x = randn(rows * cols, size);
    const t = put(be, x);
    be.hadamard(t, rows, cols, size, 42);
    assertBitsEqual(
      await get(be, t),
      randomHadamard(x, rows, cols, { size, seed: 42 }),
      `H${size}`,
    );
  }
});

eachThreads("embedding, RMSNorm, RoPE, SwiGLU against layers.ts", async (be) => {
  const M = 45, D = 36, V = 29, F = 70;
  const rnd = seededRandom(5);
  const tokens = new Int32Array(M).map(() => Math.floor(rnd() * V));
  tokens[3] = tokens[4] = tokens[40]; // repeats accumulate
  const table = randn(V * D, 31);
  const out = be.alloc(M * D);
  const tt = put(be, tokens);
  be.embeddingForward(out, tt, put(be, table), M, D);
  const embWant = new Float32Array(M * D);
  embeddingForward(embWant, tokens, table, M, D);
  assertBitsEqual(await get(be, out), embWant, "embedding forward");
  const dout = randn(M * D, 32), dt0 = randn(V * D, 33);
  const dtable = put(be, dt0);
  be.embeddingBackward(dtable, put(be, dout), tt, M, D);
  const dtWant = dt0.slice();
  embeddingBackward(dtWant, dout, tokens, M, D);
  assertBitsEqual(await get(be, dtable), dtWant, "embedding backward");

  const x = randn(M * D, 34), w = randn(D, 35);
  const rstd = be.alloc(M), y = be.alloc(M * D);
  be.rmsnormForward(y, rstd, put(be, x), put(be, w), M, D, 1e-5);
  const yWant = new Float32Array(M * D), rWant = new Float32Array(M);
  rmsnormForward(yWant, rWant, x, w, M, D, 1e-5);
  assertNear(await get(be, rstd), rWant, "rmsnorm rstd", 1e-6);
  assertNear(await get(be, y), yWant, "rmsnorm out", 1e-6);
  const dx0 = randn(M * D, 36), dw0 = randn(D, 37);
  const dx = put(be, dx0), dw = put(be, dw0);
  be.rmsnormBackward(dx, dw, put(be, dout), put(be, x), put(be, w), put(be, rWant), M, D);
  const dxWant = dx0.slice(), dwWant = dw0.slice();
  rmsnormBackward(dxWant, dwWant, dout, x, w, rWant, M, D);
  assertNear(await get(be, dx), dxWant, "rmsnorm dx");
  assertNear(await get(be, dw), dwWant, "rmsnorm dweight");

  const B = 3, T = 15, H = 3, hd = 12, stride = 3 * H * hd + 4;
  const { cos, sin } = ropeTables(T, hd, 10000);
  const buf = randn(B * T * stride, 38);
  for (const inverse of [false, true]) {
    const rb = put(be, buf);
    be.rope(rb, B, T, stride, 4, H, hd, put(be, cos), put(be, sin), inverse);
    const want = buf.slice();
    ropeApply(want, B, T, stride, 4, H, hd, cos, sin, inverse);
    assertNear(await get(be, rb), want, `rope inverse=${inverse}`, 1e-6);
  }

  const gu = randn(M * 2 * F, 39, 2);
  const h = be.alloc(M * F);
  be.swigluForward(h, put(be, gu), M, F);
  const hWant = new Float32Array(M * F);
  swigluForward(hWant, gu, M, F);
  assertNear(await get(be, h), hWant, "swiglu forward", 1e-6);
  const dh = randn(M * F, 40), dgu0 = randn(M * 2 * F, 41);
  const dgu = put(be, dgu0);
  be.swigluBackward(dgu, put(be, dh), put(be, gu), M, F);
  const dguWant = dgu0.slice();
  swigluBackward(dguWant, dh, gu, M, F);
  assertNear(await get(be, dgu), dguWant, "swiglu backward", 1e-6);
});

eachThreads("cross-entropy: probabilities, target probabilities and the gradient", async (be) => {
  const M = 37, V = 259;
  const logits = randn(M * V, 50, 3);
  const rnd = seededRandom(51);
  const targets = new Int32Array(M).map(() => Math.floor(rnd() * V));
  for (const gradScale of [null, 1, 1024]) {
    const lt = put(be, logits), tp = be.alloc(M);
    be.crossEntropy(lt, put(be, targets), tp, M, V, gradScale);
    const probs = logits.slice();
    const dl = new Float32Array(M * V);
    crossEntropy(probs, targets, M, V, dl);
    const tpWant = new Float32Array(M).map((_, m) => probs[m * V + targets[m]]);
    assertNear(await get(be, tp), tpWant, "target probabilities", 1e-6);
    if (gradScale === null) assertNear(await get(be, lt), probs, "probabilities", 1e-6);
    else assertNear(await get(be, lt), dl.map((v) => v * gradScale), "dlogits", 1e-6);
  }
});

eachThreads(
  "attention forward and backward against layers.ts (odd T, BF16 probabilities)",
  async (be) => {
    for (
      const [B, T, D, H, bf16] of [[2, 13, 24, 2, false], [1, 37, 32, 4, true], [
        3,
        8,
        16,
        1,
        false,
      ]] as const
    ) {
      const qkv = randn(B * T * 3 * D, T + D, 0.5);
      const out = be.alloc(B * T * D), probs = be.alloc(B * H * T * T);
      const tq = put(be, qkv);
      be.attentionForward(out, probs, tq, B, T, D, H, bf16);
      const oWant = new Float32Array(B * T * D), pWant = new Float32Array(B * H * T * T);
      attentionForward(oWant, pWant, qkv, B, T, D, H, bf16);
      const name = `B${B} T${T} D${D} H${H}`;
      // BF16 probabilities: a reordered sum can land on the other side of a BF16 rounding step
      const tol = bf16 ? 1e-2 : TOL;
      assertNear(await get(be, probs), pWant, `${name} probs`, tol);
      assertNear(await get(be, out), oWant, `${name} out`, tol);
      const dout = randn(B * T * D, 60), d0 = randn(B * T * 3 * D, 61);
      const dq = put(be, d0);
      be.attentionBackward(dq, put(be, dout), tq, put(be, pWant), B, T, D, H);
      const dWant = d0.slice();
      attentionBackward(dWant, dout, qkv, pWant, B, T, D, H);
      assertNear(await get(be, dq), dWant, `${name} dqkv`);
    }
  },
);

eachThreads("clipping and unscaling as mixed-optim", async (be) => {
  const sizes = [1000, 70001, 3];
  const host = sizes.map((n, i) => randn(n, 70 + i));
  const flat = be.alloc(sizes.reduce((a, b) => a + b, 0));
  let off = 0;
  const grads = sizes.map((n) => {
    const t = { ...flat, offset: off, length: n };
    off += n;
    return t;
  });
  grads.forEach((t, i) => be.write(t, host[i]));
  const copy = host.map((h) => h.slice());
  const norm = await be.clipGradNorm(grads, 1);
  const want = hostClip(copy, 1);
  assert.equal(norm, want);
  for (let i = 0; i < grads.length; i++) {
    assertBitsEqual(await get(be, grads[i]), copy[i], "clipped");
  }
  assert.equal(await be.unscale(grads, 0.5), true);
  be.write(grads[2], new Float32Array([1, Infinity, 2]));
  assert.equal(await be.unscale(grads, 0.5), false);
});

for (const [m1, m2] of [["f32", "f32"], ["E4M3", "FP16"], ["BF16", "FP16"]] as const) {
  eachThreads(`AdamW with ${m1}/${m2} moments is bit-identical to mixed-optim`, async (be) => {
    const sizes = [4097, 70001, 33];
    const params = sizes.map((n, i) => randn(n, 80 + i, 0.02));
    const host = params.map((p) => p.slice());
    const flat = be.alloc(sizes.reduce((a, b) => a + b, 0));
    const gflat = be.alloc(flat.length);
    let off = 0;
    const pt: Tensor[] = [], gt: Tensor[] = [];
    sizes.forEach((n, i) => {
      pt.push({ ...flat, offset: off, length: n });
      gt.push({ ...gflat, offset: off, length: n });
      be.write(pt[i], params[i]);
      off += n;
    });
    const weightDecay = [0.1, 0, 0.1];
    const opt = be.adamwCreate(pt, { weightDecay, m1Format: m1, m2Format: m2 });
    const state = createAdamW(host, { weightDecay, m1Format: m1, m2Format: m2 });
    for (let step = 0; step < 6; step++) {
      const grads = sizes.map((n, i) => randn(n, 100 * step + i, step === 3 ? 100 : 0.01));
      grads.forEach((g, i) => be.write(gt[i], g));
      be.adamwStep(opt, gt, 1e-3 * (step + 1));
      hostAdamwStep(state, grads, 1e-3 * (step + 1));
    }
    for (let i = 0; i < sizes.length; i++) assertBitsEqual(await get(be, pt[i]), host[i], `w${i}`);
    const got = await be.adamwExport(opt);
    const want = exportAdamWState(state);
    assert.deepEqual(got, want);
  });
}

for (const threads of [1, 2]) {
  Deno.test(`cpu (resident), ${threads} thread(s): every op against the reference backend`, async (t) => {
    const before = getThreads();
    try {
      await checkConformance(t, () => createWasmBackend({ threads }));
    } finally {
      setThreads(before);
    }
  });
}

// One training forward + backward of the smoke model on a backend, recording the codes and
// scales of every FP4 operand it quantizes (in call order).
async function smokeStep(be: Backend, recipe: keyof typeof RECIPES, codesOf: CodesReader) {
  const config = LLAMA_PRESETS.smoke, B = 2, T = config.contextLength;
  const operands: { codes: Uint8Array; scales: Float32Array }[] = [];
  const spy: Backend = Object.create(be);
  spy.quantizeCodes = (...args) => {
    const q = be.quantizeCodes(...args);
    operands.push(codesOf(be, q));
    return q;
  };
  if (be.occQuantizeCodes) {
    // the fused OCC + activation codes (fp4's forward A) records its operand the same way
    spy.occQuantizeCodes = (...args) => {
      const r = be.occQuantizeCodes!(...args);
      if (r) operands.push(codesOf(be, r.q));
      return r;
    };
  }
  const model = createModel(config, RECIPES[recipe], B, { backend: spy });
  writeParams(model, initialParams(model.layout, 5).map((x) => x * 3));
  const tokens = Int32Array.from({ length: B * T }, (_, i) => (i * 37 + 11) % 256);
  const targets = Int32Array.from({ length: B * T }, (_, i) => (i * 53 + 5) % 256);
  const loss = await forward(model, tokens, targets, { training: true, step: 3 });
  backward(model, { step: 3, lossScale: 1024 });
  const grads = await readGrads(model);
  freeModel(model);
  return { loss, grads, layout: model.layout, operands };
}

type CodesReader = (
  be: Backend,
  q: QuantizedOperand,
) => { codes: Uint8Array; scales: Float32Array };

const referenceCodes: CodesReader = (_be, q) => {
  const t = (q as unknown as { q: QuantizedTensor }).q;
  return { codes: t.data.slice(), scales: t.scales.slice() };
};

const wasmCodes: CodesReader = (be, q) => {
  const w = q as unknown as { codes: number; scales: number; rows: number; cols: number };
  const o = q as unknown as { blockRows: number; blockCols: number };
  const mem = (be.view!(be.alloc(0)) as Float32Array).buffer;
  const groups = Math.ceil(w.rows / o.blockRows) * Math.ceil(w.cols / o.blockCols);
  return {
    codes: new Uint8Array(mem, w.codes, w.rows * Math.ceil(w.cols / 2)).slice(),
    scales: new Float32Array(mem, w.scales, groups).slice(),
  };
};

for (const threads of [1, 2]) {
  Deno.test(`cpu (resident), ${threads} thread(s): a whole fp32 smoke step equals the reference backend's within 1e-5`, async () => {
    const before = getThreads();
    try {
      const ref = await smokeStep(createReferenceBackend(), "fp32", referenceCodes);
      const cpu = await smokeStep(createWasmBackend({ threads }), "fp32", wasmCodes);
      assert.ok(
        Math.abs(cpu.loss - ref.loss) <= 1e-5 * ref.loss,
        `loss ${cpu.loss} vs ${ref.loss}`,
      );
      for (const p of ref.layout.params) {
        const want = ref.grads.subarray(p.offset, p.offset + p.size);
        assertNear(cpu.grads.subarray(p.offset, p.offset + p.size), want, p.name);
      }
    } finally {
      setThreads(before);
    }
  });

  Deno.test(`cpu (resident), ${threads} thread(s): fp4 / mxfp4 / nvfp4 smoke steps: FP4 codes and scales identical`, async () => {
    const before = getThreads();
    try {
      for (const recipe of ["fp4", "mxfp4", "nvfp4"] as const) {
        const ref = await smokeStep(createReferenceBackend(), recipe, referenceCodes);
        const cpu = await smokeStep(createWasmBackend({ threads }), recipe, wasmCodes);
        assert.ok(ref.operands.length > 0, `${recipe} quantized no FP4 operand`);
        assert.equal(cpu.operands.length, ref.operands.length);
        // Codes are compared where both backends quantized the same input: the weights (every
        // odd call: each GEMM quantizes A then W) and the first layer's activation. Later
        // activations come out of f32 sums whose order differs: compare them in aggregate.
        let same = 0, total = 0;
        ref.operands.forEach((r, i) => {
          const c = cpu.operands[i];
          if (i % 2 === 1 || i === 0) {
            assert.deepEqual(c.codes, r.codes, `${recipe} operand ${i} codes`);
            assertBitsEqual(c.scales, r.scales, `${recipe} operand ${i} scales`);
          }
          for (let j = 0; j < r.codes.length; j++) if (r.codes[j] === c.codes[j]) same++;
          total += r.codes.length;
        });
        assert.ok(same / total > 0.99, `${recipe}: ${same} of ${total} code bytes agree`);
        assert.ok(
          Math.abs(cpu.loss - ref.loss) <= 1e-4 * ref.loss,
          `${recipe} loss ${cpu.loss} vs ${ref.loss}`,
        );
        let diff = 0, norm = 0;
        for (let i = 0; i < ref.grads.length; i++) {
          diff += (cpu.grads[i] - ref.grads[i]) ** 2;
          norm += ref.grads[i] ** 2;
        }
        assert.ok(
          Math.sqrt(diff / norm) < 1e-2,
          `${recipe} gradient error ${Math.sqrt(diff / norm)}`,
        );
      }
    } finally {
      setThreads(before);
    }
  });
}

// The fused operations (DGE in the weight GEMM, FP4 codes decoded in GEMM packing) move
// arithmetic, they do not change it: a smoke step with them equals one without, bit for bit.
eachThreads("fp4 recipes: a smoke step with the GEMM fusions equals one without", async (be) => {
  const plain: Backend = { ...be, matmulDge: undefined, matmulCodes: undefined };
  for (const recipe of ["fp4", "fp4-direct", "nvfp4", "mxfp4", "fp4-paper-exact"] as const) {
    const fused = await smokeStep(be, recipe, wasmCodes);
    const unfused = await smokeStep(plain, recipe, wasmCodes);
    assert.ok(Object.is(fused.loss, unfused.loss), `${recipe} loss`);
    assertBitsEqual(fused.grads, unfused.grads, `${recipe} gradients`);
  }
});

// The host `cpu` backend runs layers.ts with the kernel set's GEMMs: the resident kernels repeat
// its f64 arithmetic and its GEMMs' summation order, so a training run gives the same losses on
// both (the two-lane f64 exp is within an ulp of Math.exp: only the rarest ties could differ).
eachThreads("layers equal the host cpu backend bit for bit", async (be) => {
  const host = createHostCpuBackend();
  const both = async (
    run: (b: Backend, put: (x: Float32Array | Int32Array) => Tensor) => Tensor[],
  ) => {
    const outs: Float32Array[][] = [];
    for (const b of [host, be]) {
      const ts = run(b, (x) => {
        const t = b.alloc(x.length, x instanceof Int32Array ? "i32" : "f32");
        b.write(t, x);
        return t;
      });
      const r: Float32Array[] = [];
      for (const t of ts) r.push((await b.read(t)) as Float32Array);
      outs.push(r);
    }
    return outs;
  };
  const B = 2, T = 19, D = 24, H = 2, F = 37, V = 61, M = B * T;
  const qkv = randn(M * 3 * D, 90, 0.7), dout = randn(M * D, 91), dq0 = randn(M * 3 * D, 92);
  for (const bf16 of [false, true]) {
    const [h, r] = await both((b, p) => {
      const out = b.alloc(M * D), probs = b.alloc(B * H * T * T), dq = p(dq0);
      const q = p(qkv);
      b.attentionForward(out, probs, q, B, T, D, H, bf16);
      b.attentionBackward(dq, p(dout), q, probs, B, T, D, H);
      return [out, probs, dq];
    });
    h.forEach((x, i) => assertBitsEqual(r[i], x, `attention bf16=${bf16} output ${i}`));
  }
  const gu = randn(M * 2 * F, 93, 2), dh = randn(M * F, 94), dgu0 = randn(M * 2 * F, 95);
  const x = randn(M * D, 96), w = randn(D, 97), dx0 = randn(M * D, 98), dw0 = randn(D, 99);
  const { cos, sin } = ropeTables(T, D / H, 10000);
  const logits = randn(M * V, 100, 3);
  const targets = new Int32Array(M).map((_, i) => (i * 7) % V);
  const [h, r] = await both((b, p) => {
    const hh = b.alloc(M * F), dgu = p(dgu0), g = p(gu);
    b.swigluForward(hh, g, M, F);
    b.swigluBackward(dgu, p(dh), g, M, F);
    const y = b.alloc(M * D), rstd = b.alloc(M), xx = p(x), ww = p(w), dx = p(dx0), dw = p(dw0);
    b.rmsnormForward(y, rstd, xx, ww, M, D, 1e-5);
    b.rmsnormBackward(dx, dw, p(dout), xx, ww, rstd, M, D);
    const rq = p(qkv);
    b.rope(rq, B, T, 3 * D, 0, H, D / H, p(cos), p(sin), false);
    b.rope(rq, B, T, 3 * D, D, H, D / H, p(cos), p(sin), true);
    const lg = p(logits), tp = b.alloc(M), lg2 = p(logits), tp2 = b.alloc(M), tg = p(targets);
    b.crossEntropy(lg, tg, tp, M, V, null);
    b.crossEntropy(lg2, tg, tp2, M, V, 1024);
    return [hh, dgu, y, rstd, dx, dw, rq, lg, tp, lg2, tp2];
  });
  const names = [
    "swiglu",
    "dswiglu",
    "rmsnorm",
    "rstd",
    "rmsnorm dx",
    "rmsnorm dweight",
    "rope",
    "probabilities",
    "target probabilities",
    "dlogits",
    "target probabilities (grad)",
  ];
  h.forEach((v, i) => assertBitsEqual(r[i], v, names[i]));
  host.dispose();
});

eachThreads(
  "OCC fused with the activation's codes equals occClamp, quantizeCodes, residualAdd",
  async (be) => {
    const spec = RECIPES.fp4.linear.forward.a, specW = RECIPES.fp4.linear.forward.w;
    // odd widths (scalar tails, an odd nibble), one shape large enough for the pool
    for (const [rows, cols] of [[41, 300], [9, 1001], [20, 33], [300, 257]]) {
      const x = randn(rows * cols, rows + 3 * cols);
      x.fill(0, 0, cols); // an all-zero row: scale 1
      x.fill(-2.5, cols, 2 * cols); // a constant row: thresholds equal, no residual
      const n = 13;
      const w = randn(n * cols, 5, 0.05);
      const name = `${rows}x${cols}`;
      // reference: outlier-comp's clamp, the TypeScript quantizer, ΔA added back, the FP4 GEMM
      const want = clampOutliers(x, rows, cols, { alpha: 0.99, scope: "row" });
      const wantDeq = new Float32Array(rows * cols);
      const qa = quantizeOperandTensor(want.clamped, rows, cols, spec, wantDeq, 1);
      const { rowOffsets, columnIndices, values } = want.residual;
      for (let r = 0; r < rows; r++) {
        for (let e = rowOffsets[r]; e < rowOffsets[r + 1]; e++) {
          wantDeq[r * cols + columnIndices[e]] += values[e];
        }
      }
      const qw = quantizeOperandTensor(w, n, cols, specW, new Float32Array(n * cols), 2);
      const tw = put(be, w), dw = be.alloc(n * cols), out = be.alloc(rows * n);
      const ow = be.quantizeCodes(tw, n, cols, specW, 2, dw);
      const deq = be.alloc(rows * cols);
      const fused = be.occQuantizeCodes!(put(be, x), rows, cols, 0.99, "row", spec, 1, deq);
      assert.ok(fused, "the wasm backend fuses the fp4 recipe's activation");
      assertBitsEqual(await get(be, deq), wantDeq, `${name} dequantized + residual`);
      assert.equal(await fused.residual.sparsity, want.sparsity, `${name} sparsity`);
      // the codes and scales, through the exact GEMM
      be.fp4Matmul(out, fused.q, ow);
      assertBitsEqual(await get(be, out), fp4MatmulReference(qa, qw), `${name} codes and scales`);
      // the residual product reads the fused residual as it reads occClamp's
      const base = randn(rows * n, 6), acc = put(be, base);
      be.residualMatmul(acc, fused.residual, dw, n);
      const expect = csrMatmul(want.residual, await get(be, dw), n, base.slice(), true, "nt");
      const got = await get(be, acc);
      for (let i = 0; i < got.length; i++) if (Object.is(got[i], -0)) got[i] = 0;
      for (let i = 0; i < expect.length; i++) if (Object.is(expect[i], -0)) expect[i] = 0;
      assertBitsEqual(got, expect, `${name} residual product`);
      be.freeQuantized(fused.q);
      be.freeQuantized(ow);
      be.freeResidual(fused.residual);
    }
    // a NaN (a diverged run): the fused codes, values and residual are those of the three calls
    {
      const rows = 6, cols = 70;
      const x = randn(rows * cols, 99);
      x[2 * cols + 17] = NaN;
      const tx = put(be, x), w = put(be, randn(5 * cols, 98, 0.05));
      const wd = be.alloc(5 * cols), ow = be.quantizeCodes(w, 5, cols, specW, 2, wd);
      const clamped = be.alloc(rows * cols), d1 = be.alloc(rows * cols), d2 = be.alloc(rows * cols);
      const r1 = be.occClamp(clamped, tx, rows, cols, 0.99, "row");
      const q1 = be.quantizeCodes(clamped, rows, cols, spec, 1, d1);
      be.residualAdd(d1, r1);
      const f = be.occQuantizeCodes!(tx, rows, cols, 0.99, "row", spec, 1, d2)!;
      assertBitsEqual(await get(be, d2), await get(be, d1), "NaN row: values");
      const o1 = be.alloc(rows * 5), o2 = be.alloc(rows * 5);
      be.fp4Matmul(o1, q1, ow);
      be.fp4Matmul(o2, f.q, ow);
      assertBitsEqual(await get(be, o2), await get(be, o1), "NaN row: codes and scales");
      for (const q of [q1, f.q, ow]) be.freeQuantized(q);
      be.freeResidual(r1);
      be.freeResidual(f.residual);
    }
    // schemes it does not fuse: null, and the caller makes the three calls
    const t = put(be, randn(8 * 64, 1)), d = be.alloc(8 * 64);
    assert.equal(be.occQuantizeCodes!(t, 8, 64, 0.99, "tensor", spec, 1, d), null);
    const mx = RECIPES.mxfp4.linear.forward.a;
    assert.equal(be.occQuantizeCodes!(t, 8, 64, 0.99, "row", mx, 1, d), null);
  },
);
