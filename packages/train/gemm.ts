/**
 * The trainer's one door to GEMMs: `@fp4lab/kernels`' f32 `matmul` (layouts "nn", "nt", "tn",
 * accumulate) and exact `fp4Matmul` (E2M1 codes and scales), WebAssembly SIMD on the process's
 * worker pool. Every GEMM of the model goes through here, so a backend change is one file.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { matmul } from "./gemm.ts";
 * const a = new Float32Array([1, 2, 3, 4]); // [2, 2]
 * const b = new Float32Array([1, 0, 0, 1]);
 * assert.deepEqual(Array.from(matmul(a, b, 2, 2, 2, { layout: "nt" })), [1, 2, 3, 4]);
 * ```
 *
 * @module
 */
export { fp4Matmul, matmul, setThreads } from "@fp4lab/kernels";
