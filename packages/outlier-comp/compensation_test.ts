// OCC's output identity: Y = Q(A_c)·W_q + ΔA·W_q (the FP4 GEMM plus the sparse compensation)
// equals the product of the quantized-with-residual operands, (Q(A_c) + ΔA)·W_q, which is what
// the released dev code computes with one GEMM after adding ΔA back onto the dequantized
// activation. Weights are stored [N, K] (row = output channel), so the CSR product runs "nt".
import assert from "node:assert/strict";
import { seedKey, uniformAt } from "@fp4lab/fp4-format";
import { assertClose } from "../../tests/_util/assert.ts";
import { fakeQuant, FP4_PAPER_ACT } from "@fp4lab/quant-granularity";
import { clampOutliers } from "./clamp.ts";
import { csrMatmul, csrToDense } from "./csr.ts";
import { syntheticActivations } from "./synthetic.ts";

const [M, K, N] = [32, 1024, 16];

/** y[m, n] = Σ_k x[m, k] · w[n, k], f64 sums, f32 out (the stand-in for the FP4 GEMM). */
function matmulNt(x: ArrayLike<number>, w: Float32Array): Float32Array {
  const y = new Float32Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += x[m * K + k] * w[n * K + k];
      y[m * N + n] = s;
    }
  }
  return y;
}

Deno.test("Y_low + ΔA·W_q equals (Q(A_c) + ΔA)·W_q for both quantile scopes", () => {
  const a = syntheticActivations(M, K, { seed: 21 });
  const key = seedKey(22);
  const w = Float32Array.from({ length: N * K }, (_, i) => (uniformAt(key, i) * 2 - 1) * 0.05);
  const wq = fakeQuant(w, N, K, FP4_PAPER_ACT, new Float32Array(N * K));
  const exact = matmulNt(a, wq); // the unquantized activation against W_q
  for (const scope of ["row", "tensor"] as const) {
    const { clamped, residual } = clampOutliers(a, M, K, { alpha: 0.99, scope });
    const qac = fakeQuant(clamped, M, K, FP4_PAPER_ACT, new Float32Array(M * K));
    const y = matmulNt(qac, wq); // Y_low
    const yLowError = distance(y, exact);
    csrMatmul(residual, wq, N, y, true, "nt");

    const dense = csrToDense(residual);
    const withResidual = new Float64Array(M * K);
    for (let i = 0; i < M * K; i++) withResidual[i] = qac[i] + dense[i];
    const reference = new Float64Array(M * N);
    const magnitude = new Float64Array(M * N);
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let s = 0;
        let abs = 0;
        for (let k = 0; k < K; k++) {
          s += withResidual[m * K + k] * wq[n * K + k];
          abs += Math.abs(withResidual[m * K + k] * wq[n * K + k]);
        }
        reference[m * N + n] = s;
        magnitude[m * N + n] = abs;
      }
    }
    for (let i = 0; i < M * N; i++) {
      assertClose(y[i], reference[i], { atol: 1e-6 * magnitude[i], message: `${scope} [${i}]` });
    }
    // And compensation is what brings the product closer to A·W_q.
    assert.ok(distance(y, exact) < 0.5 * yLowError, `${scope}: compensation did not help`);
  }
});

function distance(x: ArrayLike<number>, y: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += (x[i] - y[i]) ** 2;
  return Math.sqrt(s);
}
