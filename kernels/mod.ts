/**
 * @fp4lab/kernels: The fp4lab kernel set: WGSL kernels and their WebAssembly SIMD CPU twins.
 *
 * Not yet implemented: this release only reserves the package name and exports its version.
 *
 * @example
 * ```ts
 * import { VERSION } from "@fp4lab/kernels";
 * console.log(VERSION);
 * ```
 *
 * @module
 */

/** The package version. */
export const VERSION = "0.1.0";
