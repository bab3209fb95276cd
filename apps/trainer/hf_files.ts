/**
 * The Hugging Face files a checkpoint folder needs besides `model.safetensors` and `config.json`
 * so that `AutoTokenizer.from_pretrained(dir)` and `pipeline("text-generation", model=dir)` work
 * with no conversion: `tokenizer.json` + `tokenizer_config.json` (the tokenizer, byte-level by
 * default), `generation_config.json` (greedy, at most one context of tokens) and a model card
 * `README.md` (YAML metadata, then what was trained, on what, how long, its losses and the command).
 *
 * The tokenizer is a parameter: a checkpoint trained with another vocabulary passes its own
 * {@link HfTokenizer}; {@link byteLevelTokenizer} is the default the trainer's byte vocabulary uses.
 *
 * @module
 */
import { type ModelConfig, paramLayout, type Recipe } from "@fp4lab/train";

/** The names {@link hfFiles} writes, in writing order. */
export const HF_FILES = [
  "tokenizer.json",
  "tokenizer_config.json",
  "generation_config.json",
  "README.md",
] as const;

/** A tokenizer as Hugging Face stores it. */
export interface HfTokenizer {
  /** `tokenizer.json`: the `tokenizers` library's serialized tokenizer */
  readonly tokenizer: Record<string, unknown>;
  /** `tokenizer_config.json`: what `AutoTokenizer` reads first */
  readonly config: Record<string, unknown>;
  /** one line for the model card, e.g. "byte-level, 256 tokens, id = byte value" */
  readonly description: string;
  /** the unit losses are measured in, e.g. "nats per byte" */
  readonly lossUnit: string;
}

/** The run a checkpoint comes from (the checkpoint's settings are a superset). */
export interface ModelCardRun {
  readonly preset: string;
  readonly recipe: string;
  readonly steps: number;
  readonly batch: number;
  readonly ranks: number;
  readonly lr: number;
  readonly seed: number;
  readonly data: string;
}

/** Where a run stands when the checkpoint is written (the trainer's state is a superset). */
export interface ModelCardState {
  /** optimizer steps done */
  readonly step: number;
  /** the loss curve so far */
  readonly records: readonly { loss: number; valLoss: number | null }[];
}

/**
 * GPT-2's byte-to-character table: the 188 printable Latin-1 bytes stand for themselves and the
 * other 68 are shifted to U+0100 and up, so every byte is one visible character. Hugging Face's
 * ByteLevel pre-tokenizer and decoder use this table.
 */
function byteChars(): string[] {
  const chars: string[] = new Array(256);
  const printable = (b: number) =>
    (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let shifted = 0;
  for (let b = 0; b < 256; b++) {
    chars[b] = String.fromCodePoint(printable(b) ? b : 256 + shifted++);
  }
  return chars;
}

/**
 * The trainer's byte vocabulary as a Hugging Face tokenizer: 256 tokens, token id = byte value,
 * no special tokens, no merges. Text is encoded as its UTF-8 bytes and decoded back (invalid UTF-8
 * becomes U+FFFD, as in Python's `errors="replace"`).
 *
 * @param modelMaxLength the context length (`model_max_length`)
 * @returns the tokenizer files' contents
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { byteLevelTokenizer } from "./hf_files.ts";
 * const t = byteLevelTokenizer(256);
 * const vocab = (t.tokenizer.model as { vocab: Record<string, number> }).vocab;
 * assert.equal(Object.keys(vocab).length, 256);
 * assert.equal(vocab["T"], 84); // printable bytes are themselves
 * assert.equal(vocab["Ġ"], 32); // the space byte is shifted (GPT-2's table)
 * ```
 */
export function byteLevelTokenizer(modelMaxLength: number): HfTokenizer {
  const vocab: Record<string, number> = {};
  byteChars().forEach((c, b) => vocab[c] = b);
  const byteLevel = { add_prefix_space: false, trim_offsets: false, use_regex: false };
  return {
    tokenizer: {
      version: "1.0",
      truncation: null,
      padding: null,
      added_tokens: [],
      normalizer: null,
      pre_tokenizer: { type: "ByteLevel", ...byteLevel },
      post_processor: null,
      decoder: { type: "ByteLevel", ...byteLevel },
      model: {
        type: "BPE",
        dropout: null,
        unk_token: null,
        continuing_subword_prefix: null,
        end_of_word_suffix: null,
        fuse_unk: false,
        byte_fallback: false,
        ignore_merges: false,
        vocab,
        merges: [],
      },
    },
    config: {
      tokenizer_class: "PreTrainedTokenizerFast",
      model_max_length: modelMaxLength,
      clean_up_tokenization_spaces: false,
      added_tokens_decoder: {},
    },
    description:
      "byte-level: 256 tokens, token id = byte value of the UTF-8 text, no special tokens",
    lossUnit: "nats per byte",
  };
}

/** Mean of the last 10% (at least one) of the training losses; null before the first step. */
function recentTrainLoss(records: ModelCardState["records"]): number | null {
  if (records.length === 0) return null;
  const tail = records.slice(records.length - Math.max(1, Math.floor(records.length / 10)));
  return tail.reduce((s, r) => s + r.loss, 0) / tail.length;
}

/** An equivalent command for this recipe alone (one recipe of a possibly larger run). */
export function trainCommand(run: ModelCardRun): string {
  const data = /^[\w./-]+$/.test(run.data) ? run.data : `'${run.data.replaceAll("'", `'\\''`)}'`;
  return `deno task train --preset ${run.preset} --recipes ${run.recipe} --steps ${run.steps} ` +
    `--batch ${run.batch} --ranks ${run.ranks} --lr ${run.lr} --seed ${run.seed} --data ${data}`;
}

/**
 * The model card: YAML metadata Hugging Face reads (license, library, pipeline, tags), then the
 * recipe, preset, data, steps, losses, the command and how to load the folder.
 *
 * @param config model configuration
 * @param recipe the recipe the weights were trained with
 * @param run the run's settings
 * @param state steps done and the loss curve
 * @param tokenizer the tokenizer written beside it
 * @returns the README.md text
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { byteLevelTokenizer, modelCard } from "./hf_files.ts";
 * import { PRESETS, RECIPES } from "@fp4lab/train";
 * const run = {
 *   preset: "smoke", recipe: "fp4", steps: 10, batch: 4, ranks: 1, lr: 0.01, seed: 1, data: "markov",
 * };
 * const card = modelCard(PRESETS.smoke, RECIPES.fp4, run, {
 *   step: 10, records: [{ loss: 5, valLoss: null }, { loss: 4, valLoss: 4.5 }],
 * }, byteLevelTokenizer(16));
 * assert.match(card, /^---\nlicense: mit\n/);
 * assert.match(card, /validation loss \| 4\.5000 nats per byte/);
 * ```
 */
export function modelCard(
  config: ModelConfig,
  recipe: Recipe,
  run: ModelCardRun,
  state: ModelCardState,
  tokenizer: HfTokenizer,
): string {
  const params = paramLayout(config).total;
  const train = recentTrainLoss(state.records);
  const val = state.records.findLast((r) => r.valLoss !== null)?.valLoss ?? null;
  const loss = (x: number | null) =>
    x === null ? "not measured yet" : `${x.toFixed(4)} ${tokenizer.lossUnit}`;
  const T = config.contextLength;
  return [
    "---",
    "license: mit",
    "library_name: transformers",
    "pipeline_tag: text-generation",
    "tags:",
    "  - llama",
    "  - fp4lab",
    `  - ${recipe.name}`,
    "  - low-precision-training",
    "---",
    "",
    `# fp4lab ${config.name} LLaMA, recipe \`${recipe.name}\``,
    "",
    `A ${params}-parameter LLaMA trained by fp4lab's trainer with the \`${recipe.name}\` precision ` +
    `recipe: ${recipe.description}. The weights are the f32 master weights; \`config.json\` is ` +
    "`LlamaForCausalLM`'s.",
    "",
    "| | |",
    "| --- | --- |",
    `| recipe | \`${recipe.name}\` |`,
    `| preset | \`${config.name}\`: hidden ${config.hiddenSize}, ${config.numLayers} layers, ` +
    `${config.numHeads} heads, context ${T}, vocabulary ${config.vocabSize}, ${params} parameters |`,
    `| data | ${run.data} |`,
    `| steps | ${state.step} of ${run.steps}, ${run.batch} sequences of ${T} tokens per step, ` +
    `${run.ranks} rank(s), peak learning rate ${run.lr}, seed ${run.seed} |`,
    `| training loss (mean of the last 10% of steps) | ${loss(train)} |`,
    `| validation loss | ${loss(val)} |`,
    `| tokenizer | ${tokenizer.description} |`,
    "| license | MIT |",
    "",
    "Trained with (this recipe alone; the run may have trained others beside it):",
    "",
    "```sh",
    trainCommand(run),
    "```",
    "",
    "## Use",
    "",
    "```python",
    "from transformers import pipeline",
    'generate = pipeline("text-generation", model="path/to/this/folder")',
    `print(generate("The jury", max_new_tokens=${
      Math.max(1, T - 8)
    }, do_sample=False)[0]["generated_text"])`,
    "```",
    "",
    `The model has no position beyond ${T} tokens: \`generation_config.json\` stops there. ` +
    "fp4lab's `deno task sample --checkpoint <folder>` slides a window to continue further.",
    "",
  ].join("\n");
}

/**
 * The four files, encoded, for a checkpoint folder.
 *
 * @param config model configuration
 * @param recipe the recipe
 * @param run the run's settings
 * @param state steps done and the loss curve
 * @param tokenizer the tokenizer (default: {@link byteLevelTokenizer})
 * @returns file name to bytes, in {@link HF_FILES} order
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { HF_FILES, hfFiles } from "./hf_files.ts";
 * import { PRESETS, RECIPES } from "@fp4lab/train";
 * const run = {
 *   preset: "smoke", recipe: "fp4", steps: 1, batch: 1, ranks: 1, lr: 0.01, seed: 1, data: "markov",
 * };
 * const files = hfFiles(PRESETS.smoke, RECIPES.fp4, run, { step: 0, records: [] });
 * assert.deepEqual(Object.keys(files), [...HF_FILES]);
 * const gen = JSON.parse(new TextDecoder().decode(files["generation_config.json"]));
 * assert.equal(gen.max_length, 16);
 * ```
 */
export function hfFiles(
  config: ModelConfig,
  recipe: Recipe,
  run: ModelCardRun,
  state: ModelCardState,
  tokenizer: HfTokenizer = byteLevelTokenizer(config.contextLength),
): Record<(typeof HF_FILES)[number], Uint8Array> {
  const enc = new TextEncoder();
  const json = (v: unknown) => enc.encode(JSON.stringify(v, null, 2) + "\n");
  return {
    "tokenizer.json": json(tokenizer.tokenizer),
    "tokenizer_config.json": json(tokenizer.config),
    // Greedy by default; no end-of-text token exists, so generation stops at the context length
    // (the model has no positions beyond it). Id 0 pads (nothing is padded for one prompt).
    "generation_config.json": json({
      do_sample: false,
      max_length: config.contextLength,
      pad_token_id: 0,
    }),
    "README.md": enc.encode(modelCard(config, recipe, run, state, tokenizer)),
  };
}
