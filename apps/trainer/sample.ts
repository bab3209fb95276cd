/**
 * `deno task sample --checkpoint DIR --prompt "The jury" --tokens 200`: continues a prompt token
 * by token from a checkpoint (f32 master weights unless `--recipe`), with temperature and top-k
 * sampling from a seeded counter RNG, or greedy with `--temperature 0`. Prompt and output go
 * through the checkpoint's tokenizer: bytes for a 256-token vocabulary, else the
 * `tokenizer.json` beside the weights.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { seedKey, uniformAt } from "@fp4lab/fp4-format";
import { failureStatus, UsageError } from "./cli.ts";
import { CheckpointError } from "./checkpoint.ts";
import {
  createModel,
  forward,
  type Model,
  type ModelConfig,
  type Recipe,
  RECIPES,
} from "@fp4lab/train";
import { checkpointTokenizer, openCheckpoint, recipeFlag } from "./eval.ts";

/** Sampling settings. */
export interface SampleOptions {
  /** tokens to generate */
  tokens: number;
  /** softmax temperature; 0 = greedy (argmax, lowest id on ties) */
  temperature: number;
  /** keep only the k most likely tokens (0 = all) */
  topK: number;
  /** RNG seed */
  seed: number;
  /** forward recipe (default fp32) */
  recipe?: Recipe;
}

/**
 * Generates `options.tokens` tokens after `prompt`. Each step runs the model on the last
 * `max_position_embeddings` tokens (no cache: the model is small) and draws the next token from
 * the last position's distribution.
 *
 * @param config model configuration
 * @param params flat weights in Hugging Face order
 * @param prompt the prompt's token ids (bytes for a byte-level model; at least one)
 * @param options sampling settings
 * @returns the generated ids (without the prompt)
 * @example
 * ```ts
 * import { generate } from "./sample.ts";
 * import { PRESETS } from "@fp4lab/train";
 * import { createModel, initParams } from "@fp4lab/train";
 * import { RECIPES } from "@fp4lab/train";
 * const m = createModel(PRESETS.smoke, RECIPES.fp32, 1);
 * initParams(m, 1);
 * const out = generate(PRESETS.smoke, m.params, new Uint8Array([84]), {
 *   tokens: 5, temperature: 0, topK: 0, seed: 1,
 * });
 * console.log(out.length); // 5
 * ```
 */
export function generate(
  config: ModelConfig,
  params: Float32Array,
  prompt: ArrayLike<number>,
  options: SampleOptions,
): Int32Array {
  if (prompt.length < 1) throw new RangeError("prompt must have at least one token");
  const T = config.contextLength, V = config.vocabSize;
  const recipe = options.recipe ?? RECIPES.fp32;
  const ids = new Int32Array(prompt.length + options.tokens);
  ids.set(prompt);
  const key = seedKey(options.seed);
  const probs = new Float64Array(V);
  let full: Model | null = null;
  for (let n = prompt.length; n < ids.length; n++) {
    const len = Math.min(n, T);
    // A model of exactly `len` positions: per-tensor scaled recipes would see padding otherwise.
    let model: Model;
    if (len === T) {
      if (!full) {
        full = createModel(config, recipe, 1, T);
        full.params.set(params);
      }
      model = full;
    } else {
      model = createModel(config, recipe, 1, len);
      model.params.set(params);
    }
    const tokens = ids.slice(n - len, n);
    forward(model, tokens, tokens); // targets unused; logits become probabilities
    const row = model.acts.logits.subarray((len - 1) * V, len * V);
    ids[n] = pick(row, probs, options, uniformAt(key, n));
  }
  return ids.slice(prompt.length);
}

function pick(row: Float32Array, probs: Float64Array, o: SampleOptions, u: number): number {
  const V = row.length;
  if (o.temperature === 0) {
    let best = 0;
    for (let v = 1; v < V; v++) if (row[v] > row[best]) best = v;
    return best;
  }
  let cut = -1;
  if (o.topK > 0 && o.topK < V) cut = Array.from(row).sort((a, b) => b - a)[o.topK - 1];
  let sum = 0;
  for (let v = 0; v < V; v++) {
    // p^(1/τ) renormalised = softmax(logits / τ).
    probs[v] = row[v] >= cut ? Math.pow(row[v], 1 / o.temperature) : 0;
    sum += probs[v];
  }
  let acc = 0;
  const target = u * sum;
  for (let v = 0; v < V; v++) {
    acc += probs[v];
    if (target < acc) return v;
  }
  for (let v = V - 1; v >= 0; v--) if (probs[v] > 0) return v;
  return 0;
}

/** The `--help` text. */
export const SAMPLE_HELP = `deno task sample --checkpoint DIR [--prompt TEXT] [--tokens N] [flags]

Continues a prompt token by token from a checkpoint (f32 master weights), encoding and decoding
with its tokenizer (bytes, or the tokenizer.json beside the weights).

  --checkpoint DIR   a checkpoint folder: runs/<name>/<recipe> or one of its step-NNNNNN folders
  --prompt TEXT      the start of the text (default "The jury")
  --tokens N         tokens to generate (default 200)
  --temperature X    softmax temperature, 0 = greedy (default 0.8)
  --top-k K          sample among the K most likely tokens, 0 = all (default 40)
  --seed N           seed of the sampling RNG (default 1)
  --recipe R         apply that recipe's forward rounding (default: none, f32)
  --json             print {"prompt", "completion", "ids"} only
  --help             this text

Exit status: 0 done, 2 bad input (one line on stderr), 1 internal error.`;

function number(flag: string, text: string | undefined, fallback: number, int: boolean): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (text.trim() === "" || !Number.isFinite(n) || n < 0 || (int && !Number.isSafeInteger(n))) {
    throw new UsageError(
      `${flag} must be a non-negative ${int ? "integer" : "number"}, got "${text}"`,
    );
  }
  return n;
}

/**
 * Runs `deno task sample`.
 *
 * @param args command-line arguments
 * @returns the exit status
 * @example
 * ```ts ignore
 * Deno.exit(sampleMain(Deno.args));
 * ```
 */
export function sampleMain(args: string[]): number {
  try {
    let v;
    try {
      v = parseArgs({
        args,
        strict: true,
        allowPositionals: false,
        options: {
          checkpoint: { type: "string" },
          prompt: { type: "string" },
          tokens: { type: "string" },
          temperature: { type: "string" },
          "top-k": { type: "string" },
          seed: { type: "string" },
          recipe: { type: "string" },
          json: { type: "boolean" },
          help: { type: "boolean" },
        },
      }).values;
    } catch (e) {
      throw new UsageError(`${(e as Error).message.split("\n")[0]} (see --help)`);
    }
    if (v.help) {
      console.log(SAMPLE_HELP);
      return 0;
    }
    if (!v.checkpoint) throw new UsageError("--checkpoint DIR is required (see --help)");
    const promptText = v.prompt ?? "The jury";
    if (promptText.length === 0) throw new UsageError("--prompt must not be empty");
    const options: SampleOptions = {
      tokens: number("--tokens", v.tokens, 200, true),
      temperature: number("--temperature", v.temperature, 0.8, false),
      topK: number("--top-k", v["top-k"], 40, true),
      seed: number("--seed", v.seed, 1, true),
      recipe: recipeFlag(v.recipe),
    };
    const ckpt = openCheckpoint(v.checkpoint);
    const tok = checkpointTokenizer(v.checkpoint, ckpt.config.vocabSize);
    const prompt = tok.encode(promptText);
    const out = generate(ckpt.config, ckpt.params, prompt, options);
    if (v.json) {
      console.log(JSON.stringify({
        prompt: tok.decode(prompt),
        completion: tok.decode(out),
        ids: Array.from(out),
      }));
    } else {
      console.log(tok.decode([...Array.from(prompt), ...out]));
    }
    return 0;
  } catch (e) {
    return failureStatus("sample", e, (err) => err instanceof CheckpointError);
  }
}

if (import.meta.main) Deno.exit(sampleMain(Deno.args));
