/**
 * `@fp4lab/gemm-webgpu`: the fp4lab kernel set on WebGPU — f32 GEMM (tiled, shared memory),
 * exact FP4 GEMM bit-identical to the CPU twin of `@fp4lab/kernels`, and quantize + pack —
 * with adapter/device handling (clear error without an adapter, a lost device reported rather
 * than waited on) and buffer pooling. Runs on any WebGPU device, Mesa's lavapipe included.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GpuKernels } from "@fp4lab/gemm-webgpu";
 * // rejects with a clear message when there is no adapter: print it and skip the rest
 * const gpu = await GpuKernels.create().catch((e) => void console.error(e.message));
 * if (gpu) {
 *   const a = new Float32Array([1, 2, 3, 4]);
 *   assert.deepEqual(Array.from(await gpu.matmul(a, a, 2, 2, 2)), [7, 10, 15, 22]);
 *   gpu.destroy();
 * }
 * ```
 *
 * @module
 */
export * from "./device.ts";
export * from "./buffers.ts";
export * from "./gpu_kernels.ts";
export type { ElementFormat, GemmLayout, KernelFormat, QuantizedTensor } from "@fp4lab/kernels";

/** The package version. */
export const VERSION = "0.1.0";
