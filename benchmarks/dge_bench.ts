// DGE backward factor as a ratio to the weight-gradient GEMM it multiplies (issue 7: <= 0.1x).
// Run: deno bench -A benchmarks/dge_bench.ts
// Trainer-like shapes (tiny LLaMA, ~1M parameters): d_model 128, MLP 512, 2048 tokens per step
// (batch 16 x seq 128), and a small 512-token step. The GEMM is a plain TypeScript f32 GEMM in
// the trainer's layout (dW[N, K] = dYᵀ·A, W stored [N, K]) until @fp4lab/kernels lands on main.
import { E2M1, seedKey, uniformAt } from "@fp4lab/fp4-format";
import { applyGradientFactor } from "@fp4lab/dge";

function randoms(n: number, seed: number, scale = 1): Float32Array {
  const key = seedKey(seed);
  return Float32Array.from({ length: n }, (_, i) => (uniformAt(key, i) * 2 - 1) * scale);
}

/** dW[n, k] = Σ_m dY[m, n] · A[m, k]: rows of A streamed, inner loop contiguous over k. */
function weightGradGemm(
  dy: Float32Array,
  a: Float32Array,
  dw: Float32Array,
  m: number,
  n: number,
  k: number,
): void {
  dw.fill(0);
  for (let t = 0; t < m; t++) {
    const aRow = t * k;
    for (let j = 0; j < n; j++) {
      const g = dy[t * n + j];
      if (g === 0) continue;
      const wRow = j * k;
      for (let p = 0; p < k; p++) dw[wRow + p] += g * a[aRow + p];
    }
  }
}

for (const [tokens, k, n] of [[2048, 128, 512], [512, 128, 512], [2048, 512, 128]]) {
  const group = `dge ${tokens} tokens, W ${n}x${k}`;
  const a = randoms(tokens * k, 1);
  const dy = randoms(tokens * n, 2, 0.01);
  const dw = new Float32Array(n * k);
  const scaled = randoms(n * k, 3, 6); // W / scale per output channel, in [-6, 6]
  Deno.bench({
    name: "weight-gradient GEMM dYᵀ·A (peer)",
    group,
    baseline: true,
    fn: () => weightGradGemm(dy, a, dw, tokens, n, k),
  });
  Deno.bench({
    name: "applyGradientFactor dge (factor + multiply + stats, in place)",
    group,
    fn: () => {
      applyGradientFactor(dw, scaled, E2M1, { out: dw });
    },
  });
}
