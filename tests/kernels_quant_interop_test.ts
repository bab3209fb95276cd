// fp4Matmul on operands made by @fp4lab/quant-granularity (the agreed QuantizedTensor producer).
import assert from "node:assert/strict";
import { assertBitsEqual } from "./_util/assert.ts";
import {
  dequantize,
  FP4_PAPER_ACT,
  FP4_PAPER_WEIGHT,
  MXFP4,
  NVFP4,
  NVFP4_2D,
  quantizeTensor,
} from "@fp4lab/quant-granularity";
import { fp4Matmul, fp4MatmulReference, matmulReference } from "@fp4lab/kernels";
import { seededRandom } from "./_util/random.ts";

Deno.test("fp4Matmul consumes quant-granularity's QuantizedTensor for every FP4 scheme", () => {
  const rnd = seededRandom(77);
  const [m, n, k] = [24, 40, 96];
  const x = Float32Array.from({ length: m * k }, () => (rnd() - 0.5) * 4);
  const wt = Float32Array.from({ length: n * k }, () => (rnd() - 0.5) * 0.2);
  for (
    const [sa, sw] of [[FP4_PAPER_ACT, FP4_PAPER_WEIGHT], [MXFP4, MXFP4], [NVFP4, NVFP4], [
      NVFP4,
      NVFP4_2D,
    ]]
  ) {
    const a = quantizeTensor(x, m, k, sa), w = quantizeTensor(wt, n, k, sw);
    const got = fp4Matmul(a, w);
    assertBitsEqual(got, fp4MatmulReference(a, w), sa.name);
    // independent: dequantize with quant-granularity, multiply in f64
    const da = dequantize(a), dw = dequantize(w);
    const want = matmulReference(da, dw, m, n, k, "nt");
    const scale = matmulReference(da.map(Math.abs), dw.map(Math.abs), m, n, k, "nt");
    for (let i = 0; i < want.length; i++) {
      assert.ok(
        Math.abs(got[i] - want[i]) <= 4e-6 * scale[i] + 1e-30,
        `${sa.name}/${sw.name} [${i}]`,
      );
    }
  }
});
