import assert from "node:assert/strict";
import {
  MXFP4,
  NVFP4,
  type QuantizedTensor as Produced,
  quantizeTensor,
} from "@fp4lab/quant-granularity";
import { fp4Matmul, fp4MatmulReference, type QuantizedTensor } from "./mod.ts";

// The kernels declare QuantizedTensor structurally (no dependency on quant-granularity); what
// quantizeTensor produces must stay assignable to it, checked here by the type checker.
const accepts = (q: Produced): QuantizedTensor => q;

Deno.test("quantizeTensor's tensors are the kernels' QuantizedTensor", () => {
  const a = new Float32Array(4 * 64).map((_, i) => Math.sin(i));
  const w = new Float32Array(3 * 64).map((_, i) => Math.cos(i));
  for (const scheme of [MXFP4, NVFP4]) {
    const qa = accepts(quantizeTensor(a, 4, 64, scheme));
    const qw = accepts(quantizeTensor(w, 3, 64, scheme));
    assert.deepEqual(fp4Matmul(qa, qw), fp4MatmulReference(qa, qw));
  }
});
