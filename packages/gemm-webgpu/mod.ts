/**
 * @fp4lab/gemm-webgpu: WebGPU device handling, exact FP4 GEMM, f32 GEMM and quantize kernels on the GPU.
 *
 * Not yet implemented: this release only reserves the package name and exports its version.
 *
 * @example
 * ```ts
 * import { VERSION } from "@fp4lab/gemm-webgpu";
 * console.log(VERSION);
 * ```
 *
 * @module
 */

/** The package version. */
export const VERSION = "0.1.0";
