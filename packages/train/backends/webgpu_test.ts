// Every WGSL operation of the webgpu backend against the plain TypeScript it must reproduce
// (the functions the reference backend is made of), on odd shapes. Zero tolerance where the math
// is exact (rounding, codes, scales, the FP4 GEMM, copies, Hadamard, embedding sums in order);
// where the GPU sums f32 products in another order than the reference (which sums in f64), the
// tolerance is stated beside each check. WebGPU tests run in CI on lavapipe; on a machine
// without any adapter they are skipped with a note outside CI (as in @fp4lab/gemm-webgpu).
import assert from "node:assert/strict";
import { fp4MatmulReference, matmulReference, type QuantizedTensor } from "@fp4lab/kernels";
import { E2M1 } from "@fp4lab/fp4-format";
import { randomHadamard } from "@fp4lab/quant-granularity";
import { clampOutliers, csrMatmul, csrToDense } from "@fp4lab/outlier-comp";
import { applyGradientFactor } from "@fp4lab/dge";
import {
  adamwStep,
  clipGradNorm,
  createAdamW,
  exportAdamWState,
  fp8AllReduce,
} from "@fp4lab/mixed-optim";
import {
  attentionBackward,
  attentionForward,
  crossEntropy,
  embeddingBackward,
  embeddingForward,
  type OperandSpec,
  operandStats,
  quantizeOperand,
  quantizeOperandTensor,
  RECIPES,
  rmsnormBackward,
  rmsnormForward,
  ropeApply,
  ropeTables,
  swigluBackward,
  swigluForward,
  type Tensor,
} from "@fp4lab/train";
import { createWebGpuBackend, type WebGpuBackend } from "./webgpu.ts";
import { checkConformance } from "./_conformance.ts";
import { GpuRuntime } from "./_gpu_runtime.ts";
import { ADD_WGSL } from "@fp4lab/kernels";
import { requestGpu } from "@fp4lab/gemm-webgpu";
import { createReferenceBackend } from "./host.ts";
import type { Backend } from "../backend.ts";
import { LLAMA_PRESETS } from "../config.ts";
import { backward, createModel, forward, initialParams, readGrads, writeParams } from "../model.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const hasAdapter = await (async () => {
  try {
    return (await navigator.gpu?.requestAdapter()) != null;
  } catch {
    return false;
  }
})();
const inCI = Deno.env.get("CI") === "true";
if (!hasAdapter && !inCI) {
  console.warn(
    "no WebGPU adapter: skipping the webgpu backend tests (apt-get install mesa-vulkan-drivers)",
  );
}
const gpuOpts = { ...opts, ignore: !hasAdapter && !inCI };
let shared: WebGpuBackend | undefined;
async function gpu(): Promise<WebGpuBackend> {
  shared ??= await createWebGpuBackend();
  return shared;
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function randn(n: number, rnd: () => number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => {
    const u = 1 - rnd(), v = rnd();
    return scale * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  });
}
// Activation-like rows: mostly small values, a few outlier channels, exact ties and zeros.
function activations(rows: number, cols: number, rnd: () => number): Float32Array {
  const x = randn(rows * cols, rnd);
  for (let i = 0; i < x.length; i++) {
    const u = rnd();
    if (u < 0.02) x[i] *= 40;
    else if (u < 0.04) x[i] = 0;
    else if (u < 0.05) x[i] = 0.25 * Math.round(x[i] * 8);
  }
  return x;
}
function bitsEqual(got: Float32Array, want: Float32Array, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  const g = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const w = new Uint32Array(want.buffer, want.byteOffset, want.length);
  for (let i = 0; i < g.length; i++) {
    if (g[i] !== w[i] && !(Number.isNaN(got[i]) && Number.isNaN(want[i]))) {
      assert.fail(`${what}: [${i}] got ${got[i]} want ${want[i]}`);
    }
  }
}
function close(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  tol: (i: number) => number,
  what: string,
) {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    if (!(d <= tol(i))) {
      assert.fail(`${what}: [${i}] got ${got[i]} want ${want[i]} (tol ${tol(i)})`);
    }
  }
}
// Upload into a range of a larger buffer, so offsets are exercised everywhere.
function upload(be: WebGpuBackend, data: Float32Array | Int32Array, pad = 3): Tensor {
  const dtype = data instanceof Int32Array ? "i32" : "f32";
  const t = be.alloc(data.length + 2 * pad, dtype);
  const r = { ...t, offset: pad, length: data.length };
  be.write(r, data);
  return r;
}
async function f32(be: WebGpuBackend, t: Tensor): Promise<Float32Array> {
  return (await be.read(t)) as Float32Array;
}

Deno.test("webgpu: the probe reports the adapter's numerics", gpuOpts, async () => {
  const be = await gpu();
  assert.ok(["kept", "flushed"].includes(be.numerics.subnormals));
  assert.ok(["separate", "fused"].includes(be.numerics.multiplyAdd));
  console.log(
    `adapter ${be.device}: subnormals ${be.numerics.subnormals}, a*b+c ${be.numerics.multiplyAdd}`,
  );
});

Deno.test("webgpu: buffers, fill, copy, add, scale, transpose (exact)", gpuOpts, async () => {
  const be = await gpu();
  const rnd = rng(1);
  const x = randn(37, rnd), y = randn(37, rnd);
  const a = upload(be, x), b = upload(be, y), o = upload(be, new Float32Array(37));
  be.add(o, a, b);
  bitsEqual(await f32(be, o), x.map((v, i) => v + y[i]), "add");
  be.add(a, a, b); // out aliases a
  bitsEqual(await f32(be, a), x.map((v, i) => v + y[i]), "add in place");
  be.scale(b, 0.375);
  bitsEqual(await f32(be, b), y.map((v) => v * 0.375), "scale");
  be.fill(o, -2.5);
  bitsEqual(await f32(be, o), new Float32Array(37).fill(-2.5), "fill");
  const ints = be.alloc(5, "i32");
  be.fill(ints, -7);
  assert.deepEqual(await be.read(ints), new Int32Array(5).fill(-7));
  be.copy(o, b); // different buffers
  bitsEqual(await f32(be, o), y.map((v) => v * 0.375), "copy");
  const big = upload(be, randn(100, rnd), 0);
  const lo = { ...big, length: 40 }, hi = { ...big, offset: 50, length: 40 };
  be.copy(hi, lo); // the same buffer
  const all = await f32(be, big);
  bitsEqual(all.slice(50, 90), all.slice(0, 40), "copy inside one buffer");
  const m = randn(13 * 29, rnd), t = upload(be, new Float32Array(13 * 29));
  be.transpose(t, upload(be, m), 13, 29);
  const want = new Float32Array(13 * 29);
  for (let r = 0; r < 13; r++) for (let c = 0; c < 29; c++) want[c * 13 + r] = m[r * 29 + c];
  bitsEqual(await f32(be, t), want, "transpose");
});

Deno.test(
  "webgpu: f32 GEMM, every layout, accumulate, both tiles (tolerance 2e-6·Σ|a||b|)",
  gpuOpts,
  async () => {
    const be = await gpu();
    const rnd = rng(2);
    const shapes = [
      [1, 1, 1],
      [3, 5, 7],
      [65, 130, 33],
      [100, 3, 200],
      [7, 70, 1],
      [300, 260, 45],
      [0, 4, 3],
    ];
    for (const [m, n, k] of shapes) {
      for (const layout of ["nn", "nt", "tn"] as const) {
        for (const acc of [false, true]) {
          const a = randn(m * k, rnd), b = randn(k * n, rnd), init = randn(m * n, rnd);
          const out = upload(be, init);
          be.matmul(out, upload(be, a), upload(be, b), m, n, k, layout, acc);
          const want = matmulReference(a, b, m, n, k, layout, init.slice(), acc);
          const mag = matmulReference(a.map(Math.abs), b.map(Math.abs), m, n, k, layout);
          close(
            await f32(be, out),
            want,
            (i) => 2e-6 * (mag[i] + (acc ? Math.abs(init[i]) : 0)) + 1e-30,
            `${layout} ${m}x${n}x${k} acc=${acc}`,
          );
        }
      }
    }
  },
);

// Every operand spec the recipes use, plus the unscaled formats and a ragged block size.
function recipeSpecs(): OperandSpec[] {
  const seen = new Map<string, OperandSpec>();
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
        if (s !== "reuse") seen.set(JSON.stringify(s), s);
      }
    }
  }
  const extra: OperandSpec[] = [
    { format: "FP16", granularity: "none" },
    { format: "E4M3", granularity: "none" },
    { format: "BF16", granularity: "none", rounding: "stochastic" },
    { format: "E2M1", granularity: "tensor" },
    { format: "E2M1", granularity: "block", blockSize: 20 },
    { format: "E2M1", granularity: "row", rounding: "stochastic" },
    { format: "E4M3", granularity: "row" },
    {
      format: "E2M1",
      granularity: "block",
      blockSize: 32,
      scaleRule: "e8m0-floor",
      rounding: "stochastic",
    },
  ];
  for (const s of extra) seen.set(JSON.stringify(s), s);
  return [...seen.values()];
}

Deno.test(
  "webgpu: quantize, every recipe scheme, odd shapes: values and grid units bit-identical",
  gpuOpts,
  async () => {
    const be = await gpu();
    const rnd = rng(3);
    const specs = recipeSpecs();
    assert.ok(specs.length >= 12, `${specs.length} specs`);
    for (const [rows, cols] of [[7, 45], [33, 70], [20, 16], [1, 3]]) {
      const x = activations(rows, cols, rnd);
      x.fill(0, 0, cols); // an all-zero row
      for (const spec of specs) {
        const seed = 1234 + rows;
        const want = new Float32Array(rows * cols), wantGrid = new Float32Array(rows * cols);
        quantizeOperand(x, rows, cols, spec, want, seed, wantGrid);
        const src = upload(be, x), out = upload(be, new Float32Array(rows * cols));
        const grid = upload(be, new Float32Array(rows * cols));
        be.quantize(out, src, rows, cols, spec, seed, grid);
        const what = `${JSON.stringify(spec)} ${rows}x${cols}`;
        bitsEqual(await f32(be, out), want, what);
        if (spec.scaleRule === "nvfp4") {
          // grid units of NVFP4 are x·s_enc/scale in f64 on the CPU, two f32 roundings here
          close(await f32(be, grid), wantGrid, (i) => 4e-7 * Math.abs(wantGrid[i]), `${what} grid`);
        } else {
          bitsEqual(await f32(be, grid), wantGrid, `${what} grid`);
        }
        be.quantize(src, src, rows, cols, spec, seed); // in place
        bitsEqual(await f32(be, src), want, `${what} in place`);
      }
    }
  },
);

Deno.test(
  "webgpu: quantize saturates, keeps -0 and rounds ties to even like fp4-format",
  gpuOpts,
  async () => {
    const be = await gpu();
    const x = new Float32Array([
      0.25,
      0.75,
      2.5,
      5,
      -0,
      -0.2,
      7,
      -1e30,
      Infinity,
      -Infinity,
      1e-40,
      3.5,
    ]);
    for (const format of ["E2M1", "E4M3", "E5M2", "BF16", "FP16"]) {
      const spec = { format, granularity: "none" } as const;
      const want = new Float32Array(x.length);
      quantizeOperand(x, 1, x.length, spec, want, 0);
      const t = upload(be, x);
      be.quantize(t, t, 1, x.length, spec, 0);
      const got = await f32(be, t);
      if (be.numerics.subnormals === "flushed") got[10] = want[10]; // stated: subnormal input
      bitsEqual(got, want, format);
    }
  },
);

function specOf(name: string): OperandSpec {
  const table: Record<string, OperandSpec> = {
    row: { format: "E2M1", granularity: "row" },
    tensor: { format: "E2M1", granularity: "tensor" },
    mx: { format: "E2M1", granularity: "block", blockSize: 32, scaleRule: "e8m0-floor" },
    mxsr: {
      format: "E2M1",
      granularity: "block",
      blockSize: 32,
      scaleRule: "e8m0-floor",
      rounding: "stochastic",
    },
    nv: { format: "E2M1", granularity: "block", blockSize: 16, scaleRule: "nvfp4" },
    nv2d: { format: "E2M1", granularity: "block2d", blockSize: 16, scaleRule: "nvfp4" },
    b20: { format: "E2M1", granularity: "block", blockSize: 20 },
    b40: { format: "E2M1", granularity: "block", blockSize: 40 },
  };
  return table[name];
}

Deno.test(
  "webgpu: quantizeCodes gives the CPU's codes and scales; the FP4 GEMM is bit-identical (dot4 and i32)",
  gpuOpts,
  async () => {
    const be = await gpu();
    const plain = await createWebGpuBackend({ disableDot4: true });
    assert.equal(plain.dot4, false);
    const rnd = rng(4);
    const pairs: [string, string, number, number, number][] = [
      ["row", "row", 9, 13, 45],
      ["row", "row", 70, 67, 200],
      ["mx", "mx", 33, 17, 96],
      ["mxsr", "mx", 5, 70, 70],
      ["nv", "nv2d", 40, 35, 80],
      ["nv", "nv", 3, 129, 48],
      ["row", "mx", 64, 64, 64],
      ["tensor", "row", 11, 5, 19],
      ["b20", "b40", 6, 7, 57], // a K-block that is no multiple of 16: the simple kernel
    ];
    for (const [sa, sw, m, n, k] of pairs) {
      const a = activations(m, k, rnd), w = randn(n * k, rnd, 0.05);
      const aRef = new Float32Array(m * k), wRef = new Float32Array(n * k);
      const qa = quantizeOperandTensor(a, m, k, specOf(sa), aRef, 77);
      const wGridRef = new Float32Array(n * k);
      const qw = quantizeOperandTensor(w, n, k, specOf(sw), wRef, 78, wGridRef);
      const want = fp4MatmulReference(qa, qw);
      for (const b of [be, plain]) {
        const deqA = upload(b, new Float32Array(m * k)), deqW = upload(b, new Float32Array(n * k));
        const gridW = upload(b, new Float32Array(n * k));
        const ga = b.quantizeCodes(upload(b, a), m, k, specOf(sa), 77, deqA);
        const gw = b.quantizeCodes(upload(b, w), n, k, specOf(sw), 78, deqW, gridW);
        const what = `${sa}x${sw} ${m}x${n}x${k} dot4=${b.dot4}`;
        bitsEqual(await f32(b, deqA), aRef, `${what} dequantized A`);
        bitsEqual(await f32(b, deqW), wRef, `${what} dequantized W`);
        for (const [g, q] of [[ga, qa], [gw, qw]] as const) {
          const r = await b.readQuantized(g);
          assert.deepEqual(r.data, q.data, `${what} codes`);
          bitsEqual(r.scales, q.scales, `${what} scales`);
          assert.equal(r.tensorScale, Math.fround(q.tensorScale), `${what} tensor scale`);
        }
        const out = upload(b, new Float32Array(m * n));
        b.fp4Matmul(out, ga, gw);
        bitsEqual(await f32(b, out), want, `${what} product`);
        b.freeQuantized(ga);
        b.freeQuantized(gw);
      }
    }
    plain.dispose();
  },
);

Deno.test("webgpu: operand statistics (tolerance 1e-5 relative)", gpuOpts, async () => {
  const be = await gpu();
  const rnd = rng(5);
  const x = activations(17, 50, rnd), q = new Float32Array(x.length);
  quantizeOperand(x, 17, 50, { format: "E2M1", granularity: "row" }, q, 0);
  const want = operandStats(x, q, 17, 50);
  const got = await be.operandStats(upload(be, x), upload(be, q), 17, 50);
  close(
    [got.crestMean, got.crestMax],
    [want.crestMean, want.crestMax],
    (i) => 1e-5 * [want.crestMean, want.crestMax][i],
    "crest",
  );
  assert.equal(got.zeroFraction, want.zeroFraction);
});

Deno.test(
  "webgpu: OCC clamps at the exact quantiles (radix select), residual bit-identical",
  gpuOpts,
  async () => {
    const be = await gpu();
    const rnd = rng(6);
    for (
      const [rows, cols, alpha, scope] of [[9, 300, 0.99, "row"], [4, 1000, 0.97, "row"], [
        7,
        33,
        0.9,
        "tensor",
      ], [3, 5, 0.6, "row"]] as const
    ) {
      const x = activations(rows, cols, rnd);
      const want = clampOutliers(x, rows, cols, { alpha, scope });
      const clamped = upload(be, new Float32Array(rows * cols));
      const res = be.occClamp(clamped, upload(be, x), rows, cols, alpha, scope);
      const what = `${rows}x${cols} α=${alpha} ${scope}`;
      bitsEqual(await f32(be, clamped), want.clamped, `${what} clamped`);
      assert.equal(await res.sparsity, want.sparsity, `${what} sparsity`);
      const dense = upload(be, new Float32Array(rows * cols));
      be.residualAdd(dense, res);
      bitsEqual(await f32(be, dense), csrToDense(want.residual), `${what} residual`);
      const n = 11, w = randn(n * cols, rnd), init = randn(rows * n, rnd);
      const out = upload(be, init);
      be.residualMatmul(out, res, upload(be, w), n);
      const ref = csrMatmul(want.residual, w, n, init.slice(), true, "nt");
      const mag = csrMatmul(
        { ...want.residual, values: want.residual.values.map(Math.abs) },
        w.map(Math.abs),
        n,
        init.map(Math.abs),
        true,
        "nt",
      );
      close(
        await f32(be, out),
        ref,
        (i) => 2e-6 * mag[i],
        `${what} ΔA·Wᵀ (tolerance 2e-6·Σ|ΔA||W|)`,
      );
      be.freeResidual(res);
    }
  },
);

Deno.test(
  "webgpu: DGE (tolerance 1e-5 relative: f32 pow) and the random Hadamard transform (exact)",
  gpuOpts,
  async () => {
    const be = await gpu();
    const rnd = rng(7);
    const n = 1000;
    const grid = Float32Array.from({ length: n }, () => (rnd() - 0.5) * 12.2);
    grid[0] = 1.25; // a midpoint: capped
    grid[1] = 6; // the grid's end
    const raw = randn(n, rnd), acc0 = randn(n, rnd);
    const wantRaw = raw.slice();
    const stats = applyGradientFactor(wantRaw, grid, E2M1, { k: 5, cap: 3, out: wantRaw });
    const want = acc0.map((v, i) => v + wantRaw[i]);
    const acc = upload(be, acc0);
    const got = await be.dge(acc, upload(be, raw), upload(be, grid), "E2M1", 5, 3);
    close(
      await f32(be, acc),
      want,
      (i) => 1e-5 * (Math.abs(want[i]) + Math.abs(wantRaw[i])),
      "dge",
    );
    close([got.meanFactor], [stats.meanFactor], () => 1e-5 * stats.meanFactor, "mean factor");
    assert.equal(got.cappedFraction, stats.cappedFraction);
    for (const size of [16, 32] as const) {
      const x = randn(6 * 64, rnd);
      const t = upload(be, x);
      be.hadamard(t, 6, 64, size, 99);
      bitsEqual(await f32(be, t), randomHadamard(x, 6, 64, { size, seed: 99 }), `hadamard ${size}`);
    }
  },
);

Deno.test(
  "webgpu: embedding (exact), RMSNorm, RoPE, SwiGLU (tolerance 1e-5 relative)",
  gpuOpts,
  async () => {
    const be = await gpu();
    const rnd = rng(8);
    const M = 21, D = 40, V = 13;
    const tokens = Int32Array.from({ length: M }, () => Math.floor(rnd() * V));
    const table = randn(V * D, rnd);
    const want = new Float32Array(M * D);
    embeddingForward(want, tokens, table, M, D);
    const out = upload(be, new Float32Array(M * D)),
      tok = upload(be, tokens),
      tab = upload(be, table);
    be.embeddingForward(out, tok, tab, M, D);
    bitsEqual(await f32(be, out), want, "embedding forward");
    const dout = randn(M * D, rnd), dt0 = randn(V * D, rnd);
    const wantDt = dt0.slice();
    embeddingBackward(wantDt, dout, tokens, M, D);
    const dt = upload(be, dt0);
    be.embeddingBackward(dt, upload(be, dout), tok, M, D);
    bitsEqual(await f32(be, dt), wantDt, "embedding backward (rows in order)");

    const x = randn(M * D, rnd, 3), w = randn(D, rnd);
    const y = new Float32Array(M * D), rstd = new Float32Array(M);
    rmsnormForward(y, rstd, x, w, M, D, 1e-5);
    const gy = upload(be, new Float32Array(M * D)), gr = upload(be, new Float32Array(M));
    const gx = upload(be, x), gw = upload(be, w);
    be.rmsnormForward(gy, gr, gx, gw, M, D, 1e-5);
    const rel = (want: Float32Array, s = 1e-5) => (i: number) => s * (Math.abs(want[i]) + 1e-3);
    close(await f32(be, gy), y, rel(y), "rmsnorm forward");
    close(await f32(be, gr), rstd, rel(rstd), "rmsnorm rstd");
    const dy = randn(M * D, rnd), dx0 = randn(M * D, rnd), dw0 = randn(D, rnd);
    const dx = dx0.slice(), dw = dw0.slice();
    rmsnormBackward(dx, dw, dy, x, w, rstd, M, D);
    const gdx = upload(be, dx0), gdw = upload(be, dw0);
    be.rmsnormBackward(gdx, gdw, upload(be, dy), gx, gw, upload(be, rstd), M, D);
    close(await f32(be, gdx), dx, rel(dx, 1e-4), "rmsnorm dx");
    close(await f32(be, gdw), dw, rel(dw, 1e-4), "rmsnorm dweight");

    const B = 3, T = 7, H = 2, hd = 8, stride = 3 * H * hd;
    const { cos, sin } = ropeTables(T, hd, 10000);
    const q = randn(B * T * stride, rnd);
    for (const inverse of [false, true]) {
      const wantQ = q.slice();
      ropeApply(wantQ, B, T, stride, H * hd, H, hd, cos, sin, inverse);
      const gq = upload(be, q);
      be.rope(gq, B, T, stride, H * hd, H, hd, upload(be, cos), upload(be, sin), inverse);
      close(
        await f32(be, gq),
        wantQ,
        (i) => 1e-6 * (Math.abs(q[i]) + 1),
        `rope inverse=${inverse}`,
      );
    }

    const F = 19, gu = randn(M * 2 * F, rnd, 2);
    const h = new Float32Array(M * F);
    swigluForward(h, gu, M, F);
    const gh = upload(be, new Float32Array(M * F)), ggu = upload(be, gu);
    be.swigluForward(gh, ggu, M, F);
    close(await f32(be, gh), h, rel(h), "swiglu forward");
    const dh = randn(M * F, rnd), dgu0 = randn(M * 2 * F, rnd), dgu = dgu0.slice();
    swigluBackward(dgu, dh, gu, M, F);
    const gdgu = upload(be, dgu0);
    be.swigluBackward(gdgu, upload(be, dh), ggu, M, F);
    close(await f32(be, gdgu), dgu, rel(dgu), "swiglu backward");
  },
);

Deno.test(
  "webgpu: causal attention forward and backward, fp32 and BF16 probabilities (tolerance 1e-5)",
  gpuOpts,
  async () => {
    const be = await gpu();
    const rnd = rng(9);
    for (const [B, T, D, H] of [[2, 9, 24, 3], [1, 33, 32, 2]]) {
      for (const bf16 of [false, true]) {
        const qkv = randn(B * T * 3 * D, rnd);
        const out = new Float32Array(B * T * D), probs = new Float32Array(B * H * T * T);
        attentionForward(out, probs, qkv, B, T, D, H, bf16);
        const go = upload(be, new Float32Array(B * T * D)),
          gp = upload(be, new Float32Array(B * H * T * T));
        const gq = upload(be, qkv);
        be.attentionForward(go, gp, gq, B, T, D, H, bf16);
        const what = `B${B} T${T} D${D} H${H} bf16=${bf16}`;
        // BF16 probabilities: a value within 1e-6 of a BF16 rounding boundary may round the other
        // way, a 2^-8 relative step in that one probability.
        const pt = bf16 ? 4e-3 : 1e-5;
        close(await f32(be, gp), probs, (i) => pt * Math.abs(probs[i]) + 1e-7, `${what} probs`);
        close(
          await f32(be, go),
          out,
          (i) => (bf16 ? 1e-2 : 1e-5) * (Math.abs(out[i]) + 0.1),
          `${what} out`,
        );
        if (bf16) {
          continue;
        }
        const dout = randn(B * T * D, rnd), d0 = randn(B * T * 3 * D, rnd), d = d0.slice();
        attentionBackward(d, dout, qkv, probs, B, T, D, H);
        const gd = upload(be, d0);
        be.attentionBackward(gd, upload(be, dout), gq, upload(be, probs), B, T, D, H);
        close(await f32(be, gd), d, (i) => 1e-5 * (Math.abs(d[i]) + 1), `${what} backward`);
      }
    }
  },
);

Deno.test("webgpu: cross-entropy and the non-finite check", gpuOpts, async () => {
  const be = await gpu();
  const rnd = rng(10);
  const M = 12, V = 300;
  const logits = randn(M * V, rnd, 3);
  const targets = Int32Array.from({ length: M }, () => Math.floor(rnd() * V));
  for (const gradScale of [null, 1, 1024]) {
    const want = logits.slice();
    crossEntropy(want, targets, M, V, gradScale === null ? undefined : want);
    const probs = logits.slice();
    crossEntropy(probs, targets, M, V);
    if (gradScale !== null && gradScale !== 1) {
      for (let i = 0; i < want.length; i++) want[i] *= gradScale;
    }
    const gl = upload(be, logits), tp = upload(be, new Float32Array(M));
    be.crossEntropy(gl, upload(be, targets), tp, M, V, gradScale);
    close(
      await f32(be, gl),
      want,
      (i) => 1e-5 * Math.abs(want[i]) + 1e-9 * (gradScale ?? 1),
      `cross-entropy ${gradScale}`,
    );
    const wantP = Float32Array.from(targets, (t, m) => probs[m * V + t]);
    close(await f32(be, tp), wantP, (i) => 1e-5 * wantP[i], "target probabilities");
  }
  const x = upload(be, randn(1000, rnd));
  assert.equal(await be.hasNonFinite(x), false);
  be.write({ ...x, offset: x.offset + 500, length: 1 }, new Float32Array([Infinity]));
  assert.equal(await be.hasNonFinite(x), true);
});

Deno.test(
  "webgpu: unscale (exact), clipping (tolerance 1e-5) and the FP8 all-reduce",
  gpuOpts,
  async () => {
    const be = await gpu();
    const rnd = rng(11);
    const g1 = randn(300, rnd), g2 = randn(77, rnd);
    const t1 = upload(be, g1), t2 = upload(be, g2);
    assert.equal(await be.unscale([t1, t2], 0.125), true);
    bitsEqual(await f32(be, t1), g1.map((v) => v * 0.125), "unscale");
    const w1 = g1.map((v) => v * 0.125), w2 = g2.map((v) => v * 0.125);
    const norm = clipGradNorm([w1, w2], 0.5);
    const got = await be.clipGradNorm([t1, t2], 0.5);
    close([got], [norm], () => 1e-5 * norm, "norm");
    close(await f32(be, t1), w1, (i) => 1e-5 * Math.abs(w1[i]), "clipped");
    be.write({ ...t2, offset: t2.offset + 3, length: 1 }, new Float32Array([NaN]));
    assert.equal(await be.unscale([t1, t2], 1), false);

    for (const R of [2, 3]) {
      const lens = [50, 7, 1];
      const host = Array.from({ length: R }, () => lens.map((n) => randn(n, rnd, 0.01)));
      const dev = host.map((g) => g.map((x) => upload(be, x)));
      const stats = fp8AllReduce(host);
      const bytes = await be.fp8AllReduce(dev);
      assert.equal(bytes, stats.totalBytes, `bytes R=${R}`);
      for (let r = 0; r < R; r++) {
        for (let t = 0; t < lens.length; t++) {
          bitsEqual(
            await f32(be, dev[r][t]),
            host[r][t],
            `all-reduce R=${R} rank ${r} tensor ${t}`,
          );
        }
      }
    }
  },
);

Deno.test(
  "webgpu: AdamW with E4M3/FP16 moments follows mixed-optim (tolerance 1e-6 relative) and exports the same checkpoint layout",
  gpuOpts,
  async () => {
    const be = await gpu();
    const rnd = rng(12);
    for (const [m1Format, m2Format] of [["E4M3", "FP16"], ["f32", "f32"]] as const) {
      const p0 = [randn(200, rnd, 0.02), randn(33, rnd).map(() => 1)];
      const host = p0.map((p) => p.slice());
      const opt = createAdamW(host, { weightDecay: [0.1, 0], m1Format, m2Format });
      const params = p0.map((p) => upload(be, p));
      const handle = be.adamwCreate(params, { weightDecay: [0.1, 0], m1Format, m2Format });
      for (let s = 0; s < 3; s++) {
        const grads = p0.map((p) => randn(p.length, rnd, 1e-3));
        adamwStep(opt, grads, 1e-3);
        be.adamwStep(handle, grads.map((g) => upload(be, g)), 1e-3);
      }
      for (let k = 0; k < 2; k++) {
        close(
          await f32(be, params[k]),
          host[k],
          (i) => 1e-6 * Math.abs(host[k][i]) + 1e-9,
          `${m1Format} weights ${k}`,
        );
      }
      const ck = await be.adamwExport(handle);
      const want = exportAdamWState(opt);
      assert.equal(ck.step, 3);
      assert.equal(ck.m1Format, m1Format);
      assert.deepEqual(ck.m1Scales, want.m1Scales, `${m1Format} m1 scales`);
      assert.deepEqual(ck.m2Scales, want.m2Scales, `${m1Format} m2 scales`);
      // Stored moments: the same format and scale. E4M3 codes: a moment within f32 rounding of a
      // grid midpoint may round to the neighbouring code (counted: at most 2%); f32 moments agree
      // to 1e-6 of the tensor's largest moment (m sums terms of both signs).
      let differ = 0, total = 0;
      for (let k = 0; k < 2; k++) {
        const got = ck.m1[k], ref = want.m1[k];
        let big = 0;
        for (let i = 0; i < ref.length; i++) {
          big = Math.max(big, Math.abs(ref[i]));
        }
        for (let i = 0; i < ref.length; i++, total++) {
          const same = m1Format === "f32"
            ? Math.abs(got[i] - ref[i]) <= 1e-6 * (Math.abs(ref[i]) + big)
            : got[i] === ref[i];
          if (!same) {
            differ++;
          }
        }
      }
      assert.ok(
        differ <= (m1Format === "f32" ? 0 : 0.02 * total),
        `${m1Format}: ${differ} of ${total} stored first moments differ`,
      );
      const again = be.adamwImport(params, ck);
      const back = await be.adamwExport(again);
      assert.deepEqual(back.m1, ck.m1);
      assert.deepEqual(back.m2, ck.m2);
    }
  },
);

Deno.test(
  "webgpu: a repeated step allocates no new GPU buffers and submits only at read-backs",
  gpuOpts,
  async () => {
    const be = await gpu();
    const rnd = rng(13);
    const step = async () => {
      const a = be.alloc(64 * 64), b = be.alloc(64 * 64), c = be.alloc(64 * 64);
      be.fill(a, 1);
      be.fill(b, 2);
      for (let i = 0; i < 10; i++) be.matmul(c, a, b, 64, 64, 64, "nn", true);
      const q = be.quantizeCodes(c, 64, 64, specOf("row"), 1, a);
      be.fp4Matmul(b, q, q);
      be.freeQuantized(q);
      const s = await be.read({ ...b, length: 1 });
      be.free(a);
      be.free(b);
      be.free(c);
      return s;
    };
    void rnd;
    await step();
    const before = be.counters();
    await step();
    const after = be.counters();
    assert.equal(after.buffers, before.buffers, "buffers created by a second identical step");
    assert.ok(after.dispatches - before.dispatches >= 14);
    assert.ok(after.submits - before.submits <= 2, `${after.submits - before.submits} submits`);
  },
);

Deno.test(
  "webgpu backend: every op against the reference backend (sums 1e-5, element-wise 1e-5 of the largest value)",
  gpuOpts,
  async (t) => {
    // The reference computes transcendentals and some sums in f64; the GPU in f32.
    // The E8M0 rules other than floor are not in the WGSL quantizer: refused by name.
    await checkConformance(t, () => createWebGpuBackend(), { sum: 1e-5, elementwise: 1e-5 }, [
      "rceil",
    ]);
  },
);

// One training forward + backward of the smoke model on a backend.
async function step(be: Backend, recipe: keyof typeof RECIPES) {
  const config = LLAMA_PRESETS.smoke, B = 2, T = config.contextLength;
  const model = createModel(config, RECIPES[recipe], B, { backend: be });
  writeParams(model, initialParams(model.layout, 5).map((x) => x * 3));
  const tokens = Int32Array.from({ length: B * T }, (_, i) => (i * 37 + 11) % 256);
  const targets = Int32Array.from({ length: B * T }, (_, i) => (i * 53 + 5) % 256);
  const loss = await forward(model, tokens, targets, { training: true, step: 3 });
  backward(model, { step: 3, lossScale: 1024 });
  const grads = await readGrads(model);
  be.dispose();
  return { loss, grads, layout: model.layout };
}

Deno.test(
  "webgpu backend: a whole fp32 step equals the reference backend's (loss 1e-5, gradients 1e-4 of each tensor's largest)",
  gpuOpts,
  async () => {
    const ref = await step(createReferenceBackend(), "fp32");
    const gpuStep = await step(await createWebGpuBackend(), "fp32");
    assert.ok(
      Math.abs(gpuStep.loss - ref.loss) <= 1e-5 * ref.loss,
      `loss ${gpuStep.loss} vs ${ref.loss}`,
    );
    for (const p of ref.layout.params) {
      let scale = 0;
      for (let i = p.offset; i < p.offset + p.size; i++) {
        scale = Math.max(
          scale,
          Math.abs(ref.grads[i]),
        );
      }
      for (let i = p.offset; i < p.offset + p.size; i++) {
        assert.ok(
          Math.abs(gpuStep.grads[i] - ref.grads[i]) <= 1e-4 * scale,
          `${p.name}[${i - p.offset}]: ${gpuStep.grads[i]} vs ${ref.grads[i]}`,
        );
      }
    }
  },
);

Deno.test(
  "webgpu backend: fp4, mxfp4 and nvfp4 steps track the reference backend (loss 1e-4, gradients 1e-2 overall)",
  gpuOpts,
  async () => {
    // Roundings and the FP4 GEMM are exact on both; f32 summation order differs elsewhere, and a
    // value next to a rounding boundary may round the other way.
    for (const recipe of ["fp4", "mxfp4", "nvfp4"] as const) {
      const ref = await step(createReferenceBackend(), recipe);
      const g = await step(await createWebGpuBackend(), recipe);
      assert.ok(
        Math.abs(g.loss - ref.loss) <= 1e-4 * ref.loss,
        `${recipe} loss ${g.loss} vs ${ref.loss}`,
      );
      let diff = 0, norm = 0;
      for (let i = 0; i < ref.grads.length; i++) {
        diff += (g.grads[i] - ref.grads[i]) ** 2;
        norm += ref.grads[i] ** 2;
      }
      assert.ok(
        Math.sqrt(diff / norm) < 1e-2,
        `${recipe} gradient relative error ${Math.sqrt(diff / norm)}`,
      );
    }
  },
);

Deno.test(
  "webgpu: no dispatch binds one buffer twice (Chromium's Dawn rejects it; wgpu lets it pass, so the runtime refuses it too), yet add in place and with one input twice are right",
  gpuOpts,
  async () => {
    const rt = new GpuRuntime(await requestGpu());
    const one = rt.create(64), two = rt.create(64);
    assert.throws(
      () => rt.dispatch(ADD_WGSL, [one, one, two], { n: 4 }, [1]),
      /^Error: add: one buffer bound as o and a \(WebGPU forbids writable storage aliasing\)$/,
    );
    rt.destroy();
    const be = await gpu();
    const a = be.alloc(3), b = be.alloc(3);
    be.write(a, new Float32Array([1, 2, 3]));
    be.write(b, new Float32Array([10, 20, 30]));
    be.add(a, a, b);
    be.add(b, a, a);
    assert.deepEqual([...await be.read(a)], [11, 22, 33]);
    assert.deepEqual([...await be.read(b)], [22, 44, 66]);
    be.free(a);
    be.free(b);
  },
);

// Quiet the unused-import lint for the type-only helper above.
export type { QuantizedTensor };
