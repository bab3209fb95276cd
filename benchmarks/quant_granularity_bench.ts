// deno bench -A benchmarks/quant_granularity_bench.ts
// Quantize + pack a 4096 x 4096 f32 matrix, grouped with a plain copy as the baseline so that
// deno bench prints the ratio ("x times slower than").
import { MXFP4, NVFP4, quantizeTensor } from "@fp4lab/quant-granularity";

const n = 4096;
const x = new Float32Array(n * n);
for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 0.618) * (1 + (i % 97) / 10);
const dst = new Float32Array(n * n);

Deno.bench("copy 4096x4096 f32 (set)", { group: "quantize+pack", baseline: true }, () => {
  dst.set(x);
});
Deno.bench("MXFP4 quantize+pack", { group: "quantize+pack" }, () => {
  quantizeTensor(x, n, n, MXFP4);
});
Deno.bench("NVFP4 quantize+pack", { group: "quantize+pack" }, () => {
  quantizeTensor(x, n, n, NVFP4);
});
