/**
 * LLaMA as Hugging Face's `LlamaForCausalLM` computes it, with explicit forward and backward
 * passes over flat f32 buffers (llm.c style): parameters and gradients are one flat buffer each
 * (named views in {@link ParamLayout}), activations are allocated once for a fixed batch, and
 * the backward pass accumulates into the gradient buffer with `+=` (zero it first).
 *
 * @module
 */
import { BF16, quantize, seedKey, uniformAt } from "@fp4lab/fp4-format";
import { type ModelConfig, type ParamLayout, paramLayout } from "./config.ts";
import {
  attentionBackward,
  attentionForward,
  crossEntropy,
  embeddingBackward,
  embeddingForward,
  rmsnormBackward,
  rmsnormForward,
  ropeApply,
  ropeTables,
  swigluBackward,
  swigluForward,
} from "./layers.ts";
import { createLinear, type Linear, linearBackward, linearForward } from "./linear.ts";
import type { Recipe } from "./recipe.ts";

interface LayerActs {
  ln1: Float32Array;
  rstd1: Float32Array;
  qkv: Float32Array;
  probs: Float32Array;
  att: Float32Array;
  mid: Float32Array;
  ln2: Float32Array;
  rstd2: Float32Array;
  gu: Float32Array;
  h: Float32Array;
  lin: { qkv: Linear; o: Linear; gateUp: Linear; down: Linear };
}

/** A model instance: parameters, gradients, activations for batch B x T, and a recipe. */
export interface Model {
  /** configuration */
  readonly config: ModelConfig;
  /** named parameter views */
  readonly layout: ParamLayout;
  /** every parameter, flat, in Hugging Face order */
  readonly params: Float32Array;
  /** gradients, same layout */
  readonly grads: Float32Array;
  /** sequences per batch */
  readonly B: number;
  /** tokens per sequence */
  readonly T: number;
  /** the precision recipe */
  readonly recipe: Recipe;
  /** @internal activations */
  readonly acts: {
    res: Float32Array[];
    layers: LayerActs[];
    lnf: Float32Array;
    rstdf: Float32Array;
    logits: Float32Array;
    lmHead: Linear;
    tokens: Int32Array;
    targets: Int32Array;
    cos: Float32Array;
    sin: Float32Array;
    scratch: Float32Array;
    dres: Float32Array;
    dln: Float32Array;
    datt: Float32Array;
    dqkv: Float32Array;
    dgu: Float32Array;
    dh: Float32Array;
  };
}

/**
 * Allocates a model for batches of `B` sequences of `T` tokens (T ≤ contextLength).
 *
 * @param config model configuration
 * @param recipe precision recipe
 * @param B sequences per batch
 * @param T tokens per sequence (default: the context length)
 * @returns the model with zero parameters (see {@link initParams})
 * @example
 * ```ts
 * import { createModel } from "./model.ts";
 * import { PRESETS } from "./config.ts";
 * import { RECIPES } from "./recipe.ts";
 * const model = createModel(PRESETS.smoke, RECIPES.fp32, 2);
 * console.log(model.params.length); // 37024
 * ```
 */
export function createModel(config: ModelConfig, recipe: Recipe, B: number, T?: number): Model {
  const seqLen = T ?? config.contextLength;
  if (!Number.isInteger(B) || B < 1) throw new RangeError(`B must be a positive integer, got ${B}`);
  if (!Number.isInteger(seqLen) || seqLen < 1 || seqLen > config.contextLength) {
    throw new RangeError(`T must be in [1, ${config.contextLength}], got ${seqLen}`);
  }
  const layout = paramLayout(config);
  const { hiddenSize: D, intermediateSize: F, numHeads: H, vocabSize: V, numLayers: L } = config;
  const M = B * seqLen;
  const f = (n: number) => new Float32Array(n);
  const res = Array.from({ length: L + 1 }, () => f(M * D));
  const layers: LayerActs[] = [];
  for (let l = 0; l < L; l++) {
    const p = `model.layers.${l}.`;
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
        qkv: createLinear(p + "self_attn.qkv_proj", recipe.linear, M, D, 3 * D),
        o: createLinear(p + "self_attn.o_proj", recipe.linear, M, D, D),
        gateUp: createLinear(p + "mlp.gate_up_proj", recipe.linear, M, D, 2 * F),
        down: createLinear(p + "mlp.down_proj", recipe.linear, M, F, D),
      },
    });
  }
  const { cos, sin } = ropeTables(seqLen, D / H, config.ropeTheta);
  return {
    config,
    layout,
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
      lmHead: createLinear("lm_head", recipe.lmHead, M, D, V),
      tokens: new Int32Array(M),
      targets: new Int32Array(M),
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
 * @param model the model
 * @param seed any integer
 * @example
 * ```ts
 * import { createModel, initParams } from "./model.ts";
 * import { PRESETS } from "./config.ts";
 * import { RECIPES } from "./recipe.ts";
 * const model = createModel(PRESETS.smoke, RECIPES.fp32, 1);
 * initParams(model, 1);
 * console.log(model.params.at(-1) !== 0); // true
 * ```
 */
export function initParams(model: Model, seed: number): void {
  const key = seedKey(seed);
  for (const p of model.layout.params) {
    const view = model.params.subarray(p.offset, p.offset + p.size);
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
}

function view(model: Model, offset: number, size: number): Float32Array {
  return model.params.subarray(offset, offset + size);
}

function gview(model: Model, offset: number, size: number): Float32Array {
  return model.grads.subarray(offset, offset + size);
}

/**
 * Forward pass on `tokens` (B·T ids) predicting `targets`; returns the mean cross-entropy.
 * With `training`, the logits buffer keeps dLoss/dlogits for {@link backward}.
 *
 * @param model the model
 * @param tokens B·T input ids
 * @param targets B·T next-token ids
 * @param options `training` (keep what backward needs), `step` (seeds stochastic rounding),
 *   `collectStats` (measure quantized operands)
 * @returns mean loss in nats
 * @example
 * ```ts
 * import { createModel, forward, initParams } from "./model.ts";
 * import { PRESETS } from "./config.ts";
 * import { RECIPES } from "./recipe.ts";
 * const model = createModel(PRESETS.smoke, RECIPES.fp32, 1);
 * initParams(model, 1);
 * const ids = new Int32Array(16).fill(65);
 * console.log(forward(model, ids, ids) > 5); // true (about ln 256 at init)
 * ```
 */
export function forward(
  model: Model,
  tokens: Int32Array,
  targets: Int32Array,
  options: { training?: boolean; step?: number; collectStats?: boolean } = {},
): number {
  const { config, layout, B, T, acts, recipe } = model;
  const { hiddenSize: D, intermediateSize: F, numHeads: H, vocabSize: V, rmsNormEps: eps } = config;
  const M = B * T, hd = D / H;
  const step = options.step ?? 0, collect = options.collectStats ?? false;
  acts.tokens.set(tokens.subarray(0, M));
  acts.targets.set(targets.subarray(0, M));
  embeddingForward(acts.res[0], acts.tokens, view(model, layout.embed, V * D), M, D);
  for (let l = 0; l < config.numLayers; l++) {
    const a = acts.layers[l], o = layout.layers[l];
    const seed = (step * 64 + l * 8) * 7919;
    const x = acts.res[l];
    rmsnormForward(a.ln1, a.rstd1, x, view(model, o.ln1, D), M, D, eps);
    linearForward(a.lin.qkv, a.qkv, a.ln1, view(model, o.qkv, 3 * D * D), seed, collect);
    ropeApply(a.qkv, B, T, 3 * D, 0, H, hd, acts.cos, acts.sin, false);
    ropeApply(a.qkv, B, T, 3 * D, D, H, hd, acts.cos, acts.sin, false);
    // Attention stays in higher precision; the low-bit recipes round its operands to BF16.
    if (recipe.attention === "BF16") quantize(a.qkv, BF16, { out: a.qkv });
    attentionForward(a.att, a.probs, a.qkv, B, T, D, H, recipe.attention === "BF16");
    linearForward(a.lin.o, acts.scratch, a.att, view(model, o.o, D * D), seed + 100, collect);
    for (let i = 0; i < M * D; i++) a.mid[i] = x[i] + acts.scratch[i];
    rmsnormForward(a.ln2, a.rstd2, a.mid, view(model, o.ln2, D), M, D, eps);
    linearForward(a.lin.gateUp, a.gu, a.ln2, view(model, o.gateUp, 2 * F * D), seed + 200, collect);
    swigluForward(a.h, a.gu, M, F);
    linearForward(a.lin.down, acts.scratch, a.h, view(model, o.down, D * F), seed + 300, collect);
    const y = acts.res[l + 1];
    for (let i = 0; i < M * D; i++) y[i] = a.mid[i] + acts.scratch[i];
  }
  const last = acts.res[config.numLayers];
  rmsnormForward(acts.lnf, acts.rstdf, last, view(model, layout.norm, D), M, D, eps);
  linearForward(
    acts.lmHead,
    acts.logits,
    acts.lnf,
    view(model, layout.lmHead, V * D),
    step * 7919 + 17,
    collect,
  );
  return crossEntropy(
    acts.logits,
    acts.targets,
    M,
    V,
    options.training ? acts.logits : undefined,
  );
}

/**
 * Backward pass after a training {@link forward}: ADDS dLoss/dθ into `model.grads`.
 *
 * @param model the model
 * @param options `step` (must match the forward's), `collectStats`, `lossScale` (multiplies
 *   every gradient; default 1)
 * @example
 * ```ts
 * import { backward, createModel, forward, initParams } from "./model.ts";
 * import { PRESETS } from "./config.ts";
 * import { RECIPES } from "./recipe.ts";
 * const model = createModel(PRESETS.smoke, RECIPES.fp32, 1);
 * initParams(model, 1);
 * const ids = new Int32Array(16).fill(65);
 * forward(model, ids, ids, { training: true });
 * backward(model);
 * console.log(model.grads.some((g) => g !== 0)); // true
 * ```
 */
export function backward(
  model: Model,
  options: { step?: number; collectStats?: boolean; lossScale?: number } = {},
): void {
  const { config, layout, B, T, acts } = model;
  const { hiddenSize: D, intermediateSize: F, numHeads: H, vocabSize: V } = config;
  const M = B * T, hd = D / H, L = config.numLayers;
  const step = options.step ?? 0, collect = options.collectStats ?? false;
  const { dres, dln, datt, dqkv, dgu, dh } = acts;
  // Loss scaling: the whole backward pass carries dLoss·scale (a power of two: exact).
  const lossScale = options.lossScale ?? 1;
  if (lossScale !== 1) { for (let i = 0; i < M * V; i++) acts.logits[i] *= lossScale; }
  dln.fill(0);
  linearBackward(
    acts.lmHead,
    acts.logits,
    dln,
    gview(model, layout.lmHead, V * D),
    step * 7919 + 17,
    collect,
  );
  dres.fill(0);
  rmsnormBackward(
    dres,
    gview(model, layout.norm, D),
    dln,
    acts.res[L],
    view(model, layout.norm, D),
    acts.rstdf,
    M,
    D,
  );
  for (let l = L - 1; l >= 0; l--) {
    const a = acts.layers[l], o = layout.layers[l];
    const seed = (step * 64 + l * 8) * 7919;
    // res[l+1] = mid + down(h): the residual passes dres through to mid unchanged.
    dh.fill(0);
    linearBackward(a.lin.down, dres, dh, gview(model, o.down, D * F), seed + 300, collect);
    dgu.fill(0);
    swigluBackward(dgu, dh, a.gu, M, F);
    dln.fill(0);
    linearBackward(a.lin.gateUp, dgu, dln, gview(model, o.gateUp, 2 * F * D), seed + 200, collect);
    rmsnormBackward(dres, gview(model, o.ln2, D), dln, a.mid, view(model, o.ln2, D), a.rstd2, M, D);
    // mid = res[l] + o(att)
    datt.fill(0);
    linearBackward(a.lin.o, dres, datt, gview(model, o.o, D * D), seed + 100, collect);
    dqkv.fill(0);
    attentionBackward(dqkv, datt, a.qkv, a.probs, B, T, D, H);
    ropeApply(dqkv, B, T, 3 * D, 0, H, hd, acts.cos, acts.sin, true);
    ropeApply(dqkv, B, T, 3 * D, D, H, hd, acts.cos, acts.sin, true);
    dln.fill(0);
    linearBackward(a.lin.qkv, dqkv, dln, gview(model, o.qkv, 3 * D * D), seed, collect);
    rmsnormBackward(
      dres,
      gview(model, o.ln1, D),
      dln,
      acts.res[l],
      view(model, o.ln1, D),
      a.rstd1,
      M,
      D,
    );
  }
  embeddingBackward(gview(model, layout.embed, V * D), dres, acts.tokens, M, D);
}

/**
 * Names the first place in the last forward pass where a non-finite value appears, in
 * computation order (embedding, then each block's stages, then the head), or null.
 *
 * @param model the model after a forward pass
 * @returns e.g. `"model.layers.2.mlp.gate_up_proj output"`, or null when everything is finite
 * @example
 * ```ts
 * import { createModel, firstNonFinite, forward, initParams } from "./model.ts";
 * import { PRESETS } from "./config.ts";
 * import { RECIPES } from "./recipe.ts";
 * const model = createModel(PRESETS.smoke, RECIPES.fp32, 1);
 * initParams(model, 1);
 * model.params[40000 % model.params.length] = NaN;
 * const ids = new Int32Array(16).fill(65);
 * forward(model, ids, ids);
 * console.log(firstNonFinite(model) !== null); // true
 * ```
 */
export function firstNonFinite(model: Model): string | null {
  const { acts, config } = model;
  const bad = (x: Float32Array) => {
    for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) return true;
    return false;
  };
  if (bad(acts.res[0])) return "model.embed_tokens output";
  for (let l = 0; l < config.numLayers; l++) {
    const a = acts.layers[l], p = `model.layers.${l}.`;
    const stages: [string, Float32Array][] = [
      ["input_layernorm output", a.ln1],
      ["self_attn.qkv_proj output", a.qkv],
      ["self_attn attention output", a.att],
      ["self_attn.o_proj residual", a.mid],
      ["post_attention_layernorm output", a.ln2],
      ["mlp.gate_up_proj output", a.gu],
      ["mlp SwiGLU output", a.h],
      ["mlp.down_proj residual", acts.res[l + 1]],
    ];
    for (const [name, x] of stages) if (bad(x)) return p + name;
  }
  if (bad(acts.lnf)) return "model.norm output";
  if (bad(acts.logits)) return "lm_head output";
  return null;
}

/**
 * Every linear layer of the model with its last statistics, in forward order.
 *
 * @param model the model
 * @returns the linear layers
 * @example
 * ```ts
 * import { createModel, linears } from "./model.ts";
 * import { PRESETS } from "./config.ts";
 * import { RECIPES } from "./recipe.ts";
 * console.log(linears(createModel(PRESETS.smoke, RECIPES.fp32, 1)).length); // 9
 * ```
 */
export function linears(model: Model): Linear[] {
  const out: Linear[] = [];
  for (const a of model.acts.layers) out.push(a.lin.qkv, a.lin.o, a.lin.gateUp, a.lin.down);
  out.push(model.acts.lmHead);
  return out;
}
