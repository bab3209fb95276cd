/**
 * How many bytes a training configuration keeps per parameter: master weights, gradients and
 * optimizer state.
 *
 * @module
 */
import { checkInteger } from "./_check.ts";
import { momentIsScaled } from "./_formats.ts";
import { momentBytes, type MomentFormat, type MomentScaling } from "./moment_format.ts";

/** What {@link memoryReport} counts. The moment fields match the options of `createAdamW`. */
export interface MemoryConfig {
  /** First-moment storage. Default `"E4M3"`. */
  m1Format?: MomentFormat;
  /** Second-moment storage. Default `"FP16"`. */
  m2Format?: MomentFormat;
  /** Whether FP16 / E4M3 moments carry a per-tensor scale (4 bytes each). Default `"tensor"`. */
  momentScaling?: MomentScaling;
  /**
   * Gradient storage: `"f32"` (default) or a narrow format; `"E4M3"` gradients carry a per-tensor
   * f32 scale, as the FP8 all-reduce sends them.
   */
  gradFormat?: MomentFormat;
}

/** Bytes of one configuration. */
export interface MemoryReport {
  /** Parameters counted. */
  params: number;
  /** Parameter tensors counted. */
  tensors: number;
  /** f32 master weights: 4 bytes per parameter. */
  weightsBytes: number;
  /** Gradients, with their scales. */
  gradsBytes: number;
  /** First moment, with its scales. */
  m1Bytes: number;
  /** Second moment, with its scales. */
  m2Bytes: number;
  /** `m1Bytes + m2Bytes`. */
  optimizerBytes: number;
  /** Everything above. */
  totalBytes: number;
  /** `totalBytes / params`. */
  bytesPerParam: number;
}

/**
 * Counts the bytes of weights, gradients and optimizer state for parameter tensors of the given
 * sizes under a configuration (the storage sizes, not the f32 buffers of the simulation).
 *
 * @param sizes the element count of each parameter tensor, or the tensors themselves
 * @param config moment and gradient formats (defaults: the FP4 paper's E4M3 first moment and FP16
 *   second moment, f32 gradients)
 * @returns the byte counts
 * @throws {RangeError} for a size that is not a non-negative integer or an unknown format
 *
 * @example Paper optimizer (FP8 m, FP16 v) against all-f32, 1 M parameters in one tensor
 * ```ts
 * import { memoryReport } from "@fp4lab/mixed-optim";
 * import assert from "node:assert/strict";
 * const paper = memoryReport([1_000_000]);
 * const f32 = memoryReport([1_000_000], { m1Format: "f32", m2Format: "f32" });
 * assert.equal(paper.optimizerBytes, 3_000_008); // 3 bytes a parameter, one f32 scale a moment
 * assert.equal(f32.optimizerBytes, 8_000_000);
 * assert.equal(paper.bytesPerParam.toFixed(2), "11.00");
 * assert.equal(f32.bytesPerParam, 16);
 * ```
 */
export function memoryReport(
  sizes: readonly number[] | readonly Float32Array[],
  config: MemoryConfig = {},
): MemoryReport {
  if (!Array.isArray(sizes)) throw new TypeError("sizes must be an array");
  const counts = sizes.map((s, i) => {
    const n = s instanceof Float32Array ? s.length : s;
    checkInteger(`sizes[${i}]`, n, 0, Number.MAX_SAFE_INTEGER);
    return n as number;
  });
  const m1Format = config.m1Format ?? "E4M3";
  const m2Format = config.m2Format ?? "FP16";
  const gradFormat = config.gradFormat ?? "f32";
  const scaling = config.momentScaling ?? "tensor";
  if (scaling !== "tensor" && scaling !== "none") {
    throw new RangeError(
      `config.momentScaling must be "tensor" or "none", got ${JSON.stringify(scaling)}`,
    );
  }
  const params = counts.reduce((a, b) => a + b, 0);
  const tensors = counts.length;
  const scaleBytes = (format: MomentFormat) => momentIsScaled(format, scaling) ? 4 * tensors : 0;
  const weightsBytes = 4 * params;
  const gradsBytes = momentBytes(gradFormat) * params + (gradFormat === "E4M3" ? 4 * tensors : 0);
  const m1Bytes = momentBytes(m1Format) * params + scaleBytes(m1Format);
  const m2Bytes = momentBytes(m2Format) * params + scaleBytes(m2Format);
  const optimizerBytes = m1Bytes + m2Bytes;
  const totalBytes = weightsBytes + gradsBytes + optimizerBytes;
  return {
    params,
    tensors,
    weightsBytes,
    gradsBytes,
    m1Bytes,
    m2Bytes,
    optimizerBytes,
    totalBytes,
    bytesPerParam: params === 0 ? 0 : totalBytes / params,
  };
}
