/**
 * @fp4lab/dge: Differentiable gradient estimator (and STE baselines) for quantized weights.
 *
 * Not yet implemented: this release only reserves the package name and exports its version.
 *
 * @example
 * ```ts
 * import { VERSION } from "@fp4lab/dge";
 * console.log(VERSION);
 * ```
 *
 * @module
 */

/** The package version. */
export const VERSION = "0.1.0";
