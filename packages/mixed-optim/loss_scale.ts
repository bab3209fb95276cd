/**
 * Dynamic loss scaling: multiply the loss by `scale` before the backward pass, divide the
 * gradients by it after, grow it after a run of clean steps and halve it (skipping the step)
 * when a gradient overflows. The state is a plain object of numbers: save it as JSON.
 *
 * @module
 */
import { checkFiniteIn, checkInteger, checkTensorList } from "./_check.ts";

/** The loss scaler: plain, checkpointable data. */
export interface LossScaler {
  /** The current loss scale (a power of two with the default factors). */
  scale: number;
  /** Multiplier after `growthInterval` clean steps in a row. Default 2. */
  growthFactor: number;
  /** Multiplier on overflow. Default 0.5. */
  backoffFactor: number;
  /** Clean steps before the scale grows. Default 2000 (PyTorch's GradScaler). */
  growthInterval: number;
  /** Smallest scale. Default 2^-24. */
  minScale: number;
  /** Largest scale. Default 2^24. */
  maxScale: number;
  /** Clean steps since the last change of scale. */
  cleanSteps: number;
  /** Steps skipped because of Inf/NaN so far. */
  skippedSteps: number;
}

/** Options of {@link createLossScaler}: any field of {@link LossScaler} but the counters. */
export type LossScalerOptions = Partial<Omit<LossScaler, "cleanSteps" | "skippedSteps">>;

/**
 * Creates a loss scaler (default initial scale 2^16, as PyTorch's GradScaler).
 *
 * @param options initial scale and growth/backoff policy
 * @returns the scaler state
 * @throws {RangeError} for a non-finite or inconsistent option (named)
 *
 * @example
 * ```ts
 * import { createLossScaler } from "@fp4lab/mixed-optim";
 * import assert from "node:assert/strict";
 * assert.equal(createLossScaler({ growthInterval: 100 }).scale, 65536);
 * ```
 */
export function createLossScaler(options: LossScalerOptions = {}): LossScaler {
  const scaler: LossScaler = {
    scale: options.scale ?? 2 ** 16,
    growthFactor: options.growthFactor ?? 2,
    backoffFactor: options.backoffFactor ?? 0.5,
    growthInterval: options.growthInterval ?? 2000,
    minScale: options.minScale ?? 2 ** -24,
    maxScale: options.maxScale ?? 2 ** 24,
    cleanSteps: 0,
    skippedSteps: 0,
  };
  checkScaler(scaler, "options");
  return scaler;
}

function checkScaler(s: LossScaler, name: string): void {
  checkFiniteIn(`${name}.minScale`, s.minScale, 0, Number.MAX_VALUE, { openLow: true });
  checkFiniteIn(`${name}.maxScale`, s.maxScale, s.minScale, Number.MAX_VALUE);
  checkFiniteIn(`${name}.scale`, s.scale, s.minScale, s.maxScale);
  checkFiniteIn(`${name}.growthFactor`, s.growthFactor, 1, Number.MAX_VALUE);
  checkFiniteIn(`${name}.backoffFactor`, s.backoffFactor, 0, 1, {
    openLow: true,
    openHigh: true,
  });
  checkInteger(`${name}.growthInterval`, s.growthInterval, 1, Number.MAX_SAFE_INTEGER);
}

/**
 * Divides every gradient by the loss scale, in place, and reports whether all of them are
 * finite. Call it after the backward pass and before clipping.
 *
 * @param grads the gradient tensors (of the scaled loss), unscaled in place
 * @param scaler the loss scaler
 * @returns `true` when every gradient is finite
 * @throws {TypeError} when `grads` is not an array of Float32Array
 *
 * @example
 * ```ts
 * import { createLossScaler, unscaleGrads } from "@fp4lab/mixed-optim";
 * import assert from "node:assert/strict";
 * const scaler = createLossScaler({ scale: 1024 });
 * const g = [new Float32Array([512, -2048])];
 * assert.equal(unscaleGrads(g, scaler), true); // every gradient finite
 * assert.deepEqual(g[0], new Float32Array([0.5, -2]));
 * ```
 */
export function unscaleGrads(grads: Float32Array[], scaler: LossScaler): boolean {
  checkTensorList("grads", grads);
  const inverse = 1 / scaler.scale;
  let finite = true;
  for (const g of grads) {
    for (let i = 0; i < g.length; i++) {
      const x = g[i] * inverse;
      g[i] = x;
      // x - x is 0 for finite x and NaN for ±Inf and NaN: one test covers both.
      if (x - x !== 0) finite = false;
    }
  }
  return finite;
}

/**
 * Advances the scaler after a backward pass: on overflow (`finite` false) multiplies the scale
 * by `backoffFactor`, resets the clean-step count and says to skip the step; otherwise counts a
 * clean step and, every `growthInterval` of them, multiplies the scale by `growthFactor`. The
 * scale stays within [minScale, maxScale].
 *
 * @param scaler the loss scaler, updated in place
 * @param finite whether this step's gradients were all finite (from {@link unscaleGrads})
 * @returns `true` when the optimizer step should be taken
 * @throws {RangeError} when the scaler holds invalid values (e.g. from a corrupt checkpoint)
 *
 * @example
 * ```ts
 * import { createLossScaler, lossScaleUpdate } from "@fp4lab/mixed-optim";
 * import assert from "node:assert/strict";
 * const scaler = createLossScaler({ scale: 8, growthInterval: 2 });
 * assert.equal(lossScaleUpdate(scaler, false), false); // overflow: skip the step, halve the scale
 * assert.equal(scaler.scale, 4);
 * lossScaleUpdate(scaler, true);
 * assert.equal(lossScaleUpdate(scaler, true), true); // two good steps: double it
 * assert.equal(scaler.scale, 8);
 * ```
 */
export function lossScaleUpdate(scaler: LossScaler, finite: boolean): boolean {
  checkScaler(scaler, "scaler");
  if (!finite) {
    scaler.scale = Math.max(scaler.minScale, scaler.scale * scaler.backoffFactor);
    scaler.cleanSteps = 0;
    scaler.skippedSteps++;
    return false;
  }
  scaler.cleanSteps++;
  if (scaler.cleanSteps >= scaler.growthInterval) {
    scaler.scale = Math.min(scaler.maxScale, scaler.scale * scaler.growthFactor);
    scaler.cleanSteps = 0;
  }
  return true;
}
