/**
 * Optimizer checkpoints: the AdamW state as a plain object of numbers, strings and typed arrays,
 * with each moment in its real storage codes, and back, bit for bit.
 *
 * @module
 */
import { codesOfRounded, decode } from "@fp4lab/fp4-format";
import { checkFiniteIn, checkInteger, checkTensorList } from "./_check.ts";
import type { AdamWState } from "./adamw.ts";
import { resolveAdamWOptions } from "./_options.ts";
import type { MomentFormat, MomentScaling } from "./moment_format.ts";
import { momentFloatFormat } from "./_formats.ts";

/**
 * Stored moment tensors: raw f32 for `"f32"`, 16-bit codes (IEEE half / bfloat16 bit patterns)
 * for `"FP16"` / `"BF16"`, one byte per element (OCP E4M3 codes) for `"E4M3"`: the layouts of
 * safetensors' F32, F16, BF16 and F8_E4M3 dtypes.
 */
export type MomentCodes = Float32Array | Uint16Array | Uint8Array;

/** An AdamW checkpoint: plain data only, ready for JSON (hyperparameters) + tensors (codes). */
export interface AdamWCheckpoint {
  /** Steps taken. */
  step: number;
  /** First-moment decay. */
  beta1: number;
  /** Second-moment decay. */
  beta2: number;
  /** Denominator epsilon. */
  eps: number;
  /** Weight decay per tensor. */
  weightDecay: number[];
  /** First-moment storage format. */
  m1Format: MomentFormat;
  /** Second-moment storage format. */
  m2Format: MomentFormat;
  /** Moment scaling. */
  momentScaling: MomentScaling;
  /** First-moment codes per tensor. */
  m1: MomentCodes[];
  /** Second-moment codes per tensor. */
  m2: MomentCodes[];
  /** Per-tensor dequantization multipliers of `m1`. */
  m1Scales: Float32Array;
  /** Per-tensor dequantization multipliers of `m2`. */
  m2Scales: Float32Array;
}

function encodeMoments(stored: Float32Array[], name: MomentFormat): MomentCodes[] {
  const format = momentFloatFormat(name);
  return stored.map((buffer) => {
    if (format === null) return buffer.slice();
    const codes = format.bits === 8
      ? new Uint8Array(buffer.length)
      : new Uint16Array(buffer.length);
    codesOfRounded(buffer, format, codes);
    return codes;
  });
}

/**
 * Copies the optimizer state into a checkpoint (the weights are not included: save them beside
 * it). Narrow moments become their codes, so the checkpoint is as small as the storage.
 *
 * @param state the optimizer
 * @returns a new plain object sharing no memory with `state`
 *
 * @example
 * ```ts
 * import { adamwStep, createAdamW, exportAdamWState } from "@fp4lab/mixed-optim";
 * import assert from "node:assert/strict";
 * const opt = createAdamW([new Float32Array([1, 2, 3])]);
 * adamwStep(opt, [new Float32Array([0.1, 0.2, 0.3])], 0.01);
 * const ckpt = exportAdamWState(opt);
 * assert.ok(ckpt.m1[0] instanceof Uint8Array); // E4M3 codes
 * assert.ok(ckpt.m2[0] instanceof Uint16Array); // FP16 bits
 * ```
 */
export function exportAdamWState(state: AdamWState): AdamWCheckpoint {
  return {
    step: state.step,
    beta1: state.beta1,
    beta2: state.beta2,
    eps: state.eps,
    weightDecay: state.weightDecay.slice(),
    m1Format: state.m1Format,
    m2Format: state.m2Format,
    momentScaling: state.momentScaling,
    m1: encodeMoments(state.m1, state.m1Format),
    m2: encodeMoments(state.m2, state.m2Format),
    m1Scales: state.m1Scales.slice(),
    m2Scales: state.m2Scales.slice(),
  };
}

function decodeMoments(
  name: string,
  codes: unknown,
  format: MomentFormat,
  params: readonly Float32Array[],
): Float32Array[] {
  if (!Array.isArray(codes) || codes.length !== params.length) {
    throw new RangeError(`checkpoint.${name} must hold ${params.length} tensors`);
  }
  const floatFormat = momentFloatFormat(format);
  const want = floatFormat === null
    ? Float32Array
    : floatFormat.bits === 8
    ? Uint8Array
    : Uint16Array;
  return codes.map((c, i) => {
    if (!(c instanceof want) || c.length !== params[i].length) {
      throw new RangeError(
        `checkpoint.${name}[${i}] must be a ${want.name} of length ${params[i].length} ` +
          `(${format} storage), got ${c?.constructor?.name ?? typeof c} of length ${c?.length}`,
      );
    }
    if (floatFormat === null) return (c as Float32Array).slice();
    return decode(c as Uint8Array | Uint16Array, floatFormat);
  });
}

function checkScales(name: string, scales: unknown, tensors: number): Float32Array {
  if (!(scales instanceof Float32Array) || scales.length !== tensors) {
    throw new RangeError(`checkpoint.${name} must be a Float32Array of length ${tensors}`);
  }
  scales.forEach((s, i) =>
    checkFiniteIn(`checkpoint.${name}[${i}]`, s, 0, Infinity, { openLow: true })
  );
  return scales.slice();
}

/**
 * Rebuilds an optimizer from a checkpoint over `params` (the restored master weights): the
 * moments, scales, step and hyperparameters come back bit for bit.
 *
 * @param params the parameter tensors, in the checkpoint's order and lengths
 * @param checkpoint what {@link exportAdamWState} returned (possibly after a save and load)
 * @returns a new optimizer state
 * @throws {RangeError} when the checkpoint does not match `params` or holds invalid values
 *
 * @example
 * ```ts
 * import { adamwStep, createAdamW, exportAdamWState, importAdamWState } from "@fp4lab/mixed-optim";
 * import assert from "node:assert/strict";
 * const w = new Float32Array([1, 2]);
 * const opt = createAdamW([w]);
 * adamwStep(opt, [new Float32Array([0.5, -1])], 0.01);
 * const again = importAdamWState([w.slice()], exportAdamWState(opt));
 * assert.equal(again.step, 1);
 * assert.deepEqual(again.m1[0], opt.m1[0]);
 * ```
 */
export function importAdamWState(
  params: Float32Array[],
  checkpoint: AdamWCheckpoint,
): AdamWState {
  checkTensorList("params", params);
  if (checkpoint === null || typeof checkpoint !== "object") {
    throw new TypeError("checkpoint must be an object from exportAdamWState");
  }
  checkInteger("checkpoint.step", checkpoint.step, 0, Number.MAX_SAFE_INTEGER);
  const resolved = resolveAdamWOptions(checkpoint, params.length);
  return {
    params,
    ...resolved,
    step: checkpoint.step,
    m1: decodeMoments("m1", checkpoint.m1, resolved.m1Format, params),
    m2: decodeMoments("m2", checkpoint.m2, resolved.m2Format, params),
    m1Scales: checkScales("m1Scales", checkpoint.m1Scales, params.length),
    m2Scales: checkScales("m2Scales", checkpoint.m2Scales, params.length),
  };
}
