/**
 * The Hugging Face side of a checkpoint: `config.json` (LlamaConfig fields) to a
 * {@link ModelConfig}, and the check of that config against the tensors a safetensors header
 * declares, done before anything is allocated from the config's numbers.
 *
 * @module
 */
import { type ModelConfig, PRESETS } from "@fp4lab/train";
import type { SafetensorsFile } from "@fp4lab/safetensors";
import { CheckpointError } from "./checkpoint_types.ts";

/** The longest context a checkpoint may declare (max_position_embeddings): far above any preset. */
export const MAX_CONTEXT = 65536;

/**
 * A {@link ModelConfig} from Hugging Face `config.json` fields, checked against what this
 * trainer's LLaMA computes (no grouped-query attention, no biases, untied head, SiLU).
 *
 * @param hf the parsed config.json
 * @param where the file, for messages
 * @returns the configuration, named after the preset it equals (else `custom`)
 * @throws {CheckpointError} naming the first field that is missing or unsupported
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { modelConfigFromHf } from "./hf_config.ts";
 * import { hfConfig, PRESETS } from "@fp4lab/train";
 * assert.equal(modelConfigFromHf(hfConfig(PRESETS.tiny), "config.json").name, "tiny");
 * ```
 */
export function modelConfigFromHf(hf: Record<string, unknown>, where: string): ModelConfig {
  const archs = hf.architectures;
  if (!Array.isArray(archs) || !archs.includes("LlamaForCausalLM")) {
    throw new CheckpointError(
      `${where}: architectures must include "LlamaForCausalLM", got ${JSON.stringify(archs)}`,
    );
  }
  const int = (key: string, fallback?: number): number => {
    const v = hf[key] ?? fallback;
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 1) {
      throw new CheckpointError(
        `${where}: ${key} must be a positive integer, got ${JSON.stringify(v)}`,
      );
    }
    return v;
  };
  const num = (key: string, fallback: number): number => {
    const v = hf[key] ?? fallback;
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) {
      throw new CheckpointError(
        `${where}: ${key} must be a positive number, got ${JSON.stringify(v)}`,
      );
    }
    return v;
  };
  const same = (key: string, want: unknown, fallback: unknown) => {
    const v = hf[key] ?? fallback;
    if (v !== want) {
      throw new CheckpointError(
        `${where}: ${key} = ${JSON.stringify(v)} is not supported (this LLaMA needs ${
          JSON.stringify(want)
        })`,
      );
    }
  };
  const heads = int("num_attention_heads");
  if (int("num_key_value_heads", heads) !== heads) {
    throw new CheckpointError(
      `${where}: num_key_value_heads must equal num_attention_heads (${heads})`,
    );
  }
  same("hidden_act", "silu", "silu");
  same("tie_word_embeddings", false, false);
  same("attention_bias", false, false);
  same("mlp_bias", false, false);
  if (hf.rope_scaling !== undefined && hf.rope_scaling !== null) {
    throw new CheckpointError(`${where}: rope_scaling is not supported`);
  }
  const hidden = int("hidden_size");
  if (hidden % heads !== 0 || (hidden / heads) % 2 !== 0) {
    throw new CheckpointError(
      `${where}: hidden_size ${hidden} must split into ${heads} heads of an even size`,
    );
  }
  const context = int("max_position_embeddings");
  if (context < 2 || context > MAX_CONTEXT) {
    throw new CheckpointError(
      `${where}: max_position_embeddings must be from 2 to ${MAX_CONTEXT}, got ${context}`,
    );
  }
  const fields = {
    vocabSize: int("vocab_size"),
    hiddenSize: hidden,
    intermediateSize: int("intermediate_size"),
    numLayers: int("num_hidden_layers"),
    numHeads: heads,
    contextLength: context,
    rmsNormEps: num("rms_norm_eps", 1e-6),
    ropeTheta: num("rope_theta", 10000),
  };
  // A preset trained on a tokenized data set keeps its name with the tokenizer's vocabulary.
  const preset = Object.values(PRESETS).find((p) =>
    (Object.keys(fields) as (keyof typeof fields)[]).every((k) =>
      k === "vocabSize" || p[k] === fields[k]
    )
  );
  return { name: preset?.name ?? "custom", ...fields };
}

/**
 * The tensors a configuration implies, name and shape, in Hugging Face order (the order of
 * `paramLayout`), produced one at a time: walking it for a config.json that claims 2^26 layers
 * costs only as many steps as the file has tensors before the first mismatch.
 *
 * @param config the configuration
 * @returns name and shape of each tensor
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { expectedTensors } from "./hf_config.ts";
 * import { paramLayout, PRESETS } from "@fp4lab/train";
 * assert.deepEqual(
 *   [...expectedTensors(PRESETS.smoke)],
 *   paramLayout(PRESETS.smoke).params.map((p) => ({ name: p.name, shape: p.shape })),
 * );
 * ```
 */
export function* expectedTensors(
  config: ModelConfig,
): Generator<{ name: string; shape: number[] }> {
  const { vocabSize: V, hiddenSize: D, intermediateSize: F, numLayers } = config;
  yield { name: "model.embed_tokens.weight", shape: [V, D] };
  for (let i = 0; i < numLayers; i++) {
    const p = `model.layers.${i}.`;
    for (const m of ["q", "k", "v", "o"]) {
      yield { name: `${p}self_attn.${m}_proj.weight`, shape: [D, D] };
    }
    yield { name: `${p}mlp.gate_proj.weight`, shape: [F, D] };
    yield { name: `${p}mlp.up_proj.weight`, shape: [F, D] };
    yield { name: `${p}mlp.down_proj.weight`, shape: [D, F] };
    yield { name: `${p}input_layernorm.weight`, shape: [D] };
    yield { name: `${p}post_attention_layernorm.weight`, shape: [D] };
  }
  yield { name: "model.norm.weight", shape: [D] };
  yield { name: "lm_head.weight", shape: [V, D] };
}

/**
 * Checks a configuration against a parsed safetensors file before the model is laid out: every
 * tensor the configuration implies must be in the file with that shape, and nothing else. The
 * reader has already checked that every tensor lies inside the file, so after this check every
 * allocation the model needs is bounded by the file's size.
 *
 * @param config the configuration from config.json
 * @param file the parsed model.safetensors
 * @param where the safetensors file, for the message
 * @throws {CheckpointError} naming the first missing, misshapen or extra tensor
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkConfigAgainstTensors } from "./hf_config.ts";
 * import { PRESETS } from "@fp4lab/train";
 * assert.throws(
 *   () => checkConfigAgainstTensors(PRESETS.smoke, { metadata: {}, tensors: {} }, "x"),
 *   /x: missing tensor model.embed_tokens.weight/,
 * );
 * ```
 */
export function checkConfigAgainstTensors(
  config: ModelConfig,
  file: SafetensorsFile,
  where: string,
): void {
  let seen = 0;
  for (const { name, shape } of expectedTensors(config)) {
    const t = Object.hasOwn(file.tensors, name) ? file.tensors[name] : undefined;
    if (!t) throw new CheckpointError(`${where}: missing tensor ${name}`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new CheckpointError(
        `${where}: ${name} has shape [${t.shape}], but config.json says [${shape}]`,
      );
    }
    seen++;
  }
  if (seen !== Object.keys(file.tensors).length) {
    const known = new Set([...expectedTensors(config)].map((t) => t.name));
    const extra = Object.keys(file.tensors).find((n) => !known.has(n));
    throw new CheckpointError(
      `${where}: tensor ${extra} is not part of the model config.json describes`,
    );
  }
}
