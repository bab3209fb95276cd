/**
 * Ring all-reduce (reduce-scatter then all-gather) over R ranks held in one process, in f32 or
 * through the FP8 codec, with every hop encoded as a real ring encodes it and the bytes counted.
 *
 * @module
 */
import { checkTensorList } from "./_check.ts";
import { decodeFp8, encodeFp8, fp8GradScale } from "./fp8_codec.ts";

/** Options of {@link ringAllReduce} and {@link fp8AllReduce}. */
export interface AllReduceOptions {
  /** Wire format: `"fp8"` (E4M3 behind a shared scale) or `"f32"`. Default `"fp8"`. */
  codec?: "fp8" | "f32";
  /** `"mean"` (default: data-parallel gradient averaging, each rank divides by R first) or `"sum"`. */
  op?: "mean" | "sum";
}

/** What an all-reduce moved. */
export interface AllReduceStats {
  /** Number of ranks R. */
  ranks: number;
  /** Elements reduced (per rank). */
  elements: number;
  /** Gradient bytes sent by all ranks together: 2·(R−1)·n × (1 for fp8, 4 for f32). */
  payloadBytes: number;
  /** Bytes of the amax exchange that sets the shared scale: 4·R·(R−1) per tensor for fp8. */
  scaleBytes: number;
  /** `payloadBytes + scaleBytes`. */
  totalBytes: number;
  /** The shared scale of each tensor (1 for f32). */
  scales: Float32Array;
}

function checkOptions(options: AllReduceOptions): { fp8: boolean; mean: boolean } {
  const codec = options.codec ?? "fp8";
  const op = options.op ?? "mean";
  if (codec !== "fp8" && codec !== "f32") {
    throw new RangeError(`options.codec must be "fp8" or "f32", got ${JSON.stringify(codec)}`);
  }
  if (op !== "mean" && op !== "sum") {
    throw new RangeError(`options.op must be "mean" or "sum", got ${JSON.stringify(op)}`);
  }
  return { fp8: codec === "fp8", mean: op === "mean" };
}

/**
 * All-reduces one tensor held by R ranks (`buffers[r]` is rank r's copy), in place: afterwards
 * every rank holds the same bits, the mean (or sum) of the inputs.
 *
 * The ring cuts the tensor into R chunks. Reduce-scatter: in step s, rank r sends its partial sum
 * of chunk (r − s) mod R to rank r + 1, which adds its own contribution in f32; after R − 1 steps
 * rank r owns the full sum of chunk (r + 1) mod R. All-gather: each owner rounds its chunk once,
 * and the chunks travel R − 1 more hops. With the FP8 codec every send is an E4M3 encode behind
 * the scale of {@link fp8GradScale}, so a value is rounded R times on its way (R − 1 partial sums
 * and the final sum). Error bound, per element, with A = Σ_r |x_r| (x_r the contributions, g_r/R
 * for the mean), u = 2^-4 and s the scale: |result − Σ x_r| ≤ (A + 2^-6·s)·((1 + u)^R − 1), plus
 * f32 rounding of the R − 1 additions. With R = 1 nothing is sent and the result is exact.
 *
 * A non-finite value on any rank makes the result NaN on every rank (every rank then sees the
 * overflow and the loss scaler skips the step everywhere).
 *
 * @param buffers one Float32Array per rank, equal lengths, overwritten with the result
 * @param options codec and reduction
 * @returns bytes moved and the scale used
 * @throws {TypeError} when `buffers` is not an array of Float32Array
 * @throws {RangeError} for no ranks, unequal lengths or an unknown option
 *
 * @example
 * ```ts
 * import { ringAllReduce } from "@fp4lab/mixed-optim";
 * import assert from "node:assert/strict";
 * const ranks = [new Float32Array([1, 2, 3, 4]), new Float32Array([3, 2, 1, 0])];
 * const stats = ringAllReduce(ranks);
 * assert.deepEqual(ranks, [new Float32Array([2, 2, 2, 2]), new Float32Array([2, 2, 2, 2])]);
 * // 2 ranks × (1 reduce-scatter + 1 all-gather hop) × 2 bytes
 * assert.equal(stats.payloadBytes, 8);
 * ```
 */
export function ringAllReduce(
  buffers: Float32Array[],
  options: AllReduceOptions = {},
): AllReduceStats {
  checkTensorList("buffers", buffers);
  const { fp8, mean } = checkOptions(options);
  const ranks = buffers.length;
  if (ranks === 0) throw new RangeError("buffers must hold at least one rank");
  const n = buffers[0].length;
  buffers.forEach((b, r) => {
    if (b.length !== n) {
      throw new RangeError(`buffers[${r}] must have length ${n} (as buffers[0]), got ${b.length}`);
    }
  });
  const stats: AllReduceStats = {
    ranks,
    elements: n,
    payloadBytes: 0,
    scaleBytes: 0,
    totalBytes: 0,
    scales: new Float32Array([1]),
  };
  if (ranks === 1) return stats;

  let amax = 0;
  let finite = true;
  for (const b of buffers) {
    for (let i = 0; i < n; i++) {
      // Each rank scales its own contribution (mean) before anything is sent.
      const x = mean ? b[i] / ranks : b[i];
      b[i] = x;
      if (x - x !== 0) finite = false;
      else if (Math.abs(x) > amax) amax = Math.abs(x);
    }
  }
  if (fp8) {
    // The amax all-reduce (max) that every rank needs before encoding: R − 1 hops of 4 bytes.
    stats.scaleBytes = 4 * ranks * (ranks - 1);
    if (!finite) {
      for (const b of buffers) b.fill(NaN);
      stats.totalBytes = stats.scaleBytes;
      return stats;
    }
  }
  const scale = fp8 ? fp8GradScale(amax, ranks) : 1;
  stats.scales[0] = scale;

  const bounds = new Int32Array(ranks + 1);
  for (let c = 0; c <= ranks; c++) bounds[c] = Math.floor((c * n) / ranks);
  const maxChunk = Math.ceil(n / ranks);
  // One message and one work buffer per rank, made once per call (O(R) allocations, not per hop
  // or element): in-flight messages of a step never alias.
  const codes = buffers.map(() => new Uint8Array(maxChunk));
  const words = buffers.map(() => new Float32Array(maxChunk));
  const bytesPerElement = fp8 ? 1 : 4;
  const mod = (a: number) => ((a % ranks) + ranks) % ranks;

  const send = (r: number, chunk: number) => {
    const lo = bounds[chunk];
    const len = bounds[chunk + 1] - lo;
    const src = buffers[r].subarray(lo, lo + len);
    if (fp8) encodeFp8(src, scale, codes[r].subarray(0, len), words[r].subarray(0, len));
    else words[r].set(src);
    stats.payloadBytes += len * bytesPerElement;
  };
  const receive = (from: number, to: number, chunk: number, add: boolean) => {
    const lo = bounds[chunk];
    const len = bounds[chunk + 1] - lo;
    const dst = buffers[to].subarray(lo, lo + len);
    if (fp8) {
      decodeFp8(codes[from].subarray(0, len), scale, dst, add);
    } else if (add) {
      const w = words[from];
      for (let i = 0; i < len; i++) dst[i] += w[i];
    } else {
      dst.set(words[from].subarray(0, len));
    }
  };

  for (let s = 0; s < ranks - 1; s++) {
    for (let r = 0; r < ranks; r++) send(r, mod(r - s));
    for (let r = 0; r < ranks; r++) receive(r, mod(r + 1), mod(r - s), true);
  }
  if (fp8) {
    // Each owner rounds its finished chunk as it will send it, so it holds what the others get.
    for (let r = 0; r < ranks; r++) {
      const chunk = mod(r + 1);
      send(r, chunk);
      stats.payloadBytes -= bounds[chunk + 1] - bounds[chunk]; // kept local, not sent
      receive(r, r, chunk, false);
    }
  }
  for (let s = 0; s < ranks - 1; s++) {
    for (let r = 0; r < ranks; r++) send(r, mod(r + 1 - s));
    for (let r = 0; r < ranks; r++) receive(r, mod(r + 1), mod(r + 1 - s), false);
  }
  stats.totalBytes = stats.payloadBytes + stats.scaleBytes;
  return stats;
}

/**
 * Data-parallel gradient all-reduce of many tensors: `rankGrads[r][t]` is rank r's gradient of
 * tensor t. Each tensor goes through {@link ringAllReduce} (FP8 codec by default, with its own
 * shared scale); the stats are summed over tensors and list every scale.
 *
 * @param rankGrads per rank, the list of gradient tensors (same count and lengths on every rank)
 * @param options codec (default `"fp8"`) and reduction (default `"mean"`)
 * @returns the bytes moved over all tensors and the scale of each
 * @throws {TypeError} for a rank that is not an array of Float32Array
 * @throws {RangeError} for ranks whose tensor lists differ, or no ranks
 *
 * @example
 * ```ts
 * import { fp8AllReduce } from "@fp4lab/mixed-optim";
 * import assert from "node:assert/strict";
 * const rank0 = [new Float32Array([0.5, -0.25]), new Float32Array([2])];
 * const rank1 = [new Float32Array([0.5, 0.25]), new Float32Array([4])];
 * const stats = fp8AllReduce([rank0, rank1]);
 * assert.deepEqual(rank0[0], new Float32Array([0.5, 0])); // the mean over ranks, on every rank
 * assert.deepEqual(rank1[1], new Float32Array([3]));
 * assert.equal(stats.payloadBytes, 6);
 * ```
 */
export function fp8AllReduce(
  rankGrads: Float32Array[][],
  options: AllReduceOptions = {},
): AllReduceStats {
  if (!Array.isArray(rankGrads) || rankGrads.length === 0) {
    throw new RangeError("rankGrads must hold at least one rank");
  }
  rankGrads.forEach((g, r) => checkTensorList(`rankGrads[${r}]`, g));
  const tensors = rankGrads[0].length;
  rankGrads.forEach((g, r) => {
    if (g.length !== tensors) {
      throw new RangeError(`rankGrads[${r}] must hold ${tensors} tensors, got ${g.length}`);
    }
  });
  const total: AllReduceStats = {
    ranks: rankGrads.length,
    elements: 0,
    payloadBytes: 0,
    scaleBytes: 0,
    totalBytes: 0,
    scales: new Float32Array(tensors),
  };
  for (let t = 0; t < tensors; t++) {
    const stats = ringAllReduce(rankGrads.map((g) => g[t]), options);
    total.elements += stats.elements;
    total.payloadBytes += stats.payloadBytes;
    total.scaleBytes += stats.scaleBytes;
    total.scales[t] = stats.scales[0];
  }
  total.totalBytes = total.payloadBytes + total.scaleBytes;
  return total;
}
