import assert from "node:assert/strict";
import { BF16, E4M3, type FloatFormat, FP16, quantize } from "@fp4lab/fp4-format";
import { adamwStep, createAdamW } from "./adamw.ts";
import type { MomentFormat, MomentScaling } from "./moment_format.ts";
import { momentValues } from "./moment_values.ts";
import { lrAt } from "./schedule.ts";
import { assertAllClose, assertBitsEqual, assertClose } from "../../tests/_util/assert.ts";
import { normal, seededRandom } from "../../tests/_util/random.ts";

const F32 = { m1Format: "f32", m2Format: "f32" } as const;

Deno.test("f32 AdamW follows the closed form under a constant gradient, with weight decay", () => {
  // g constant: m̂_t = g and v̂_t = g² exactly, so each step is w ← a·w − c with a = 1 − lr·λ and
  // c = lr·g/(|g| + ε); after T steps w_T = a^T w_0 − c(1 − a^T)/(1 − a).
  const lr = 0.01, lambda = 0.1, eps = 1e-8, T = 12;
  const g = new Float32Array([0.5, -2, 1e-3, 0, 30]);
  const w0 = new Float32Array([1, -1, 0.25, 2, -3]);
  const w = w0.slice();
  const opt = createAdamW([w], { ...F32, weightDecay: lambda, eps, beta1: 0.9, beta2: 0.999 });
  for (let t = 0; t < T; t++) adamwStep(opt, [g], lr);
  const a = 1 - lr * lambda;
  const expected = Array.from(w0, (x, i) => {
    const c = (lr * g[i]) / (Math.abs(g[i]) + eps);
    return a ** T * x - (c * (1 - a ** T)) / (1 - a);
  });
  assertAllClose(w, expected, { rtol: 1e-6, atol: 1e-7 });
  assert.equal(opt.step, T);
});

Deno.test("f32 AdamW follows the closed form under an alternating gradient (bias correction)", () => {
  // g_t = (−1)^t g: m_t = (−1)^t g (1 − β1)(1 − (−β1)^t)/(1 + β1), v_t = g²(1 − β2^t), so the
  // step is lr · m_t / (1 − β1^t) / (|g| + ε), a different size each step.
  const b1 = 0.9, b2 = 0.95, lr = 0.05, eps = 1e-8;
  const g = new Float32Array([0.3, -1.5, 4]);
  const w = new Float32Array([0, 1, -1]);
  const expected = Array.from(w);
  const opt = createAdamW([w], { ...F32, beta1: b1, beta2: b2, eps, weightDecay: 0 });
  for (let t = 1; t <= 6; t++) {
    const sign = t % 2 === 0 ? 1 : -1;
    adamwStep(opt, [g.map((x) => sign * x)], lr);
    for (let i = 0; i < g.length; i++) {
      const m = (sign * g[i] * (1 - b1) * (1 - (-b1) ** t)) / (1 + b1);
      expected[i] -= (lr * m) / (1 - b1 ** t) / (Math.abs(g[i]) + eps);
      const v = g[i] * g[i] * (1 - b2 ** t);
      assertClose(momentValues(opt, "m1", 0)[i], m, { rtol: 1e-6 });
      assertClose(momentValues(opt, "m2", 0)[i], v, { rtol: 1e-6 });
    }
    assertAllClose(w, expected, { rtol: 1e-6, atol: 1e-7 });
  }
});

/** Slow, obviously-correct reference of one tensor's step with narrow moments. */
function referenceStep(
  w: Float32Array,
  g: Float32Array,
  ref: { m: Float64Array; v: Float64Array; s1: number; s2: number },
  f1: FloatFormat,
  f2: FloatFormat,
  o: { b1: number; b2: number; eps: number; wd: number; lr: number; t: number },
): void {
  const n = w.length;
  const mNew = new Float64Array(n), vNew = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    mNew[i] = o.b1 * ref.m[i] + (1 - o.b1) * g[i];
    vNew[i] = o.b2 * ref.v[i] + (1 - o.b2) * g[i] * g[i];
    const denom = Math.sqrt(vNew[i]) * (1 / Math.sqrt(1 - o.b2 ** o.t)) + o.eps;
    w[i] = w[i] * (1 - o.lr * o.wd) - ((o.lr / (1 - o.b1 ** o.t)) * mNew[i]) / denom;
  }
  const storeRef = (x: Float64Array, f: FloatFormat) => {
    // Smallest power of two s with max|x| / s <= maxNormal, by brute force.
    const amax = x.reduce((a, b) => Math.max(a, Math.abs(b)), 0);
    let s = 2 ** -126;
    while (amax / s > f.maxNormal) s *= 2;
    if (amax === 0 || f === BF16) s = 1; // BF16 is stored unscaled
    const out = new Float64Array(n);
    const one = new Float32Array(1);
    for (let i = 0; i < n; i++) {
      one[0] = x[i] / s;
      out[i] = quantize(one, f)[0] * s;
    }
    return { values: out, scale: s };
  };
  const m = storeRef(mNew, f1), v = storeRef(vNew, f2);
  ref.m = m.values, ref.v = v.values, ref.s1 = m.scale, ref.s2 = v.scale;
}

for (
  const [m1Format, m2Format, f1, f2] of [
    ["E4M3", "FP16", E4M3, FP16],
    ["BF16", "E4M3", BF16, E4M3],
    ["FP16", "BF16", FP16, BF16],
  ] as const
) {
  Deno.test(`${m1Format}/${m2Format} moments match a slow reference bit for bit`, () => {
    const random = seededRandom(11);
    const n = 257;
    const w = Float32Array.from({ length: n }, () => normal(random));
    const wRef = w.slice();
    const o = { b1: 0.9, b2: 0.95, eps: 1e-8, wd: 0.1, lr: 3e-3, t: 0 };
    const opt = createAdamW([w], { m1Format, m2Format, weightDecay: o.wd });
    const ref = { m: new Float64Array(n), v: new Float64Array(n), s1: 1, s2: 1 };
    for (let step = 1; step <= 8; step++) {
      // Gradients over several binades, one exact zero, sign changes between steps.
      const g = Float32Array.from(
        { length: n },
        (_, i) => i === 3 ? 0 : normal(random) * 2 ** -(i % 20),
      );
      adamwStep(opt, [g], o.lr);
      referenceStep(wRef, g, ref, f1, f2, { ...o, t: step });
      assertBitsEqual(w, wRef, `weights after step ${step}`);
      assertBitsEqual(momentValues(opt, "m1", 0), Float32Array.from(ref.m), `m1 step ${step}`);
      assertBitsEqual(momentValues(opt, "m2", 0), Float32Array.from(ref.v), `m2 step ${step}`);
      assert.equal(opt.m1Scales[0], ref.s1);
      assert.equal(opt.m2Scales[0], ref.s2);
    }
  });
}

Deno.test("narrow moments are stored on their grid behind a power-of-two scale", () => {
  const w = new Float32Array(64);
  const opt = createAdamW([w, new Float32Array(3)]);
  const random = seededRandom(3);
  const g = Float32Array.from({ length: 64 }, () => normal(random) * 1e-4);
  adamwStep(opt, [g, new Float32Array(3)], 1e-3);
  for (
    const [stored, scale, format] of [[opt.m1[0], opt.m1Scales[0], E4M3], [
      opt.m2[0],
      opt.m2Scales[0],
      FP16,
    ]] as const
  ) {
    assertBitsEqual(quantize(stored, format), stored);
    assert.equal(Math.log2(scale), Math.round(Math.log2(scale)));
    const amax = stored.reduce((a, b) => Math.max(a, Math.abs(b)), 0);
    assert.ok(
      amax > format.maxNormal / 2 && amax <= format.maxNormal,
      `amax ${amax} in top binade`,
    );
  }
  // An all-zero gradient leaves zero moments with scale 1.
  assert.deepEqual([opt.m1Scales[1], opt.m2Scales[1]], [1, 1]);
});

// The quadratic f(w) = ½ Σ a_i (w_i − c_i)² with curvatures a_i over two decades, trained 1000
// steps with the paper's schedule shape. Gradients are small (≤ ~3e-3) so that v ≈ 1e-7: below
// FP16's smallest normal (6.1e-5), where unscaled FP16 storage fails.
function trainQuadratic(m1Format: MomentFormat, m2Format: MomentFormat, scaling: MomentScaling) {
  const random = seededRandom(7);
  const n = 1000;
  const a = new Float64Array(n), c = new Float64Array(n);
  const w = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a[i] = 1e-3 * 10 ** (-2 * random());
    c[i] = normal(random);
    w[i] = normal(random);
  }
  const opt = createAdamW([w], { m1Format, m2Format, momentScaling: scaling, weightDecay: 0 });
  const schedule = {
    kind: "cosine",
    peakLr: 0.02,
    minLr: 0.002,
    warmupSteps: 50,
    totalSteps: 1000,
  } as const;
  const loss = () => {
    let s = 0;
    for (let i = 0; i < n; i++) s += 0.5 * a[i] * (w[i] - c[i]) ** 2;
    return s;
  };
  const g = new Float32Array(n);
  const losses: number[] = [loss()];
  for (let t = 0; t < 1000; t++) {
    for (let i = 0; i < n; i++) g[i] = a[i] * (w[i] - c[i]);
    adamwStep(opt, [g], lrAt(schedule, t));
    losses.push(loss());
  }
  return { w, losses };
}

Deno.test("FP16 and FP8 moments stay within the documented error of f32 over 1000 steps", () => {
  const reference = trainQuadratic("f32", "f32", "tensor");
  const l0 = reference.losses[0];
  // Documented in the README: final weights within 1e-3 of the f32-moment run, final loss below
  // 1e-8 of the initial loss, and the loss curve within `curve` (relative, floor 1e-4·L0).
  for (
    const [m1, m2, curve] of [
      ["f32", "FP16", 0.01],
      ["E4M3", "FP16", 1],
      ["BF16", "BF16", 0.5],
    ] as const
  ) {
    const run = trainQuadratic(m1, m2, "tensor");
    let dw = 0, dl = 0;
    for (let i = 0; i < run.w.length; i++) dw = Math.max(dw, Math.abs(run.w[i] - reference.w[i]));
    for (let t = 0; t < run.losses.length; t++) {
      const lf = reference.losses[t];
      dl = Math.max(dl, Math.abs(run.losses[t] - lf) / (lf + 1e-4 * l0));
    }
    assert.ok(dw <= 1e-3, `${m1}/${m2}: final max|Δw| ${dw}`);
    assert.ok(run.losses[1000] <= 1e-8 * l0, `${m1}/${m2}: final loss ${run.losses[1000] / l0}·L0`);
    assert.ok(dl <= curve, `${m1}/${m2}: loss curve off by ${dl}`);
  }
});

Deno.test("unscaled FP16 flushes the small second moment to zero and the run fails", () => {
  // Why the per-tensor scale exists: without it v underflows, the update becomes m/ε and the
  // weights are thrown away from the minimum.
  const l0 = trainQuadratic("f32", "f32", "tensor").losses[0];
  const unscaled = trainQuadratic("f32", "FP16", "none");
  assert.ok(
    unscaled.losses[1000] > l0,
    `unscaled FP16 final loss ${unscaled.losses[1000] / l0}·L0`,
  );
  const scaled = trainQuadratic("f32", "FP16", "tensor");
  assert.ok(scaled.losses[1000] < 1e-8 * l0);
});

Deno.test("per-tensor weight decay applies to its tensor only", () => {
  const a = new Float32Array([1, 1]), b = new Float32Array([1, 1]);
  const opt = createAdamW([a, b], { ...F32, weightDecay: [0.5, 0] });
  adamwStep(opt, [new Float32Array(2), new Float32Array(2)], 0.1);
  assertAllClose(a, [0.95, 0.95]);
  assertAllClose(b, [1, 1]);
});

Deno.test("bad input gets a clear error", () => {
  const w = new Float32Array(4);
  assert.throws(
    () => createAdamW([w], { m1Format: "E5M2" as MomentFormat }),
    /moment format must be one of "f32", "FP16", "BF16", "E4M3", got "E5M2"/,
  );
  assert.throws(
    () => createAdamW([w], { beta1: 1 }),
    /options.beta1 must be a finite number in \[0, 1\)/,
  );
  assert.throws(() => createAdamW([w], { beta2: NaN }), /options.beta2/);
  assert.throws(() => createAdamW([w], { eps: 0 }), /options.eps/);
  assert.throws(() => createAdamW([w], { weightDecay: Infinity }), /options.weightDecay/);
  assert.throws(() => createAdamW([w], { weightDecay: [0.1, 0.1] }), /one per tensor/);
  assert.throws(
    () => createAdamW([w], { momentScaling: "block" as MomentScaling }),
    /momentScaling/,
  );
  assert.throws(() => createAdamW([[1, 2] as unknown as Float32Array]), TypeError);
  const opt = createAdamW([w]);
  assert.throws(() => adamwStep(opt, [new Float32Array(3)], 0.1), /grads\[0\] must have length 4/);
  assert.throws(() => adamwStep(opt, [w, w], 0.1), /grads must hold 1 tensors/);
  assert.throws(() => adamwStep(opt, [w], NaN), /lr must be a finite number/);
  assert.throws(() => adamwStep(opt, [w], -1), /lr must be a finite number in \[0/);
  assert.equal(opt.step, 0);
});

Deno.test("a moment that grows a thousandfold in one step is stored, not clipped", () => {
  // Each stored moment must be one rounding away from β·(previous stored) + (1 − β)·(g or g²).
  for (const format of ["E4M3", "FP16", "BF16"] as const) {
    const opt = createAdamW([new Float32Array(2)], { m1Format: format, m2Format: format });
    for (const g of [[1, -0.5], [1000, -2000], [1e-3, 5e4], [-3e5, 1]]) {
      const m = momentValues(opt, "m1", 0), v = momentValues(opt, "m2", 0);
      adamwStep(opt, [new Float32Array(g)], 1e-3);
      const expectM = g.map((x, i) => 0.9 * m[i] + 0.1 * x);
      const expectV = g.map((x, i) => 0.95 * v[i] + 0.05 * x * x);
      // Relative rounding ≤ 2^-4 (E4M3), plus E4M3's subnormal spacing for the smaller element.
      const atol = (x: number[]) => Math.max(...x.map(Math.abs)) * 2 ** -17;
      assertAllClose(momentValues(opt, "m1", 0), expectM, {
        rtol: 2 ** -4,
        atol: atol(expectM),
        message: `${format} m1 after g = ${g}`,
      });
      assertAllClose(momentValues(opt, "m2", 0), expectV, {
        rtol: 2 ** -4,
        atol: atol(expectV),
        message: `${format} m2 after g = ${g}`,
      });
    }
  }
});
