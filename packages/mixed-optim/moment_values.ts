/**
 * Reading the stored moments back as the f32 values they stand for.
 *
 * @module
 */
import { checkFloat32Array, checkInteger } from "./_check.ts";
import type { AdamWState } from "./adamw.ts";

/**
 * The values of one stored moment tensor: `stored × scale`, exact (the scale is a power of two).
 *
 * @param state the optimizer
 * @param which `"m1"` (first moment) or `"m2"` (second moment)
 * @param tensor index of the parameter tensor
 * @param out optional output of the tensor's length
 * @returns the moment values
 * @throws {RangeError} for an unknown `which`, a tensor index out of range or a wrong-length `out`
 *
 * @example
 * ```ts
 * import { adamwStep, createAdamW, momentValues } from "@fp4lab/mixed-optim";
 * import assert from "node:assert/strict";
 * const opt = createAdamW([new Float32Array(2)]);
 * adamwStep(opt, [new Float32Array([1, -3])], 0.01);
 * const m1 = momentValues(opt, "m1", 0); // m = 0.1 · g = [0.1, -0.3], stored in E4M3
 * assert.deepEqual(m1, new Float32Array([0.1015625, -0.3125]));
 * ```
 */
export function momentValues(
  state: AdamWState,
  which: "m1" | "m2",
  tensor: number,
  out?: Float32Array,
): Float32Array {
  if (which !== "m1" && which !== "m2") {
    throw new RangeError(`which must be "m1" or "m2", got ${JSON.stringify(which)}`);
  }
  checkInteger("tensor", tensor, 0, state.params.length - 1);
  const stored = state[which][tensor];
  const scale = (which === "m1" ? state.m1Scales : state.m2Scales)[tensor];
  const result = out ?? new Float32Array(stored.length);
  checkFloat32Array("out", result);
  if (result.length !== stored.length) {
    throw new RangeError(`out must have length ${stored.length}, got ${result.length}`);
  }
  for (let i = 0; i < stored.length; i++) result[i] = stored[i] * scale;
  return result;
}
