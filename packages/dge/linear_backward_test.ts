// A full linear layer with DGE: Y = A · Q(W)ᵀ, W stored [N, K] (row n = output channel n) with
// per-output-channel absmax scaling into E2M1. The backward pass (weight-gradient GEMM, then
// applyGradientFactor on the scaled weights) must be the exact gradient of the SURROGATE forward
// Y = A · S(W)ᵀ with S(W)[n, k] = s_n · f(W[n, k] / s_n), f = dgeSurrogate. The scale s_n is
// held fixed (a stop-gradient, as in the method: the paper's App. C.2 cancels s_n against 1/s_n),
// so the finite differences perturb W at fixed s_n.
import assert from "node:assert/strict";
import { E2M1, quantize, seedKey, uniformAt } from "@fp4lab/fp4-format";
import { assertClose } from "../../tests/_util/assert.ts";
import { applyGradientFactor } from "./apply.ts";
import { dgeSurrogate } from "./surrogate.ts";

const M = 7; // tokens
const K = 12; // input features
const N = 5; // output channels
const MAX = E2M1.maxNormal;

function randoms(n: number, seed: number, lo = -1, hi = 1): Float64Array {
  const key = seedKey(seed);
  return Float64Array.from({ length: n }, (_, i) => lo + (hi - lo) * uniformAt(key, i));
}

/** Per-output-channel dequantization scales s_n = absmax_n / maxNormal. */
function channelScales(w: Float64Array): Float64Array {
  const s = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    let absmax = 0;
    for (let k = 0; k < K; k++) absmax = Math.max(absmax, Math.abs(w[n * K + k]));
    s[n] = absmax / MAX;
  }
  return s;
}

/** Loss L = Σ G ⊙ Y with Y = A · S(W)ᵀ, the surrogate forward, in f64. */
function surrogateLoss(
  a: Float64Array,
  w: Float64Array,
  scales: Float64Array,
  g: Float64Array,
  kSharp: number,
): number {
  const scaled = new Float64Array(N * K);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) scaled[n * K + k] = w[n * K + k] / scales[n];
  }
  const f = dgeSurrogate(scaled, E2M1, { k: kSharp });
  let loss = 0;
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let y = 0;
      for (let k = 0; k < K; k++) y += a[m * K + k] * scales[n] * f[n * K + k];
      loss += g[m * N + n] * y;
    }
  }
  return loss;
}

/** Weights whose scaled values keep clear of the midpoints (where f′ is singular). */
function layerWeights(seed: number): Float64Array {
  const key = seedKey(seed);
  const w = new Float64Array(N * K);
  let draw = 0;
  for (let n = 0; n < N; n++) {
    const rowScale = 0.01 + 0.05 * uniformAt(key, draw++);
    for (let k = 0; k < K; k++) {
      let x: number;
      for (;;) {
        x = -MAX + 2 * MAX * uniformAt(key, draw++);
        const r = Math.abs(x) % 0.5; // every E2M1 midpoint has |x| mod 0.5 = 0.25
        if (Math.abs(x) > 4 ? Math.abs(Math.abs(x) - 5) > 0.15 : Math.abs(r - 0.25) > 0.04) break;
      }
      w[n * K + k] = x * rowScale;
    }
    // The channel's absmax element sits exactly at the grid end ±6 after scaling.
    w[n * K + (n % K)] = (n % 2 ? -MAX : MAX) * rowScale;
  }
  return w;
}

Deno.test("linear layer backward with DGE matches finite differences of the surrogate forward", () => {
  const a = randoms(M * K, 1);
  const g = randoms(M * N, 2);
  const w = layerWeights(3);
  const scales = channelScales(w);
  for (const kSharp of [3, 5]) {
    // Backward: weight-gradient GEMM dW_q[n, k] = Σ_m dY[m, n] · A[m, k] (dY = G), then DGE.
    const dWq = new Float64Array(N * K);
    for (let n = 0; n < N; n++) {
      for (let k = 0; k < K; k++) {
        let s = 0;
        for (let m = 0; m < M; m++) s += g[m * N + n] * a[m * K + k];
        dWq[n * K + k] = s;
      }
    }
    const scaled = new Float64Array(N * K);
    for (let n = 0; n < N; n++) {
      for (let k = 0; k < K; k++) scaled[n * K + k] = w[n * K + k] / scales[n];
    }
    const { gradient } = applyGradientFactor(dWq, scaled, E2M1, { k: kSharp, cap: Infinity });

    let boundary = 0;
    for (let n = 0; n < N; n++) {
      for (let k = 0; k < K; k++) {
        const i = n * K + k;
        const h = 1e-5 * scales[n];
        const plus = w.slice();
        const minus = w.slice();
        plus[i] += h;
        minus[i] -= h;
        let fd: number;
        if (Math.abs(scaled[i]) >= MAX * (1 - 1e-12)) {
          // On the grid's end the saturating surrogate is flat outside: use the inward difference.
          boundary++;
          const inward = scaled[i] > 0 ? minus : plus;
          fd =
            (surrogateLoss(a, w, scales, g, kSharp) - surrogateLoss(a, inward, scales, g, kSharp)) /
            (scaled[i] > 0 ? h : -h);
          assertClose(gradient[i], fd, {
            rtol: 1e-4,
            atol: 1e-9,
            message: `k=${kSharp} end (${n},${k})`,
          });
        } else {
          fd = (surrogateLoss(a, plus, scales, g, kSharp) -
            surrogateLoss(a, minus, scales, g, kSharp)) /
            (2 * h);
          assertClose(gradient[i], fd, {
            rtol: 1e-6,
            atol: 1e-9,
            message: `k=${kSharp} (${n},${k})`,
          });
        }
      }
    }
    assert.equal(boundary, N);
  }
});

Deno.test("linear layer: the hard forward is A · Q(W)ᵀ; the capped factor departs from the surrogate only where capped", () => {
  const a = randoms(M * K, 4);
  const w = randoms(N * K, 5, -0.3, 0.3);
  const scales = channelScales(w);
  const scaled = new Float32Array(N * K);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) scaled[n * K + k] = w[n * K + k] / scales[n];
  }
  // Hard forward with per-channel scaling: Q(W)[n, k] = s_n · E2M1(W[n, k] / s_n).
  const q = quantize(scaled, E2M1);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let y = 0;
      let ySoft = 0;
      const f = dgeSurrogate(scaled.subarray(n * K, (n + 1) * K), E2M1, { k: 500 });
      for (let k = 0; k < K; k++) {
        y += a[m * K + k] * scales[n] * q[n * K + k];
        ySoft += a[m * K + k] * scales[n] * f[k];
      }
      // A very sharp surrogate forward approaches the hard one.
      assertClose(ySoft, y, { atol: 0.05 * scales[n] * K });
    }
  }
  const ones = new Float32Array(N * K).fill(1);
  const capped = applyGradientFactor(ones, scaled, E2M1).gradient;
  const uncapped = applyGradientFactor(ones, scaled, E2M1, { cap: Infinity }).gradient;
  for (let i = 0; i < N * K; i++) {
    assert.equal(capped[i], Math.min(uncapped[i], 3));
  }
});
