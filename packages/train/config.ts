/**
 * Model presets and the named parameter list. Parameters live in ONE flat Float32Array in the
 * order and under the names Hugging Face's `LlamaForCausalLM` uses, so a checkpoint is a list of
 * views (issue 10) and the optimizer and the all-reduce see one buffer.
 *
 * @module
 */

/** A LLaMA configuration (the subset of Hugging Face's `LlamaConfig` this trainer uses). */
export interface ModelConfig {
  /** preset name */
  readonly name: string;
  /** vocabulary size: 256 (bytes) */
  readonly vocabSize: number;
  /** hidden size D */
  readonly hiddenSize: number;
  /** SwiGLU intermediate size F */
  readonly intermediateSize: number;
  /** number of decoder blocks */
  readonly numLayers: number;
  /** attention heads (key/value heads are the same number: no grouped-query attention) */
  readonly numHeads: number;
  /** context length T (`max_position_embeddings`) */
  readonly contextLength: number;
  /** RMSNorm epsilon */
  readonly rmsNormEps: number;
  /** RoPE base */
  readonly ropeTheta: number;
}

const base = { vocabSize: 256, rmsNormEps: 1e-5, ropeTheta: 10000 } as const;

/**
 * The LLaMA presets: `smoke` for tests, `tiny` (~1M parameters), `small` (~5M), and two sized
 * for a GPU (usable on the CPU, slowly): `gpt2s` (GPT-2 small's shape: ~114M with the byte
 * vocabulary) and `m350` (GPT-2 medium's depth and width: ~355M).
 */
export const LLAMA_PRESETS: Readonly<Record<string, ModelConfig>> = Object.freeze({
  smoke: {
    ...base,
    name: "smoke",
    hiddenSize: 32,
    intermediateSize: 64,
    numLayers: 2,
    numHeads: 2,
    contextLength: 16,
  },
  tiny: {
    ...base,
    name: "tiny",
    hiddenSize: 128,
    intermediateSize: 384,
    numLayers: 4,
    numHeads: 4,
    contextLength: 128,
  },
  small: {
    ...base,
    name: "small",
    hiddenSize: 256,
    intermediateSize: 688,
    numLayers: 6,
    numHeads: 8,
    contextLength: 256,
  },
  gpt2s: {
    ...base,
    name: "gpt2s",
    hiddenSize: 768,
    intermediateSize: 3072,
    numLayers: 12,
    numHeads: 12,
    contextLength: 1024,
  },
  m350: {
    ...base,
    name: "m350",
    hiddenSize: 1024,
    intermediateSize: 3456,
    numLayers: 24,
    numHeads: 16,
    contextLength: 1024,
  },
});

/**
 * The same object as {@link LLAMA_PRESETS}.
 *
 * @deprecated use {@link LLAMA_PRESETS} ("preset" names a model size only)
 */
export const PRESETS: Readonly<Record<string, ModelConfig>> = LLAMA_PRESETS;

/** One named parameter tensor: a view into the flat buffer. */
export interface ParamSpec {
  /** Hugging Face tensor name, e.g. `model.layers.0.self_attn.q_proj.weight` */
  readonly name: string;
  /** shape in Hugging Face layout (linear weights are [out, in]) */
  readonly shape: readonly number[];
  /** first element in the flat buffer */
  readonly offset: number;
  /** element count */
  readonly size: number;
  /** true for matrices (weight decay applies), false for norm gains */
  readonly matrix: boolean;
}

/** Offsets of one decoder block's tensors in the flat buffer. */
export interface LayerOffsets {
  /** q, k, v projections, contiguous: together the fused [3D, D] QKV weight */
  readonly qkv: number;
  /** o_proj [D, D] */
  readonly o: number;
  /** gate and up projections, contiguous: together the fused [2F, D] weight */
  readonly gateUp: number;
  /** down_proj [D, F] */
  readonly down: number;
  /** input_layernorm [D] */
  readonly ln1: number;
  /** post_attention_layernorm [D] */
  readonly ln2: number;
}

/** The parameter list of a configuration with its offsets. */
export interface ParamLayout {
  /** every tensor, in Hugging Face order */
  readonly params: readonly ParamSpec[];
  /** total element count */
  readonly total: number;
  /** embedding [V, D] offset */
  readonly embed: number;
  /** per-block offsets */
  readonly layers: readonly LayerOffsets[];
  /** final norm [D] offset */
  readonly norm: number;
  /** lm_head [V, D] offset */
  readonly lmHead: number;
}

/**
 * Lays out the parameters of `config` in Hugging Face order and names.
 *
 * @param config the model configuration
 * @returns the named tensors and their offsets in one flat buffer
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { paramLayout, PRESETS } from "./config.ts";
 * const layout = paramLayout(PRESETS.smoke);
 * assert.equal(layout.params[0].name, "model.embed_tokens.weight");
 * ```
 */
export function paramLayout(config: ModelConfig): ParamLayout {
  const { vocabSize: V, hiddenSize: D, intermediateSize: F, numLayers } = config;
  const params: ParamSpec[] = [];
  let offset = 0;
  const add = (name: string, shape: number[]): number => {
    const size = shape.reduce((a, b) => a * b, 1);
    params.push({ name, shape, offset, size, matrix: shape.length === 2 });
    offset += size;
    return offset - size;
  };
  const embed = add("model.embed_tokens.weight", [V, D]);
  const layers: LayerOffsets[] = [];
  for (let i = 0; i < numLayers; i++) {
    const p = `model.layers.${i}.`;
    // q, k, v and gate, up are added back to back so the fused GEMMs read one contiguous view.
    const qkv = add(p + "self_attn.q_proj.weight", [D, D]);
    add(p + "self_attn.k_proj.weight", [D, D]);
    add(p + "self_attn.v_proj.weight", [D, D]);
    const o = add(p + "self_attn.o_proj.weight", [D, D]);
    const gateUp = add(p + "mlp.gate_proj.weight", [F, D]);
    add(p + "mlp.up_proj.weight", [F, D]);
    const down = add(p + "mlp.down_proj.weight", [D, F]);
    const ln1 = add(p + "input_layernorm.weight", [D]);
    const ln2 = add(p + "post_attention_layernorm.weight", [D]);
    layers.push({ qkv, o, gateUp, down, ln1, ln2 });
  }
  const norm = add("model.norm.weight", [D]);
  const lmHead = add("lm_head.weight", [V, D]);
  return { params, total: offset, embed, layers, norm, lmHead };
}

/**
 * Looks a preset up by name.
 *
 * @param name `smoke`, `tiny` or `small`
 * @returns the configuration
 * @throws {RangeError} for an unknown name
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { presetByName } from "./config.ts";
 * assert.equal(presetByName("tiny").hiddenSize, 128);
 * ```
 */
export function presetByName(name: string): ModelConfig {
  const config = PRESETS[name];
  if (!config) {
    throw new RangeError(
      `unknown preset "${name}": expected one of ${Object.keys(PRESETS).join(", ")}`,
    );
  }
  return config;
}

/**
 * Hugging Face `config.json` fields for a configuration (issue 10 writes this beside the
 * weights).
 *
 * @param config the model configuration
 * @returns a JSON-able `LlamaConfig`
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hfConfig, PRESETS } from "./config.ts";
 * assert.deepEqual(hfConfig(PRESETS.tiny).architectures, ["LlamaForCausalLM"]);
 * ```
 */
export function hfConfig(config: ModelConfig): Record<string, unknown> {
  return {
    architectures: ["LlamaForCausalLM"],
    model_type: "llama",
    vocab_size: config.vocabSize,
    hidden_size: config.hiddenSize,
    intermediate_size: config.intermediateSize,
    num_hidden_layers: config.numLayers,
    num_attention_heads: config.numHeads,
    num_key_value_heads: config.numHeads,
    max_position_embeddings: config.contextLength,
    rms_norm_eps: config.rmsNormEps,
    rope_theta: config.ropeTheta,
    hidden_act: "silu",
    tie_word_embeddings: false,
    attention_bias: false,
    mlp_bias: false,
    torch_dtype: "float32",
  };
}
