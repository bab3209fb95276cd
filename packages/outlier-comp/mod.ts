/**
 * @fp4lab/outlier-comp: Quantile outlier clamping with sparse (CSR) compensation.
 *
 * Not yet implemented: this release only reserves the package name and exports its version.
 *
 * @example
 * ```ts
 * import { VERSION } from "@fp4lab/outlier-comp";
 * console.log(VERSION);
 * ```
 *
 * @module
 */

/** The package version. */
export const VERSION = "0.1.0";
