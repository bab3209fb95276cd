/**
 * LLaMA as Hugging Face's `LlamaForCausalLM` computes it, with explicit forward and backward
 * passes over flat buffers on a {@link Backend} (llm.c style): parameters and gradients are one
 * flat buffer each (named ranges in {@link ParamLayout}), activations are allocated once for a
 * fixed batch, and the backward pass accumulates into the gradient buffer (zero it first).
 *
 * @module
 */
import { seedKey, uniformAt } from "@fp4lab/fp4-format";
import { type Backend, slice, type Tensor } from "./backend.ts";
import { createCpuBackend } from "./backends/wasm.ts";
import { type ModelConfig, type ParamLayout, paramLayout } from "./config.ts";
import { ropeTables } from "./layers.ts";
import {
  createLinear,
  freeLinear,
  type Linear,
  linearBackward,
  linearForward,
  settleLinearStats,
} from "./linear.ts";
import type { OperandSpec, Recipe } from "./recipe.ts";

interface LayerActs {
  ln1: Tensor;
  rstd1: Tensor;
  qkv: Tensor;
  probs: Tensor;
  att: Tensor;
  mid: Tensor;
  ln2: Tensor;
  rstd2: Tensor;
  gu: Tensor;
  h: Tensor;
  lin: { qkv: Linear; o: Linear; gateUp: Linear; down: Linear };
}

/** A model instance: parameters, gradients, activations for batch B x T, and a recipe. */
export interface Model {
  /** configuration */
  readonly config: ModelConfig;
  /** named parameter ranges */
  readonly layout: ParamLayout;
  /** where every buffer lives */
  readonly backend: Backend;
  /** every parameter, flat, in Hugging Face order */
  readonly params: Tensor;
  /** gradients, same layout */
  readonly grads: Tensor;
  /** sequences per batch */
  readonly B: number;
  /** tokens per sequence */
  readonly T: number;
  /** the precision recipe */
  readonly recipe: Recipe;
  /** @internal activations */
  readonly acts: {
    res: Tensor[];
    layers: LayerActs[];
    lnf: Tensor;
    rstdf: Tensor;
    logits: Tensor;
    targetProbs: Tensor;
    lmHead: Linear;
    tokens: Tensor;
    targets: Tensor;
    cos: Tensor;
    sin: Tensor;
    scratch: Tensor;
    dres: Tensor;
    dln: Tensor;
    datt: Tensor;
    dqkv: Tensor;
    dgu: Tensor;
    dh: Tensor;
  };
}

/** Options of {@link createModel}. */
export interface ModelOptions {
  /** tokens per sequence (default: the context length) */
  readonly T?: number;
  /** where the buffers live (default: a new `cpu` backend) */
  readonly backend?: Backend;
}

const BF16_NONE: OperandSpec = { format: "BF16", granularity: "none" };

/**
 * Allocates a model for batches of `B` sequences of `T` tokens (T ≤ contextLength).
 *
 * @param config model configuration
 * @param recipe precision recipe
 * @param B sequences per batch
 * @param options `T` and `backend`
 * @returns the model with zero parameters (see {@link initParams})
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createModel, PRESETS, RECIPES } from "@fp4lab/train";
 * const model = createModel(PRESETS.smoke, RECIPES.fp32, 2);
 * assert.equal(model.params.length, 37024);
 * ```
 */
export function createModel(
  config: ModelConfig,
  recipe: Recipe,
  B: number,
  options: ModelOptions = {},
): Model {
  const seqLen = options.T ?? config.contextLength;
  if (!Number.isInteger(B) || B < 1) throw new RangeError(`B must be a positive integer, got ${B}`);
  if (!Number.isInteger(seqLen) || seqLen < 1 || seqLen > config.contextLength) {
    throw new RangeError(`T must be in [1, ${config.contextLength}], got ${seqLen}`);
  }
  const be = options.backend ?? createCpuBackend();
  const layout = paramLayout(config);
  const { hiddenSize: D, intermediateSize: F, numHeads: H, vocabSize: V, numLayers: L } = config;
  const M = B * seqLen;
  const f = (n: number) => be.alloc(n);
  const res = Array.from({ length: L + 1 }, () => f(M * D));
  const layers: LayerActs[] = [];
  for (let l = 0; l < L; l++) {
    const p = `model.layers.${l}.`;
    const lin = (name: string, gemm: "qkv" | "o" | "gate_up" | "down", K: number, N: number) =>
      createLinear(be, p + name, recipe.linear, M, K, N, { layer: l, gemm });
    layers.push({
      ln1: f(M * D),
      rstd1: f(M),
      qkv: f(M * 3 * D),
      probs: f(B * H * seqLen * seqLen),
      att: f(M * D),
      mid: f(M * D),
      ln2: f(M * D),
      rstd2: f(M),
      gu: f(M * 2 * F),
      h: f(M * F),
      lin: {
        qkv: lin("self_attn.qkv_proj", "qkv", D, 3 * D),
        o: lin("self_attn.o_proj", "o", D, D),
        gateUp: lin("mlp.gate_up_proj", "gate_up", D, 2 * F),
        down: lin("mlp.down_proj", "down", F, D),
      },
    });
  }
  const tables = ropeTables(seqLen, D / H, config.ropeTheta);
  const cos = f(tables.cos.length), sin = f(tables.sin.length);
  be.write(cos, tables.cos);
  be.write(sin, tables.sin);
  return {
    config,
    layout,
    backend: be,
    params: f(layout.total),
    grads: f(layout.total),
    B,
    T: seqLen,
    recipe,
    acts: {
      res,
      layers,
      lnf: f(M * D),
      rstdf: f(M),
      logits: f(M * V),
      targetProbs: f(M),
      lmHead: createLinear(be, "lm_head", recipe.lmHead, M, D, V, { layer: 0, gemm: "lm_head" }),
      tokens: be.alloc(M, "i32"),
      targets: be.alloc(M, "i32"),
      cos,
      sin,
      scratch: f(M * D),
      dres: f(M * D),
      dln: f(M * D),
      datt: f(M * D),
      dqkv: f(M * 3 * D),
      dgu: f(M * 2 * F),
      dh: f(M * F),
    },
  };
}

/**
 * Hugging Face's LLaMA initialisation: linear and embedding weights N(0, 0.02²), norm gains 1.
 * Deterministic in `seed` (counter-based normal draws).
 *
 * @param layout the parameter layout
 * @param seed any integer
 * @returns the flat parameters
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initialParams, paramLayout, PRESETS } from "@fp4lab/train";
 * const params = initialParams(paramLayout(PRESETS.smoke), 1);
 * assert.notEqual(params.at(-1), 0);
 * ```
 */
export function initialParams(layout: ParamLayout, seed: number): Float32Array {
  const params = new Float32Array(layout.total);
  const key = seedKey(seed);
  for (const p of layout.params) {
    const view = params.subarray(p.offset, p.offset + p.size);
    if (!p.matrix) {
      view.fill(1);
      continue;
    }
    for (let i = 0; i < p.size; i++) {
      // Box-Muller on two counter-based uniforms; 1 − u keeps the log finite.
      const u1 = 1 - uniformAt(key, 2 * (p.offset + i));
      const u2 = uniformAt(key, 2 * (p.offset + i) + 1);
      view[i] = 0.02 * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    }
  }
  return params;
}

/**
 * Sets the model's parameters to {@link initialParams}.
 *
 * @param model the model
 * @param seed any integer
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createModel, initParams, PRESETS, readParams, RECIPES } from "@fp4lab/train";
 * const model = createModel(PRESETS.smoke, RECIPES.fp32, 1);
 * initParams(model, 1);
 * assert.notEqual((await readParams(model)).at(-1), 0);
 * ```
 */
export function initParams(model: Model, seed: number): void {
  model.backend.write(model.params, initialParams(model.layout, seed));
}

/**
 * Replaces the model's parameters (flat, Hugging Face order).
 *
 * @param model the model
 * @param params `layout.total` values
 * @example
 * ```ts
 * import { createModel, PRESETS, RECIPES, writeParams } from "@fp4lab/train";
 * const model = createModel(PRESETS.smoke, RECIPES.fp32, 1);
 * writeParams(model, new Float32Array(model.layout.total).fill(0.01));
 * ```
 */
export function writeParams(model: Model, params: Float32Array): void {
  model.backend.write(model.params, params);
}

/**
 * The model's parameters (a copy, flat, Hugging Face order).
 *
 * @param model the model
 * @returns `layout.total` values
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createModel, PRESETS, readParams, RECIPES } from "@fp4lab/train";
 * const model = createModel(PRESETS.smoke, RECIPES.fp32, 1);
 * assert.equal((await readParams(model)).length, 37024);
 * ```
 */
export async function readParams(model: Model): Promise<Float32Array> {
  return (await model.backend.read(model.params)) as Float32Array;
}

/**
 * The model's gradients (a copy, flat, Hugging Face order).
 *
 * @param model the model
 * @returns `layout.total` values
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createModel, PRESETS, readGrads, RECIPES } from "@fp4lab/train";
 * const model = createModel(PRESETS.smoke, RECIPES.fp32, 1);
 * assert.ok((await readGrads(model)).every((g) => g === 0));
 * ```
 */
export async function readGrads(model: Model): Promise<Float32Array> {
  return (await model.backend.read(model.grads)) as Float32Array;
}

/** Options of {@link forward}. */
export interface ForwardOptions {
  /** keep dLoss/dlogits for {@link backward} */
  readonly training?: boolean;
  /** micro-step: seeds stochastic rounding */
  readonly step?: number;
  /** measure quantized operands (read them after {@link settleStats}) */
  readonly collectStats?: boolean;
}

/**
 * Forward pass on `tokens` (B·T ids) predicting `targets`; resolves the mean cross-entropy
 * (nats, computed in f64 from each position's target probability). With `training`, the logits
 * buffer keeps dLoss/dlogits for {@link backward}.
 *
 * @param model the model
 * @param tokens B·T input ids
 * @param targets B·T next-token ids
 * @param options see {@link ForwardOptions}
 * @returns mean loss in nats
 * @example
 * ```ts
 * import { createModel, forward, initParams, PRESETS, RECIPES } from "@fp4lab/train";
 * import assert from "node:assert/strict";
 * const model = createModel(PRESETS.smoke, RECIPES.fp32, 1);
 * initParams(model, 1);
 * const ids = new Int32Array(16).fill(65);
 * const loss = await forward(model, ids, ids);
 * assert.ok(loss > 5 && loss < 6); // about ln 256 = 5.55 at init
 * ```
 */
export async function forward(
  model: Model,
  tokens: Int32Array,
  targets: Int32Array,
  options: ForwardOptions = {},
): Promise<number> {
  enqueueForward(model, tokens, targets, options);
  return meanLoss(await model.backend.read(model.acts.targetProbs) as Float32Array);
}

/**
 * Like {@link forward} (no training), and also each sequence's mean loss: for the standard error
 * of a validation loss over windows.
 *
 * @param model the model
 * @param tokens B·T input ids
 * @param targets B·T next-token ids
 * @returns the mean loss (the same number {@link forward} gives) and B per-sequence means
 * @example
 * ```ts
 * import { createModel, initParams, PRESETS, RECIPES, sequenceLosses } from "@fp4lab/train";
 * import assert from "node:assert/strict";
 * const model = createModel(PRESETS.smoke, RECIPES.fp32, 2);
 * initParams(model, 1);
 * const ids = new Int32Array(32).map((_, i) => 60 + (i % 9));
 * const { mean, perSequence } = await sequenceLosses(model, ids, ids);
 * assert.equal(perSequence.length, 2);
 * assert.ok(Math.abs((perSequence[0] + perSequence[1]) / 2 - mean) < 1e-12);
 * ```
 */
export async function sequenceLosses(
  model: Model,
  tokens: Int32Array,
  targets: Int32Array,
): Promise<{ mean: number; perSequence: Float64Array }> {
  enqueueForward(model, tokens, targets, {});
  const p = await model.backend.read(model.acts.targetProbs) as Float32Array;
  const { B, T } = model;
  const perSequence = new Float64Array(B);
  for (let b = 0; b < B; b++) {
    let s = 0;
    for (let t = 0; t < T; t++) s -= Math.log(p[b * T + t]);
    perSequence[b] = s / T;
  }
  return { mean: meanLoss(p), perSequence };
}

/** −mean(log p) in f64, the same on every backend for the same probabilities. */
function meanLoss(targetProbs: Float32Array): number {
  let loss = 0;
  for (let m = 0; m < targetProbs.length; m++) loss -= Math.log(targetProbs[m]);
  return loss / targetProbs.length;
}

function enqueueForward(
  model: Model,
  tokens: Int32Array,
  targets: Int32Array,
  options: ForwardOptions,
): void {
  const { config, layout, B, T, acts, recipe, backend: be, params } = model;
  const { hiddenSize: D, intermediateSize: F, numHeads: H, vocabSize: V, rmsNormEps: eps } = config;
  const M = B * T, hd = D / H;
  if (tokens.length < M || targets.length < M) {
    throw new RangeError(
      `forward needs ${M} tokens and targets, got ${tokens.length}/${targets.length}`,
    );
  }
  const step = options.step ?? 0, collect = options.collectStats ?? false;
  const p = (offset: number, size: number) => slice(params, offset, size);
  be.write(acts.tokens, tokens.length === M ? tokens : tokens.subarray(0, M));
  be.write(acts.targets, targets.length === M ? targets : targets.subarray(0, M));
  be.embeddingForward(acts.res[0], acts.tokens, p(layout.embed, V * D), M, D);
  for (let l = 0; l < config.numLayers; l++) {
    const a = acts.layers[l], o = layout.layers[l];
    const x = acts.res[l];
    be.rmsnormForward(a.ln1, a.rstd1, x, p(o.ln1, D), M, D, eps);
    linearForward(a.lin.qkv, a.qkv, a.ln1, p(o.qkv, 3 * D * D), step, collect);
    be.rope(a.qkv, B, T, 3 * D, 0, H, hd, acts.cos, acts.sin, false);
    be.rope(a.qkv, B, T, 3 * D, D, H, hd, acts.cos, acts.sin, false);
    // Attention stays in higher precision; the low-bit recipes round its operands to BF16.
    if (recipe.attention === "BF16") be.quantize(a.qkv, a.qkv, M, 3 * D, BF16_NONE, 0);
    be.attentionForward(a.att, a.probs, a.qkv, B, T, D, H, recipe.attention === "BF16");
    linearForward(a.lin.o, acts.scratch, a.att, p(o.o, D * D), step, collect);
    be.add(a.mid, x, acts.scratch);
    be.rmsnormForward(a.ln2, a.rstd2, a.mid, p(o.ln2, D), M, D, eps);
    linearForward(a.lin.gateUp, a.gu, a.ln2, p(o.gateUp, 2 * F * D), step, collect);
    be.swigluForward(a.h, a.gu, M, F);
    linearForward(a.lin.down, acts.scratch, a.h, p(o.down, D * F), step, collect);
    be.add(acts.res[l + 1], a.mid, acts.scratch);
  }
  const last = acts.res[config.numLayers];
  be.rmsnormForward(acts.lnf, acts.rstdf, last, p(layout.norm, D), M, D, eps);
  linearForward(acts.lmHead, acts.logits, acts.lnf, p(layout.lmHead, V * D), step, collect);
  be.crossEntropy(acts.logits, acts.targets, acts.targetProbs, M, V, options.training ? 1 : null);
}

/**
 * The next-token distribution after `tokens` (B = 1: the model's T positions): a forward pass
 * whose last position's probabilities are returned.
 *
 * @param model a model of batch 1
 * @param tokens T ids
 * @returns V probabilities
 * @example
 * ```ts
 * import { createModel, initParams, nextTokenProbabilities, PRESETS, RECIPES } from "@fp4lab/train";
 * import assert from "node:assert/strict";
 * const model = createModel(PRESETS.smoke, RECIPES.fp32, 1, { T: 3 });
 * initParams(model, 1);
 * const p = await nextTokenProbabilities(model, new Int32Array([72, 105, 33]));
 * assert.ok(Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-5);
 * ```
 */
export async function nextTokenProbabilities(
  model: Model,
  tokens: Int32Array,
): Promise<Float32Array> {
  const { B, T, config: { vocabSize: V } } = model;
  if (B !== 1) throw new RangeError(`nextTokenProbabilities needs a model of batch 1, got ${B}`);
  enqueueForward(model, tokens, tokens, {});
  return (await model.backend.read(slice(model.acts.logits, (T - 1) * V, V))) as Float32Array;
}

/** Options of {@link backward}. */
export interface BackwardOptions {
  /** micro-step (must match the forward's) */
  readonly step?: number;
  /** gather DGE statistics (read them after {@link settleStats}) */
  readonly collectStats?: boolean;
  /** multiplies every gradient (a power of two: exact); default 1 */
  readonly lossScale?: number;
}

/**
 * Backward pass after a training {@link forward}: ADDS dLoss/dθ into `model.grads`.
 *
 * @param model the model
 * @param options see {@link BackwardOptions}
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { backward, createModel, forward, initParams, PRESETS, readGrads, RECIPES } from "@fp4lab/train";
 * const model = createModel(PRESETS.smoke, RECIPES.fp32, 1);
 * initParams(model, 1);
 * const ids = new Int32Array(16).fill(65);
 * await forward(model, ids, ids, { training: true });
 * backward(model);
 * assert.ok((await readGrads(model)).some((g) => g !== 0));
 * ```
 */
export function backward(model: Model, options: BackwardOptions = {}): void {
  const { config, layout, B, T, acts, backend: be, params, grads } = model;
  const { hiddenSize: D, intermediateSize: F, numHeads: H, vocabSize: V } = config;
  const M = B * T, hd = D / H, L = config.numLayers;
  const step = options.step ?? 0, collect = options.collectStats ?? false;
  const { dres, dln, datt, dqkv, dgu, dh } = acts;
  const p = (offset: number, size: number) => slice(params, offset, size);
  const g = (offset: number, size: number) => slice(grads, offset, size);
  // Loss scaling: the whole backward pass carries dLoss·scale (a power of two: exact).
  const lossScale = options.lossScale ?? 1;
  if (lossScale !== 1) be.scale(acts.logits, lossScale);
  be.fill(dln, 0);
  linearBackward(acts.lmHead, acts.logits, dln, g(layout.lmHead, V * D), step, collect);
  be.fill(dres, 0);
  be.rmsnormBackward(
    dres,
    g(layout.norm, D),
    dln,
    acts.res[L],
    p(layout.norm, D),
    acts.rstdf,
    M,
    D,
  );
  for (let l = L - 1; l >= 0; l--) {
    const a = acts.layers[l], o = layout.layers[l];
    // res[l+1] = mid + down(h): the residual passes dres through to mid unchanged.
    be.fill(dh, 0);
    linearBackward(a.lin.down, dres, dh, g(o.down, D * F), step, collect);
    be.fill(dgu, 0);
    be.swigluBackward(dgu, dh, a.gu, M, F);
    be.fill(dln, 0);
    linearBackward(a.lin.gateUp, dgu, dln, g(o.gateUp, 2 * F * D), step, collect);
    be.rmsnormBackward(dres, g(o.ln2, D), dln, a.mid, p(o.ln2, D), a.rstd2, M, D);
    // mid = res[l] + o(att)
    be.fill(datt, 0);
    linearBackward(a.lin.o, dres, datt, g(o.o, D * D), step, collect);
    be.fill(dqkv, 0);
    be.attentionBackward(dqkv, datt, a.qkv, a.probs, B, T, D, H);
    be.rope(dqkv, B, T, 3 * D, 0, H, hd, acts.cos, acts.sin, true);
    be.rope(dqkv, B, T, 3 * D, D, H, hd, acts.cos, acts.sin, true);
    be.fill(dln, 0);
    linearBackward(a.lin.qkv, dqkv, dln, g(o.qkv, 3 * D * D), step, collect);
    be.rmsnormBackward(dres, g(o.ln1, D), dln, acts.res[l], p(o.ln1, D), a.rstd1, M, D);
  }
  be.embeddingBackward(g(layout.embed, V * D), dres, acts.tokens, M, D);
}

/**
 * Waits for the statistics the last collecting forward and backward asked for; afterwards every
 * layer's `stats` holds them.
 *
 * @param model the model
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createModel, forward, initParams, linears, PRESETS, RECIPES, settleStats } from "@fp4lab/train";
 * const model = createModel(PRESETS.smoke, RECIPES.fp4, 1);
 * initParams(model, 1);
 * const ids = new Int32Array(16).fill(65);
 * await forward(model, ids, ids, { collectStats: true });
 * await settleStats(model);
 * assert.ok(linears(model)[0].stats.a!.crestMax > 1);
 * ```
 */
export async function settleStats(model: Model): Promise<void> {
  await Promise.all(linears(model).map(settleLinearStats));
}

/**
 * Names the first place in the last forward pass where a non-finite value appears, in
 * computation order (embedding, then each block's stages, then the head), or null.
 *
 * @param model the model after a forward pass
 * @returns e.g. `"model.layers.2.mlp.gate_up_proj output"`, or null when everything is finite
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createModel, firstNonFinite, forward, initialParams, PRESETS, RECIPES, writeParams } from "@fp4lab/train";
 * const model = createModel(PRESETS.smoke, RECIPES.fp32, 1);
 * const params = initialParams(model.layout, 1);
 * const q = model.layout.params.find((p) => p.name === "model.layers.0.self_attn.q_proj.weight")!;
 * params[q.offset] = NaN;
 * writeParams(model, params);
 * const ids = new Int32Array(16).fill(65);
 * await forward(model, ids, ids);
 * assert.equal(await firstNonFinite(model), "model.layers.0.self_attn.qkv_proj output");
 * ```
 */
export async function firstNonFinite(model: Model): Promise<string | null> {
  const { acts, config, backend: be } = model;
  if (await be.hasNonFinite(acts.res[0])) return "model.embed_tokens output";
  for (let l = 0; l < config.numLayers; l++) {
    const a = acts.layers[l], p = `model.layers.${l}.`;
    const stages: [string, Tensor][] = [
      ["input_layernorm output", a.ln1],
      ["self_attn.qkv_proj output", a.qkv],
      ["self_attn attention output", a.att],
      ["self_attn.o_proj residual", a.mid],
      ["post_attention_layernorm output", a.ln2],
      ["mlp.gate_up_proj output", a.gu],
      ["mlp SwiGLU output", a.h],
      ["mlp.down_proj residual", acts.res[l + 1]],
    ];
    for (const [name, x] of stages) if (await be.hasNonFinite(x)) return p + name;
  }
  if (await be.hasNonFinite(acts.lnf)) return "model.norm output";
  if (await be.hasNonFinite(acts.logits)) return "lm_head output";
  return null;
}

/**
 * Every linear layer of the model with its last statistics, in forward order.
 *
 * @param model the model
 * @returns the linear layers
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createModel, linears, PRESETS, RECIPES } from "@fp4lab/train";
 * assert.equal(linears(createModel(PRESETS.smoke, RECIPES.fp32, 1)).length, 9);
 * ```
 */
export function linears(model: Model): Linear[] {
  const out: Linear[] = [];
  for (const a of model.acts.layers) out.push(a.lin.qkv, a.lin.o, a.lin.gateUp, a.lin.down);
  out.push(model.acts.lmHead);
  return out;
}

/**
 * Frees every buffer of the model on its backend.
 *
 * @param model the model
 * @example
 * ```ts
 * import { createModel, freeModel, PRESETS, RECIPES } from "@fp4lab/train";
 * freeModel(createModel(PRESETS.smoke, RECIPES.fp32, 1));
 * ```
 */
export function freeModel(model: Model): void {
  const be = model.backend;
  for (const lin of linears(model)) freeLinear(lin);
  const { layers, lmHead: _lmHead, res, ...rest } = model.acts;
  for (const t of res) be.free(t);
  for (const a of layers) {
    const { lin: _lin, ...tensors } = a;
    for (const t of Object.values(tensors)) be.free(t);
  }
  for (const t of Object.values(rest)) be.free(t as Tensor);
  be.free(model.params);
  be.free(model.grads);
}
