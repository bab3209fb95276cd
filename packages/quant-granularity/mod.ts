/**
 * `@fp4lab/quant-granularity`: absmax scaling per tensor / token / output channel / 1-D block /
 * 2-D tile, the OCP MX and NVFP4 schemes, one entry point returning a {@link QuantizedTensor}
 * (the operand layout the FP4 GEMM kernels consume), fake-quant for training, the random Hadamard
 * transform, error metrics, safetensors, and the gpt-oss / ModelOpt checkpoint layouts.
 *
 * Matrices are row-major with K (the reduction axis) contiguous: activations as [tokens, K],
 * weights as Wᵀ [out channels, K]. Schemes are data: a preset or any {@link QuantScheme}.
 *
 * @example
 * ```ts
 * import { dequantize, errorMetrics, MXFP4, NVFP4, quantizeTensor } from "@fp4lab/quant-granularity";
 * import assert from "node:assert/strict";
 * const x = new Float32Array(4 * 64).map((_, i) => Math.sin(i) * (i % 7));
 * for (const scheme of [MXFP4, NVFP4]) {
 *   const q = quantizeTensor(x, 4, 64, scheme);
 *   assert.equal(q.scheme, scheme.name); // "mxfp4", then "nvfp4"
 *   assert.equal(q.data.length, 128); // 256 FP4 codes, two to a byte
 *   assert.ok(errorMetrics(x, dequantize(q)).sqnrDb > 10);
 * }
 * ```
 *
 * @module
 */
export * from "./types.ts";
export * from "./presets.ts";
export * from "./quantize_tensor.ts";
export * from "./dequantize.ts";
export * from "./fake_quant.ts";
export * from "./hadamard.ts";
export * from "./metrics.ts";
export * from "./synthetic.ts";
export * from "./transpose.ts";
export * from "./safetensors.ts";
export * from "./checkpoint_layouts.ts";
