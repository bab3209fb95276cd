/**
 * A reproducible heavy-tailed activation tensor for examples, tests and benchmarks.
 *
 * @module
 */
import { seedKey, uniformAt } from "@fp4lab/fp4-format";

/** Options of {@link syntheticActivations}. */
export interface SyntheticOptions {
  /** Seed of the counter-based random stream; default 0. */
  seed?: number;
  /** Fraction of channels that carry most outliers; default 0.01. */
  outlierChannels?: number;
  /** Probability that an entry of an outlier channel spikes; default 0.1 (1/100 of it elsewhere). */
  spikeRate?: number;
  /** Factor a spiking entry is multiplied by; default 10. */
  spikeScale?: number;
}

/**
 * Activations shaped like an LLM layer input `[rows, cols]` (rows = tokens): standard normal
 * entries times a per-token gain in [0.5, 1.5), where some entries spike (are multiplied by
 * `spikeScale`): often (`spikeRate`) in a few outlier channels, the vertical stripes that
 * activation heatmaps show, and rarely (`spikeRate / 100`) anywhere else. With the defaults about
 * 0.1% of the entries spike, so clamping at α = 0.999 improves per-token FP4 fidelity as in the
 * FP4 paper's Table 1. Deterministic for a seed.
 *
 * @param rows number of tokens
 * @param cols number of channels
 * @param options `seed`, `outlierChannels`, `spikeRate`, `spikeScale`
 * @returns the activations, row-major
 * @throws {RangeError} for non-positive sizes or options out of range
 *
 * @example
 * ```ts
 * import { syntheticActivations } from "@fp4lab/outlier-comp";
 * import assert from "node:assert/strict";
 * const a = syntheticActivations(4, 512, { seed: 7 });
 * assert.equal(a.length, 2048);
 * ```
 */
export function syntheticActivations(
  rows: number,
  cols: number,
  options: SyntheticOptions = {},
): Float32Array {
  if (!Number.isInteger(rows) || rows < 1 || !Number.isInteger(cols) || cols < 1) {
    throw new RangeError(`rows and cols must be positive integers, got ${rows}, ${cols}`);
  }
  const seed = options.seed ?? 0;
  const channels = options.outlierChannels ?? 0.01;
  const rate = options.spikeRate ?? 0.1;
  const scale = options.spikeScale ?? 10;
  if (!(channels >= 0 && channels <= 1)) {
    throw new RangeError(`options.outlierChannels must be in [0, 1], got ${channels}`);
  }
  if (!(rate >= 0 && rate <= 1)) {
    throw new RangeError(`options.spikeRate must be in [0, 1], got ${rate}`);
  }
  if (!(scale > 0 && Number.isFinite(scale))) {
    throw new RangeError(`options.spikeScale must be a positive finite number, got ${scale}`);
  }
  const key = seedKey(seed);
  const channelRate = new Float64Array(cols);
  let stream = 0;
  for (let c = 0; c < cols; c++) {
    channelRate[c] = uniformAt(key, stream++) < channels ? rate : rate / 100;
  }
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const tokenGain = 0.5 + uniformAt(key, stream++);
    for (let c = 0; c < cols; c++) {
      // Box–Muller; 1 − u keeps the logarithm finite.
      const u1 = 1 - uniformAt(key, stream++);
      const u2 = uniformAt(key, stream++);
      let v = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2) * tokenGain;
      if (uniformAt(key, stream++) < channelRate[c]) v *= scale;
      out[r * cols + c] = v;
    }
  }
  return out;
}
