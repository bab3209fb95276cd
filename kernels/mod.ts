/**
 * `@fp4lab/kernels`: the fp4lab kernel set — WebAssembly SIMD CPU twins (AssemblyScript,
 * compiled into an embedded module) running on a worker pool that shares one
 * `WebAssembly.Memory`, with plain TypeScript references beside them.
 *
 * - {@link matmul}: f32 GEMM, layouts "nn" / "nt" / "tn", optional accumulation.
 * - {@link setThreads}: size of the thread pool (default: the cores the runtime reports,
 *   `navigator.hardwareConcurrency` or, on Node 20, `os.availableParallelism()`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { matmul, setThreads } from "@fp4lab/kernels";
 * setThreads(2);
 * const y = matmul(new Float32Array([1, 2]), new Float32Array([3, 4]), 1, 1, 2);
 * assert.deepEqual(Array.from(y), [11]);
 * ```
 *
 * @module
 */
export * from "./matmul.ts";
export * from "./reference.ts";
export * from "./fp4_matmul.ts";
export * from "./quantize.ts";
export * from "./manifest.ts";
export * from "./wgsl/gemm_f32.ts";
export * from "./wgsl/gemm_fp4.ts";
export * from "./wgsl/quantize.ts";
export * from "./wgsl/elementwise.ts";
export * from "./wgsl/quant_scheme.ts";
export * from "./wgsl/layers.ts";
export * from "./wgsl/occ.ts";
export * from "./wgsl/optim.ts";
export type { ParamType, WgslKernel } from "./wgsl/_kernel.ts";
export type * from "./quantized_tensor.ts";
export {
  ensureScratch,
  getThreads,
  heapAlloc,
  heapFree,
  joinTasks,
  kernelExports,
  memoryBuffer,
  postTasks,
  runTasks,
  setThreads,
  terminateWorkers,
  usesRelaxedSimd,
} from "./runtime.ts";
export type { KernelExports } from "./runtime.ts";

/** The package version. */
export const VERSION = "0.1.0";
