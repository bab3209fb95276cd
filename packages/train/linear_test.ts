import assert from "node:assert/strict";
import { E2M1, E4M3, E5M2, quantize } from "@fp4lab/fp4-format";
import { createLinear, linearBackward, linearForward, settleLinearStats } from "./linear.ts";
import { createReferenceBackend } from "./backends/host.ts";
import type { Tensor } from "./backend.ts";
import { RECIPES } from "./recipe.ts";
import { quantizeOperand } from "./operand.ts";
import { dgeFactor } from "@fp4lab/dge";

const M = 6, K = 128, N = 5;
const a = Float32Array.from(
  { length: M * K },
  (_, i) => Math.sin(i * 1.3) * (i % 17 === 0 ? 9 : 1),
);
const w = Float32Array.from({ length: N * K }, (_, i) => Math.cos(i * 0.77) * 0.1);
const dy = Float32Array.from({ length: M * N }, (_, i) => Math.sin(i * 0.31) * 1e-3);

// The layer runs on the reference backend; tensors are host arrays it owns.
const be = createReferenceBackend();
const put = (x: Float32Array): Tensor => {
  const t = be.alloc(x.length);
  be.write(t, x);
  return t;
};
const zeros = (n: number): Tensor => be.alloc(n);
const get = (t: Tensor) => be.view!(t) as Float32Array;
const [aT, wT, dyT0] = [put(a), put(w), put(dy)];

// Per-row absmax E2M1 by hand: x̂ = Q(x / s) · s with s = absmax / 6.
function rowQuant(x: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let r = 0; r < rows; r++) {
    let amax = 0;
    for (let c = 0; c < cols; c++) amax = Math.max(amax, Math.abs(x[r * cols + c]));
    const s = Math.fround(amax / 6);
    const t = Float32Array.from(x.subarray(r * cols, r * cols + cols), (v) => v / s);
    quantize(t, E2M1, { out: t });
    for (let c = 0; c < cols; c++) out[r * cols + c] = t[c] * s;
  }
  return out;
}

function mm(x: Float32Array, y: Float32Array, m: number, n: number, k: number, yT: boolean) {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += x[i * k + p] * (yT ? y[j * k + p] : y[p * n + j]);
      out[i * n + j] = s;
    }
  }
  return out;
}

function close(x: ArrayLike<number>, y: ArrayLike<number>, tol: number, what: string) {
  let max = 0;
  for (let i = 0; i < y.length; i++) max = Math.max(max, Math.abs(y[i]));
  for (let i = 0; i < y.length; i++) {
    assert.ok(Math.abs(x[i] - y[i]) <= tol * max, `${what}[${i}]: ${x[i]} vs ${y[i]}`);
  }
}

Deno.test("linear fp4-direct: forward and both backward GEMMs use the rounded operands", async () => {
  const lin = createLinear(be, "t", RECIPES["fp4-direct"].linear, M, K, N);
  const outT = zeros(M * N), out = get(outT);
  linearForward(lin, outT, aT, wT, 1, true);
  const aq = rowQuant(a, M, K), wq = rowQuant(w, N, K);
  close(out, mm(aq, wq, M, N, K, true), 1e-6, "Y");
  const daT = zeros(M * K), dwT = zeros(N * K), da = get(daT), dw = get(dwT);
  linearBackward(lin, dyT0, daT, dwT, 1, true);
  await settleLinearStats(lin);
  let amax = 0;
  for (const v of dy) amax = Math.max(amax, Math.abs(v));
  const s = Math.fround(amax / E5M2.maxNormal);
  const dyq = Float32Array.from(dy, (v) => v / s);
  quantize(dyq, E5M2, { out: dyq });
  for (let i = 0; i < dyq.length; i++) dyq[i] *= s;
  close(da, mm(dyq, wq, M, K, N, false), 1e-6, "dA");
  // dW = dŶᵀ Â
  const dyT = new Float32Array(N * M);
  for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) dyT[j * M + i] = dyq[i * N + j];
  close(dw, mm(dyT, aq, N, K, M, false), 1e-6, "dW");
  assert.ok(lin.stats.a!.zeroFraction > 0, "the outlier rows flush small entries to zero");
  assert.ok(lin.stats.a!.crestMax > lin.stats.w!.crestMax);
});

Deno.test("linear fp4: OCC adds the clamped residual back, DGE scales the weight gradient", async () => {
  const lin = createLinear(be, "t", RECIPES.fp4.linear, M, K, N);
  const outT = zeros(M * N), out = get(outT);
  linearForward(lin, outT, aT, wT, 1, true);
  // Per-token clamp at the ⌊0.01·128⌋ = 1st and ⌊0.99·128⌋ = 126th order statistics.
  const clamped = new Float32Array(M * K);
  for (let r = 0; r < M; r++) {
    const row = Array.from(a.subarray(r * K, r * K + K)).sort((x, y) => x - y);
    const lo = row[Math.floor(0.01 * K)], hi = row[Math.floor(0.99 * K)];
    for (let c = 0; c < K; c++) clamped[r * K + c] = Math.min(hi, Math.max(lo, a[r * K + c]));
  }
  const aq = rowQuant(clamped, M, K);
  for (let i = 0; i < aq.length; i++) aq[i] += a[i] - clamped[i];
  const wq = rowQuant(w, N, K);
  close(out, mm(aq, wq, M, N, K, true), 1e-6, "Y");
  const dwT = zeros(N * K), dwDirectT = zeros(N * K), dw = get(dwT), dwDirect = get(dwDirectT);
  linearBackward(lin, dyT0, null, dwT, 1, true);
  await settleLinearStats(lin);
  const direct = createLinear(be, "t", RECIPES["fp4-direct"].linear, M, K, N);
  linearForward(direct, zeros(M * N), aT, wT, 1, false);
  linearBackward(direct, dyT0, null, dwDirectT, 1, false);
  // Grid units of W for the factor: W / (absmax_row / 6).
  const scaled = new Float32Array(N * K);
  for (let r = 0; r < N; r++) {
    let amax = 0;
    for (let c = 0; c < K; c++) amax = Math.max(amax, Math.abs(w[r * K + c]));
    for (let c = 0; c < K; c++) scaled[r * K + c] = w[r * K + c] / Math.fround(amax / 6);
  }
  const f = dgeFactor(scaled, E2M1);
  // dW is the GEMM of the rounded dY and the OCC activation, times the factor.
  const dyq = new Float32Array(M * N);
  let amax = 0;
  for (const v of dy) amax = Math.max(amax, Math.abs(v));
  const s = Math.fround(amax / E5M2.maxNormal);
  for (let i = 0; i < dy.length; i++) dyq[i] = dy[i] / s;
  quantize(dyq, E5M2, { out: dyq });
  for (let i = 0; i < dyq.length; i++) dyq[i] *= s;
  const dyT = new Float32Array(N * M);
  for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) dyT[j * M + i] = dyq[i * N + j];
  const ref = mm(dyT, aq, N, K, M, false);
  for (let i = 0; i < ref.length; i++) ref[i] *= f[i];
  close(dw, ref, 1e-6, "dW with DGE");
  assert.ok(lin.stats.dge!.meanFactor > 0 && lin.stats.dge!.cappedFraction >= 0);
  assert.equal(lin.stats.occSparsity, (2 * M) / (M * K), "one entry clamped per side per row");
  assert.notDeepEqual(Array.from(dw), Array.from(dwDirect));
});

Deno.test("linear fp4 with an E4M3 OCC residual: ΔA rounded to E4M3 per tensor, in the product and in the saved Â", () => {
  const recipe = {
    ...RECIPES.fp4.linear,
    occ: { alpha: 0.99, scope: "row" as const, residual: "E4M3" as const },
  };
  const lin = createLinear(be, "t", recipe, M, K, N);
  const outT = zeros(M * N), out = get(outT);
  linearForward(lin, outT, aT, wT, 1, false);
  const clamped = new Float32Array(M * K);
  for (let r = 0; r < M; r++) {
    const row = Array.from(a.subarray(r * K, r * K + K)).sort((x, y) => x - y);
    const lo = row[Math.floor(0.01 * K)], hi = row[Math.floor(0.99 * K)];
    for (let c = 0; c < K; c++) clamped[r * K + c] = Math.min(hi, Math.max(lo, a[r * K + c]));
  }
  // ΔA by hand, rounded to E4M3 with the per-tensor absmax scale s = absmax / 448.
  const delta = Float32Array.from(a, (v, i) => v - clamped[i]);
  let amax = 0;
  for (const v of delta) amax = Math.max(amax, Math.abs(v));
  const s = Math.fround(amax / E4M3.maxNormal);
  const dq = Float32Array.from(delta, (v) => v / s);
  quantize(dq, E4M3, { out: dq });
  for (let i = 0; i < dq.length; i++) dq[i] *= s;
  assert.ok(dq.some((v, i) => v !== delta[i]), "this ΔA is not exact in E4M3 (the test can fail)");
  const aq = rowQuant(clamped, M, K);
  const wq = rowQuant(w, N, K);
  const full = Float32Array.from(aq, (v, i) => v + dq[i]);
  close(out, mm(full, wq, M, N, K, true), 1e-6, "Y with the E4M3 residual");
  // The f32-residual layer gives a different product: the option is not a no-op.
  const f32 = createLinear(be, "t", RECIPES.fp4.linear, M, K, N);
  const outF = zeros(M * N);
  linearForward(f32, outF, aT, wT, 1, false);
  assert.notDeepEqual(Array.from(get(outF)), Array.from(out));
  // The backward sees Q(A_c) + Q8(ΔA): dW against it.
  const dwT = zeros(N * K);
  linearBackward(lin, dyT0, null, dwT, 1, false);
  const dwF = zeros(N * K);
  linearBackward(f32, dyT0, null, dwF, 1, false);
  assert.notDeepEqual(Array.from(get(dwT)), Array.from(get(dwF)));
});

Deno.test("linear fp4 with an E4M3 OCC residual: the cpu backend agrees with the reference", async () => {
  const { createCpuBackend } = await import("./backends/wasm.ts");
  const recipe = {
    ...RECIPES.fp4.linear,
    occ: { alpha: 0.97, scope: "row" as const, residual: "E4M3" as const },
  };
  const outs: Float32Array[] = [];
  for (const b of [createReferenceBackend(), createCpuBackend({ threads: 1 })]) {
    const lin = createLinear(b, "t", recipe, M, K, N);
    const x = b.alloc(M * K), y = b.alloc(N * K), o = b.alloc(M * N);
    b.write(x, a);
    b.write(y, w);
    linearForward(lin, o, x, y, 3, false);
    outs.push((await b.read(o)) as Float32Array);
    b.dispose();
  }
  close(outs[1], outs[0], 1e-5, "cpu vs reference");
});

Deno.test("operands: the nvfp4 recipe follows the reference operation order; MX uses E8M0 floor", () => {
  const x = new Float32Array(32);
  for (let i = 0; i < 32; i++) x[i] = (i - 13) * 0.37;
  const nv = quantizeOperand(x, 1, 32, RECIPES.nvfp4.linear.forward.a, new Float32Array(32), 0);
  // By hand for block 0: s_enc = 2688 / amax_tensor, sd = E4M3(amax_b · s_enc/6), etc.
  const amaxT = Math.fround(18 * 0.37), amaxB = Math.fround(13 * 0.37);
  const sEnc = Math.fround(2688 / amaxT);
  const sd = quantize(
    new Float32Array([Math.min(Math.fround(amaxB * Math.fround(sEnc * Math.fround(1 / 6))), 448)]),
    E4M3,
  )[0];
  const enc = Math.fround(1 / Math.fround(sd * Math.fround(1 / sEnc)));
  for (let i = 0; i < 16; i++) {
    const q =
      quantize(new Float32Array([Math.max(-6, Math.min(6, Math.fround(x[i] * enc)))]), E2M1)[0];
    assert.equal(nv[i], Math.fround(Math.fround(q * sd) / sEnc), `element ${i}`);
  }
  const mx = quantizeOperand(x, 1, 32, RECIPES.mxfp4.linear.forward.a, new Float32Array(32), 0);
  // amax 6.66: e = floor(log2 6.66) − 2 = 0, scale 1: plain E2M1 rounding with saturation.
  assert.deepEqual(Array.from(mx), Array.from(quantize(x, E2M1)));
});

Deno.test("linear: the Hadamard transform cancels in an unrounded weight-gradient GEMM", () => {
  // nvfp4's layout with f32 operands: dYᵀ·A must not change when both get H along tokens.
  const f32 = { format: "fp32" } as const;
  const recipe = {
    ...RECIPES.fp32.linear,
    weightGrad: { dy: f32, a: f32, hadamard: 16 as const },
  };
  const M16 = 16;
  const lin = createLinear(be, "t", recipe, M16, K, N);
  const plain = createLinear(be, "t", RECIPES.fp32.linear, M16, K, N);
  const a16 = put(new Float32Array(M16 * K).map((_, i) => Math.sin(i * 0.37))),
    dy16 = put(new Float32Array(M16 * N).map((_, i) => Math.cos(i)));
  const out = zeros(M16 * N);
  const dwT = zeros(N * K), dwRefT = zeros(N * K), dw = get(dwT), dwRef = get(dwRefT);
  linearForward(lin, out, a16, wT, 3, false);
  linearBackward(lin, dy16, null, dwT, 3, false);
  linearForward(plain, out, a16, wT, 3, false);
  linearBackward(plain, dy16, null, dwRefT, 3, false);
  close(dw, dwRef, 1e-5, "dW with RHT");
  let moved = 0;
  for (let i = 0; i < dw.length; i++) moved += Math.abs(dw[i] - dwRef[i]);
  assert.ok(moved > 0, "the transform ran (f32 rounding differs)");
});
