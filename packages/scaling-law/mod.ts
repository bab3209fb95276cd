/**
 * @fp4lab/scaling-law: The floating-point quantization training scaling law: loss, critical data size, optimal formats, compute-optimal precision, fitting.
 *
 * Not yet implemented: this release only reserves the package name and exports its version.
 *
 * @example
 * ```ts
 * import { VERSION } from "@fp4lab/scaling-law";
 * console.log(VERSION);
 * ```
 *
 * @module
 */

/** The package version. */
export const VERSION = "0.1.0";
