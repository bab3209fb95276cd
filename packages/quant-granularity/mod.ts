/**
 * @fp4lab/quant-granularity: Absmax scaling per tensor / channel / token / block, MX and NVFP4 schemes, QuantizedTensor, fake-quant, error metrics.
 *
 * Not yet implemented: this release only reserves the package name and exports its version.
 *
 * @example
 * ```ts
 * import { VERSION } from "@fp4lab/quant-granularity";
 * console.log(VERSION);
 * ```
 *
 * @module
 */

/** The package version. */
export const VERSION = "0.1.0";
