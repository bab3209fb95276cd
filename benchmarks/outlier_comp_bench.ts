// OCC cost on a 512x768 activation, as a ratio to one FP4 quantize of the same tensor (issue 7:
// quantile + clamp + CSR build <= 3x at alpha = 0.99). Run: deno bench -A benchmarks/outlier_comp_bench.ts
// Two peers: the per-token absmax E2M1 fake quant the forward pass actually runs on this tensor
// (absmax pass + scaled quantize per row; the baseline), and the bare elementwise quantize.
import { E2M1, quantize } from "@fp4lab/fp4-format";
import { clampOutliers, syntheticActivations } from "@fp4lab/outlier-comp";

const [ROWS, COLS] = [512, 768];
const a = syntheticActivations(ROWS, COLS, { seed: 1 });
const out = new Float32Array(a.length);

function perTokenQuantize(values: Float32Array, dst: Float32Array): void {
  for (let r = 0; r < ROWS; r++) {
    const row = values.subarray(r * COLS, (r + 1) * COLS);
    let absmax = 0;
    for (let c = 0; c < COLS; c++) absmax = Math.max(absmax, Math.abs(row[c]));
    quantize(row, E2M1, { inverseScale: 6 / absmax, out: dst.subarray(r * COLS, (r + 1) * COLS) });
  }
}

Deno.bench({
  name: "FP4 quantize, per-token absmax E2M1 (peer)",
  group: "occ-512x768",
  baseline: true,
  fn: () => perTokenQuantize(a, out),
});
Deno.bench({
  name: "FP4 quantize, bare elementwise E2M1",
  group: "occ-512x768",
  fn: () => {
    quantize(a, E2M1, { out });
  },
});
for (const alpha of [0.99, 0.97, 0.999]) {
  Deno.bench({
    name: `clampOutliers per token, alpha ${alpha} (quantile + clamp + CSR)`,
    group: "occ-512x768",
    fn: () => {
      clampOutliers(a, ROWS, COLS, { alpha, out });
    },
  });
}
Deno.bench({
  name: "clampOutliers per tensor, alpha 0.99",
  group: "occ-512x768",
  fn: () => {
    clampOutliers(a, ROWS, COLS, { alpha: 0.99, scope: "tensor", out });
  },
});
