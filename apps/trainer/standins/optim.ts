/**
 * TEMPORARY STAND-IN for `@fp4lab/mixed-optim` (helper branch `optim`): AdamW with f32 master
 * weights and low-precision moments, gradient clipping, the warm-up + cosine schedule and the
 * FP8 all-reduce codec, minimal and private; deleted when that package lands on main.
 *
 * @module
 */
import { E4M3, type FloatFormat, FP16, quantize } from "@fp4lab/fp4-format";

/** AdamW settings and state over one flat parameter buffer cut into named tensors. */
export interface AdamWState {
  /** tensors: offset, size, whether weight decay applies */
  readonly tensors: readonly { offset: number; size: number; decay: boolean }[];
  /** first moment (stored values, already rounded to its format) */
  readonly m: Float32Array;
  /** second moment */
  readonly v: Float32Array;
  /** first-moment storage: "fp32" or "E4M3" (per-tensor scale) */
  readonly m1: "fp32" | "E4M3";
  /** second-moment storage: "fp32" or "FP16" (per-tensor scale) */
  readonly m2: "fp32" | "FP16";
  /** β1, β2, ε, weight decay */
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  /** steps taken */
  step: number;
}

/**
 * Creates AdamW state (β1 0.9, β2 0.95, ε 1e-8, weight decay 0.1: the FP4 paper's settings).
 *
 * @param tensors the tensors of the flat buffer
 * @param total element count
 * @param options moment formats and hyperparameters
 * @returns zeroed state
 * @example
 * ```ts
 * import { createAdamW } from "./optim.ts";
 * const s = createAdamW([{ offset: 0, size: 2, decay: true }], 2, {});
 * console.log(s.m.length); // 2
 * ```
 */
export function createAdamW(
  tensors: readonly { offset: number; size: number; decay: boolean }[],
  total: number,
  options: Partial<Pick<AdamWState, "m1" | "m2" | "beta1" | "beta2" | "eps" | "weightDecay">>,
): AdamWState {
  return {
    tensors,
    m: new Float32Array(total),
    v: new Float32Array(total),
    m1: options.m1 ?? "fp32",
    m2: options.m2 ?? "fp32",
    beta1: options.beta1 ?? 0.9,
    beta2: options.beta2 ?? 0.95,
    eps: options.eps ?? 1e-8,
    weightDecay: options.weightDecay ?? 0.1,
    step: 0,
  };
}

// Round a tensor to `format` with one per-tensor scale (absmax maps to maxNormal).
function storeScaled(x: Float32Array, format: FloatFormat): void {
  let amax = 0;
  for (let i = 0; i < x.length; i++) amax = Math.max(amax, Math.abs(x[i]));
  if (amax === 0 || !Number.isFinite(amax)) return;
  const s = Math.fround(amax / format.maxNormal);
  for (let i = 0; i < x.length; i++) x[i] = x[i] / s;
  quantize(x, format, { out: x });
  for (let i = 0; i < x.length; i++) x[i] = x[i] * s;
}

/**
 * One AdamW step (decoupled weight decay, bias correction) on f32 master weights.
 *
 * @param state optimizer state
 * @param params master weights (updated in place)
 * @param grads gradients
 * @param lr learning rate
 * @example
 * ```ts
 * import { adamwStep, createAdamW } from "./optim.ts";
 * const s = createAdamW([{ offset: 0, size: 1, decay: false }], 1, {});
 * const p = new Float32Array([1]);
 * adamwStep(s, p, new Float32Array([0.5]), 0.1);
 * console.log(p[0].toFixed(3)); // "0.900"
 * ```
 */
export function adamwStep(
  state: AdamWState,
  params: Float32Array,
  grads: Float32Array,
  lr: number,
): void {
  state.step++;
  const { beta1: b1, beta2: b2, eps, m, v } = state;
  const c1 = 1 - Math.pow(b1, state.step), c2 = 1 - Math.pow(b2, state.step);
  for (const t of state.tensors) {
    const end = t.offset + t.size;
    const decay = t.decay ? 1 - lr * state.weightDecay : 1;
    for (let i = t.offset; i < end; i++) {
      const g = grads[i];
      m[i] = b1 * m[i] + (1 - b1) * g;
      v[i] = b2 * v[i] + (1 - b2) * g * g;
    }
    if (state.m1 === "E4M3") storeScaled(m.subarray(t.offset, end), E4M3);
    if (state.m2 === "FP16") storeScaled(v.subarray(t.offset, end), FP16);
    for (let i = t.offset; i < end; i++) {
      params[i] = params[i] * decay - lr * (m[i] / c1) / (Math.sqrt(v[i] / c2) + eps);
    }
  }
}

/**
 * Scales gradients so their global L2 norm is at most `maxNorm`.
 *
 * @param grads gradients (scaled in place)
 * @param maxNorm the bound
 * @returns the norm before clipping
 * @example
 * ```ts
 * import { clipGradNorm } from "./optim.ts";
 * const g = new Float32Array([3, 4]);
 * console.log(clipGradNorm(g, 1), g); // 5 Float32Array [0.6, 0.8]
 * ```
 */
export function clipGradNorm(grads: Float32Array, maxNorm: number): number {
  let ss = 0;
  for (let i = 0; i < grads.length; i++) ss += grads[i] * grads[i];
  const norm = Math.sqrt(ss);
  if (norm > maxNorm) {
    const k = maxNorm / norm;
    for (let i = 0; i < grads.length; i++) grads[i] *= k;
  }
  return norm;
}

/**
 * The FP4 paper's schedule: linear warm-up over the first 5% of steps, then cosine decay to
 * 10% of the peak.
 *
 * @param step 0-based step
 * @param steps total steps
 * @param peak peak learning rate
 * @returns the learning rate at `step`
 * @example
 * ```ts
 * import { lrAt } from "./optim.ts";
 * console.log(lrAt(99, 100, 1).toFixed(2)); // "0.10"
 * ```
 */
export function lrAt(step: number, steps: number, peak: number): number {
  const warm = Math.max(1, Math.round(0.05 * steps));
  if (step < warm) return (peak * (step + 1)) / warm;
  const t = (step - warm) / Math.max(1, steps - 1 - warm);
  return peak * (0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * Math.min(1, t))));
}

/**
 * FP8 all-reduce codec (MS-AMP's rule): per tensor, one scale from the max |g| over all ranks;
 * each rank's gradient is rounded to E4M3 with it; the mean of the rounded gradients is written
 * to `out`.
 *
 * @param rankGrads one gradient buffer per rank
 * @param tensors tensor boundaries
 * @param out averaged gradient
 * @returns bytes a ring all-reduce of the FP8 payload moves per rank: 2(R−1)/R · elements
 * @example
 * ```ts
 * import { fp8AllReduce } from "./optim.ts";
 * const out = new Float32Array(1);
 * fp8AllReduce([new Float32Array([1]), new Float32Array([3])], [{ offset: 0, size: 1 }], out);
 * console.log(out); // [2]
 * ```
 */
export function fp8AllReduce(
  rankGrads: readonly Float32Array[],
  tensors: readonly { offset: number; size: number }[],
  out: Float32Array,
): number {
  const R = rankGrads.length;
  let elements = 0;
  for (const t of tensors) {
    const end = t.offset + t.size;
    elements += t.size;
    let amax = 0;
    for (const g of rankGrads) {
      for (let i = t.offset; i < end; i++) amax = Math.max(amax, Math.abs(g[i]));
    }
    out.fill(0, t.offset, end);
    if (amax === 0 || !Number.isFinite(amax)) {
      if (!Number.isFinite(amax)) out.fill(NaN, t.offset, end);
      continue;
    }
    const s = Math.fround(amax / E4M3.maxNormal);
    const tmp = new Float32Array(t.size);
    for (const g of rankGrads) {
      for (let i = 0; i < t.size; i++) tmp[i] = g[t.offset + i] / s;
      quantize(tmp, E4M3, { out: tmp });
      for (let i = 0; i < t.size; i++) out[t.offset + i] += tmp[i] * s;
    }
    for (let i = t.offset; i < end; i++) out[i] /= R;
  }
  return R > 1 ? Math.round((2 * (R - 1) / R) * elements) : 0;
}

/**
 * Bytes of master weights and optimizer state (f32 master, moments at their storage width,
 * plus one f32 scale per tensor for each scaled moment).
 *
 * @param state optimizer state
 * @returns bytes
 * @example
 * ```ts
 * import { createAdamW, memoryBytes } from "./optim.ts";
 * console.log(memoryBytes(createAdamW([{ offset: 0, size: 10, decay: true }], 10, {}))); // 120
 * ```
 */
export function memoryBytes(state: AdamWState): number {
  const n = state.m.length, t = state.tensors.length;
  const m1 = state.m1 === "E4M3" ? n + 4 * t : 4 * n;
  const m2 = state.m2 === "FP16" ? 2 * n + 4 * t : 4 * n;
  return 4 * n + m1 + m2;
}
