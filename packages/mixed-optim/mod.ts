/**
 * @fp4lab/mixed-optim: AdamW with FP32 master weights and low-precision moments, FP8 gradient all-reduce, loss scaling, LR schedules.
 *
 * Not yet implemented: this release only reserves the package name and exports its version.
 *
 * @example
 * ```ts
 * import { VERSION } from "@fp4lab/mixed-optim";
 * console.log(VERSION);
 * ```
 *
 * @module
 */

/** The package version. */
export const VERSION = "0.1.0";
