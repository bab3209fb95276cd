/**
 * AdamW over f32 master weights with the two moments stored in a chosen format.
 *
 * @module
 */
import { quantize } from "@fp4lab/fp4-format";
import type { FloatFormat, QuantizeOptions } from "@fp4lab/fp4-format";
import { checkFiniteIn, checkSameShapes, checkTensorList } from "./_check.ts";
import { type MomentFormat, type MomentScaling, pow2Scale } from "./moment_format.ts";
import { momentFloatFormat, momentIsScaled } from "./_formats.ts";
import { resolveAdamWOptions } from "./_options.ts";
import {
  kernelAdamwStep,
  kernelsAvailable,
  releaseState,
  type StepConstants,
} from "./_kernel_step.ts";

/**
 * Options of {@link createAdamW}. Defaults are the FP4 paper's: β 0.9 / 0.95, weight decay 0.1,
 * first moment in FP8 E4M3 and second moment in FP16, each with a per-tensor scale (after MS-AMP).
 */
export interface AdamWOptions {
  /** First-moment decay, in [0, 1). Default 0.9. */
  beta1?: number;
  /** Second-moment decay, in [0, 1). Default 0.95. */
  beta2?: number;
  /** Added to √v̂ in the denominator, > 0. Default 1e-8. */
  eps?: number;
  /**
   * Decoupled weight decay λ (w ← w·(1 − lr·λ) before the Adam update), ≥ 0: one number for all
   * tensors or one per tensor (e.g. 0 for norms and biases). Default 0.1.
   */
  weightDecay?: number | readonly number[];
  /** Storage of the first moment m. Default `"E4M3"` (scaled per tensor). */
  m1Format?: MomentFormat;
  /** Storage of the second moment v. Default `"FP16"` (scaled per tensor). */
  m2Format?: MomentFormat;
  /** Per-tensor power-of-two scaling of FP16 and E4M3 moments (BF16 has f32's range and is never
   * scaled). Default `"tensor"`. */
  momentScaling?: MomentScaling;
}

/**
 * The optimizer: plain data, mutated in place by {@link adamwStep}.
 *
 * A stored moment element is worth `m1[t][i] * m1Scales[t]` (the scale is a power of two; 1 for
 * `"f32"`, `"BF16"` or unscaled storage). `m1[t]` holds values on the grid of `m1Format` (simulated
 * storage: f32 buffers, real codes in {@link exportAdamWState}).
 */
export interface AdamWState {
  /** The f32 master weights, updated in place (the arrays given to {@link createAdamW}). */
  readonly params: Float32Array[];
  /** First-moment decay. */
  readonly beta1: number;
  /** Second-moment decay. */
  readonly beta2: number;
  /** Denominator epsilon. */
  readonly eps: number;
  /** Weight decay per tensor. */
  readonly weightDecay: readonly number[];
  /** First-moment storage format. */
  readonly m1Format: MomentFormat;
  /** Second-moment storage format. */
  readonly m2Format: MomentFormat;
  /** Whether the narrow formats carry a per-tensor scale. */
  readonly momentScaling: MomentScaling;
  /** Optimizer steps taken (bias correction uses step + 1 for the next one). */
  step: number;
  /** Stored first moments, one per parameter tensor, in units of `m1Scales`. */
  readonly m1: Float32Array[];
  /** Stored second moments, one per parameter tensor, in units of `m2Scales`. */
  readonly m2: Float32Array[];
  /** Per-tensor dequantization multiplier of `m1` (power of two). */
  readonly m1Scales: Float32Array;
  /** Per-tensor dequantization multiplier of `m2` (power of two). */
  readonly m2Scales: Float32Array;
}

/**
 * Creates an AdamW optimizer over `params` (the f32 master weights, updated in place) with zero
 * moments.
 *
 * @param params the parameter tensors
 * @param options hyperparameters and moment formats (defaults: β = (0.9, 0.95), ε = 1e-8,
 *   λ = 0.1, m in E4M3 and v in FP16, both with a per-tensor power-of-two scale)
 * @returns the optimizer state
 * @throws {TypeError} when `params` is not an array of Float32Array
 * @throws {RangeError} for a non-finite or out-of-range hyperparameter or an unknown format
 *
 * @example
 * ```ts
 * import { adamwStep, createAdamW } from "@fp4lab/mixed-optim";
 * import assert from "node:assert/strict";
 * const w = new Float32Array([1, -2]);
 * const opt = createAdamW([w], { weightDecay: 0, m1Format: "f32", m2Format: "f32" });
 * adamwStep(opt, [new Float32Array([0.5, -0.5])], 0.1);
 * // the first Adam step moves each weight by lr
 * assert.deepEqual(w, new Float32Array([0.9, -1.9]));
 * ```
 */
export function createAdamW(params: Float32Array[], options: AdamWOptions = {}): AdamWState {
  checkTensorList("params", params);
  const resolved = resolveAdamWOptions(options, params.length);
  return {
    params,
    ...resolved,
    step: 0,
    m1: params.map((p) => new Float32Array(p.length)),
    m2: params.map((p) => new Float32Array(p.length)),
    m1Scales: new Float32Array(params.length).fill(1),
    m2Scales: new Float32Array(params.length).fill(1),
  };
}

// Largest |m| and largest v of the tensor just updated, written by the kernels (no return object).
const amax = new Float64Array(2);

// Options objects for quantize, one per moment buffer, made once: the step allocates nothing.
const quantizeOptions = new WeakMap<Float32Array, QuantizeOptions>();
function optionsFor(buffer: Float32Array): QuantizeOptions {
  let options = quantizeOptions.get(buffer);
  if (options === undefined) {
    options = { out: buffer };
    quantizeOptions.set(buffer, options);
  }
  return options;
}

/**
 * One AdamW step: for every tensor, m ← β1·m + (1−β1)·g, v ← β2·v + (1−β2)·g², then
 * w ← w·(1 − lr·λ) − (lr / (1−β1^t)) · m / (√v / √(1−β2^t) + ε) (PyTorch's AdamW, t = step + 1).
 * The update uses this step's moments before they are rounded for storage (as MS-AMP's fused
 * kernel does); then each moment is stored in its format, behind a fresh power-of-two scale
 * from its largest magnitude.
 *
 * Runs on `@fp4lab/kernels` (WebAssembly SIMD, its worker pool for large steps) where the
 * runtime offers it, bit for bit {@link adamwStepReference}, and on that plain TypeScript
 * otherwise (no SharedArrayBuffer, e.g. a browser page that is not cross-origin isolated). On
 * the kernels the moments stay in the kernel set's shared memory between steps: after the first
 * step `state.m1[t]` and `state.m2[t]` are views of it (same values, same layout; read them
 * through `state`, and see {@link disposeAdamW}). Parameters and gradients that are themselves
 * views of that memory (`@fp4lab/kernels`' `heapAlloc` and `memoryBuffer`) are used in place;
 * others are copied in and the parameters copied back.
 *
 * Gradients must be finite: check them first (the loss scaler's `unscaleGrads`, or the norm
 * `clipGradNorm` returns) and skip the step when they are not.
 *
 * @param state the optimizer, updated in place (weights, moments, scales, step)
 * @param grads one gradient per parameter tensor, same lengths (read only)
 * @param lr the learning rate for this step, finite and ≥ 0 (see `lrAt`)
 * @returns the same `state`
 * @throws {TypeError} when `grads` is not an array of Float32Array
 * @throws {RangeError} for a gradient list that does not match the parameters, or a bad `lr`
 *
 * @example FP8 first moment, FP16 second moment (the defaults)
 * ```ts
 * import { adamwStep, createAdamW } from "@fp4lab/mixed-optim";
 * import assert from "node:assert/strict";
 * const w = new Float32Array([0.5, -0.25, 1]);
 * const opt = createAdamW([w], { weightDecay: 0 });
 * for (let i = 0; i < 3; i++) adamwStep(opt, [new Float32Array([1e-4, -2e-3, 0])], 0.01);
 * assert.equal(opt.step, 3);
 * assert.deepEqual(Array.from(w, (v) => +v.toFixed(2)), [0.47, -0.22, 1]); // ≈, to 2 decimals
 * ```
 */
export function adamwStep(state: AdamWState, grads: Float32Array[], lr: number): AdamWState {
  const c = prepareStep(state, grads, lr);
  if (kernelsAvailable()) kernelAdamwStep(state, grads, lr, c);
  else referenceStep(state, grads, lr, c);
  state.step++;
  return state;
}

/**
 * {@link adamwStep} in plain TypeScript, one tensor after another on the calling thread: the
 * reference the kernel path is tested against bit for bit (weights, stored moments, scales).
 * Works on any state, whether its moments are in kernel memory or not.
 *
 * @param state the optimizer, updated in place
 * @param grads one gradient per parameter tensor, same lengths (read only)
 * @param lr the learning rate for this step, finite and ≥ 0
 * @returns the same `state`
 * @throws {TypeError} when `grads` is not an array of Float32Array
 * @throws {RangeError} for a gradient list that does not match the parameters, or a bad `lr`
 *
 * @example
 * ```ts
 * import { adamwStep, adamwStepReference, createAdamW } from "@fp4lab/mixed-optim";
 * import assert from "node:assert/strict";
 * const a = new Float32Array([0.5, -0.25, 1]), b = a.slice();
 * const fast = createAdamW([a]), slow = createAdamW([b]);
 * const g = new Float32Array([1e-3, -2e-2, 4]);
 * adamwStep(fast, [g], 0.01);
 * adamwStepReference(slow, [g], 0.01);
 * assert.deepEqual(a, b);
 * assert.deepEqual(fast.m1[0], slow.m1[0]);
 * ```
 */
export function adamwStepReference(
  state: AdamWState,
  grads: Float32Array[],
  lr: number,
): AdamWState {
  referenceStep(state, grads, lr, prepareStep(state, grads, lr));
  state.step++;
  return state;
}

/**
 * Frees the kernel memory that holds an optimizer's moments (see {@link adamwStep}):
 * `state.m1` and `state.m2` become ordinary arrays with the same values, and the state stays
 * usable (a later {@link adamwStep} moves them back). Views of the moments taken before are
 * invalid afterwards. Optional: the memory of a state that is no longer reachable is freed
 * when it is garbage-collected.
 *
 * @param state the optimizer
 * @returns the same `state`
 *
 * @example
 * ```ts
 * import { adamwStep, createAdamW, disposeAdamW } from "@fp4lab/mixed-optim";
 * import assert from "node:assert/strict";
 * const opt = createAdamW([new Float32Array(3)]);
 * adamwStep(opt, [new Float32Array([1, 2, 3])], 0.01);
 * const m1 = opt.m1[0].slice();
 * disposeAdamW(opt);
 * assert.ok(opt.m1[0].buffer instanceof ArrayBuffer); // an ordinary array again
 * assert.deepEqual(opt.m1[0], m1);
 * ```
 */
export function disposeAdamW(state: AdamWState): AdamWState {
  releaseState(state);
  return state;
}

function prepareStep(state: AdamWState, grads: Float32Array[], lr: number): StepConstants {
  const { params, beta1, beta2 } = state;
  checkSameShapes("state.params", params, "grads", grads);
  checkFiniteIn("lr", lr, 0, Number.MAX_VALUE);
  const t = state.step + 1;
  return {
    stepSize: lr / (1 - beta1 ** t),
    invSqrtBc2: 1 / Math.sqrt(1 - beta2 ** t),
    f1: momentFloatFormat(state.m1Format),
    f2: momentFloatFormat(state.m2Format),
    scaled1: momentIsScaled(state.m1Format, state.momentScaling),
    scaled2: momentIsScaled(state.m2Format, state.momentScaling),
  };
}

function referenceStep(
  state: AdamWState,
  grads: Float32Array[],
  lr: number,
  c: StepConstants,
): void {
  const { params, beta1, beta2, eps } = state;
  const { stepSize, invSqrtBc2, f1, f2, scaled1, scaled2 } = c;
  for (let k = 0; k < params.length; k++) {
    const decay = 1 - lr * state.weightDecay[k];
    const m1 = state.m1[k];
    const m2 = state.m2[k];
    if (f1 === null && f2 === null) {
      updateF32(params[k], grads[k], m1, m2, beta1, beta2, eps, decay, stepSize, invSqrtBc2);
      continue;
    }
    const s1 = state.m1Scales[k];
    const s2 = state.m2Scales[k];
    updateScaled(
      params[k],
      grads[k],
      m1,
      m2,
      s1,
      s2,
      1 / s1,
      1 / s2,
      beta1,
      beta2,
      eps,
      decay,
      stepSize,
      invSqrtBc2,
    );
    if (f1 !== null) state.m1Scales[k] = store(m1, f1, s1, scaled1 ? amax[0] : 0);
    if (f2 !== null) state.m2Scales[k] = store(m2, f2, s2, scaled2 ? amax[1] : 0);
  }
}

/**
 * Rounds a moment buffer, written in units of `oldScale`, onto `format` behind the scale that
 * fits `amax` (1 when `amax` is 0, i.e. unscaled); returns the new scale.
 */
function store(buffer: Float32Array, format: FloatFormat, oldScale: number, amax: number): number {
  const scale = pow2Scale(amax, format.maxNormal);
  if (scale !== oldScale) {
    // Both scales are powers of two: the rescale is exact.
    const ratio = oldScale / scale;
    for (let i = 0; i < buffer.length; i++) buffer[i] *= ratio;
  }
  quantize(buffer, format, optionsFor(buffer));
  return scale;
}

// The f32-moment kernel: one pass, no scales, no rounding.
function updateF32(
  w: Float32Array,
  g: Float32Array,
  m1: Float32Array,
  m2: Float32Array,
  beta1: number,
  beta2: number,
  eps: number,
  decay: number,
  stepSize: number,
  invSqrtBc2: number,
): void {
  const c1 = 1 - beta1;
  const c2 = 1 - beta2;
  for (let i = 0; i < w.length; i++) {
    const gi = g[i];
    const m = beta1 * m1[i] + c1 * gi;
    const v = beta2 * m2[i] + c2 * gi * gi;
    w[i] = w[i] * decay - stepSize * m / (Math.sqrt(v) * invSqrtBc2 + eps);
    m1[i] = m;
    m2[i] = v;
  }
}

// The narrow-moment kernel: reads the stored moments through their scales, updates the weight,
// writes the new moments in units of the old scales and records their largest magnitudes; the
// rounding happens after, once the new scales are known (`store`).
function updateScaled(
  w: Float32Array,
  g: Float32Array,
  m1: Float32Array,
  m2: Float32Array,
  s1: number,
  s2: number,
  inv1: number,
  inv2: number,
  beta1: number,
  beta2: number,
  eps: number,
  decay: number,
  stepSize: number,
  invSqrtBc2: number,
): void {
  const c1 = 1 - beta1;
  const c2 = 1 - beta2;
  // The scales are powers of two, so β·s is exact and (β·s)·stored equals β·(stored·s) bit for
  // bit: one multiply per moment instead of two.
  const b1s1 = beta1 * s1;
  const b2s2 = beta2 * s2;
  let max1 = 0;
  let max2 = 0;
  for (let i = 0; i < w.length; i++) {
    const gi = g[i];
    const m = b1s1 * m1[i] + c1 * gi;
    const v = b2s2 * m2[i] + c2 * gi * gi;
    w[i] = w[i] * decay - stepSize * m / (Math.sqrt(v) * invSqrtBc2 + eps);
    m1[i] = m * inv1;
    m2[i] = v * inv2;
    // Math.abs compiles branch-free; a `m < 0 ? -m : m` mispredicts on random signs.
    const a = Math.abs(m);
    if (a > max1) max1 = a;
    if (v > max2) max2 = v;
  }
  amax[0] = max1;
  amax[1] = max2;
}
