/**
 * `deno task eval --checkpoint DIR --data FILE [--recipe R] [--json]`: the mean next-token
 * cross-entropy of a checkpoint on a text file, encoded with the checkpoint's tokenizer (bytes
 * for a 256-token vocabulary, else the `tokenizer.json` beside the weights). The tokens are cut
 * into consecutive non-overlapping windows of `max_position_embeddings` (the remainder
 * dropped); inside each window every position predicts the next token (T − 1 predictions per
 * window, as Hugging Face's `model(ids, labels=ids)` counts them). Computed in f32 from the
 * master weights, with no quantization unless `--recipe` names one whose forward pass to apply.
 * Reported per token and per byte of the file (bits per byte), so tokenizers compare.
 *
 * @module
 */
import { basename, dirname, join } from "node:path";
import { type Checkpoint, CheckpointError, loadCheckpoint } from "./checkpoint.ts";
import {
  createModel,
  forward,
  freeModel,
  type Model,
  type ModelConfig,
  type Recipe,
  RECIPES,
  writeParams,
} from "@fp4lab/train";
import { failureStatus, UsageError } from "./cli.ts";
import { formatDuration } from "./progress.ts";
import { parseFlags } from "../_shared/cli.ts";
import { activationBytes, machineMemory } from "./memory.ts";
import { DataError } from "./data.ts";
import { byteTokenizer, type TextTokenizer, tokenizerFromFile } from "./tokenizer.ts";

/** What {@link evaluateText} measures. */
export interface EvalResult {
  /** mean next-token cross-entropy in nats (nats per byte for the byte vocabulary) */
  loss: number;
  /** predicted tokens: windows · (T − 1) */
  tokens: number;
}

/**
 * Mean next-token loss of `params` over the non-overlapping windows of `bytes` (token ids:
 * bytes for a byte-level model).
 *
 * @param config model configuration (T = its context length)
 * @param params flat weights in Hugging Face order
 * @param bytes the token ids
 * @param recipe forward-pass recipe (default fp32: no rounding)
 * @param batch windows per forward pass
 * @param onProgress called after each forward pass with the windows done and their total
 * @returns loss in nats per token (per byte for the byte vocabulary) and predicted-token count
 * @throws {RangeError} when the text is shorter than one window
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { evaluateText } from "./eval.ts";
 * import { initialParams, paramLayout, PRESETS } from "@fp4lab/train";
 * const params = initialParams(paramLayout(PRESETS.smoke), 1);
 * const r = await evaluateText(PRESETS.smoke, params, new Uint8Array(40).fill(65));
 * assert.equal(r.tokens, 30); // 2 windows of 16, 15 predictions each; 8 bytes dropped
 * ```
 */
export async function evaluateText(
  config: ModelConfig,
  params: Float32Array,
  bytes: ArrayLike<number>,
  recipe: Recipe = RECIPES.fp32,
  batch = 8,
  onProgress?: (windowsDone: number, windows: number) => void,
): Promise<EvalResult> {
  const T = config.contextLength;
  const windows = Math.floor(bytes.length / T);
  if (windows < 1 || T < 2) {
    throw new RangeError(`${bytes.length} tokens are fewer than one window of ${T}`);
  }
  const models = new Map<number, Model>();
  const modelFor = (B: number) => {
    let m = models.get(B);
    if (!m) {
      // T − 1 positions: causal attention makes them exactly the window's first T − 1 outputs.
      m = createModel(config, recipe, B, { T: T - 1 });
      writeParams(m, params);
      models.set(B, m);
    }
    return m;
  };
  let sum = 0;
  for (let w0 = 0; w0 < windows; w0 += batch) {
    const B = Math.min(batch, windows - w0);
    const tokens = new Int32Array(B * (T - 1)), targets = new Int32Array(B * (T - 1));
    for (let b = 0; b < B; b++) {
      const start = (w0 + b) * T;
      for (let t = 0; t < T - 1; t++) {
        tokens[b * (T - 1) + t] = bytes[start + t];
        targets[b * (T - 1) + t] = bytes[start + t + 1];
      }
    }
    sum += await forward(modelFor(B), tokens, targets) * B * (T - 1);
    onProgress?.(w0 + B, windows);
  }
  for (const m of models.values()) freeModel(m);
  const tokens = windows * (T - 1);
  return { loss: sum / tokens, tokens };
}

/**
 * Loads the checkpoint a CLI was pointed at, explaining a run folder given instead of a recipe.
 *
 * @param dir the `--checkpoint` folder
 * @returns the checkpoint (weights; the trainer state is not needed)
 * @throws {CheckpointError} one line naming what is wrong
 * @example
 * ```ts ignore
 * const ckpt = openCheckpoint("runs/x/fp4");
 * ```
 */
export function openCheckpoint(dir: string): Checkpoint {
  try {
    Deno.statSync(join(dir, "run.json"));
    const recipes = [...Deno.readDirSync(dir)].filter((e) => e.isDirectory).map((e) => e.name);
    throw new CheckpointError(
      `${dir} is a run folder; pass one recipe's folder, e.g. ${join(dir, recipes[0] ?? "fp4")}`,
    );
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
  }
  return loadCheckpoint(dir);
}

/**
 * The tokenizer of a checkpoint: bytes when its vocabulary is 256, else the Hugging Face
 * `tokenizer.json` in its folder (or, for a `step-NNNNNN` folder, in the recipe folder above).
 *
 * @param dir the checkpoint folder
 * @param vocabSize the model's vocabulary (config.json `vocab_size`)
 * @returns the tokenizer
 * @throws {CheckpointError} when a BPE model has no tokenizer.json, or one of another size
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkpointTokenizer } from "./eval.ts";
 * assert.equal(checkpointTokenizer("runs/x/fp4", 256).name, "byte");
 * ```
 */
export function checkpointTokenizer(dir: string, vocabSize: number): TextTokenizer {
  if (vocabSize === 256) return byteTokenizer();
  const candidates = [join(dir, "tokenizer.json")];
  if (/^step-\d+$/.test(basename(dir))) candidates.push(join(dirname(dir), "tokenizer.json"));
  const path = candidates.find((p) => {
    try {
      return Deno.statSync(p).isFile;
    } catch {
      return false;
    }
  });
  if (!path) {
    throw new CheckpointError(
      `${dir}: vocabulary ${vocabSize} but no tokenizer.json beside the weights`,
    );
  }
  let tok: TextTokenizer;
  try {
    tok = tokenizerFromFile(path);
  } catch (e) {
    throw new CheckpointError((e as Error).message.replace("--tokenizer ", ""));
  }
  if (tok.vocabSize > vocabSize) {
    throw new CheckpointError(
      `${path}: ${tok.vocabSize} tokens, more than the model's vocabulary ${vocabSize}`,
    );
  }
  return tok;
}

/**
 * Resolves `--recipe`: null for none (f32), else the named recipe.
 *
 * @param name the flag value
 * @returns the recipe
 * @throws {UsageError} for an unknown name
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { recipeFlag } from "./eval.ts";
 * assert.equal(recipeFlag("fp4").name, "fp4");
 * ```
 */
export function recipeFlag(name: string | undefined): Recipe {
  if (name === undefined) return RECIPES.fp32;
  const r = RECIPES[name];
  if (!r) {
    throw new UsageError(
      `unknown recipe "${name}" for --recipe: expected one of ${Object.keys(RECIPES).join(", ")}`,
    );
  }
  return r;
}

/**
 * What `deno task eval --json` prints: the loss in nats per token (per byte for the byte
 * vocabulary), bits per byte of the text, and the per-token perplexity.
 *
 * @param r the measurement
 * @param bytesPerToken bytes of text per token (1 for the byte vocabulary)
 * @returns the JSON object
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { evalJson } from "./eval.ts";
 * const j = evalJson({ loss: Math.LN2, tokens: 30 });
 * assert.deepEqual(j, { loss: Math.LN2, tokens: 30, bits_per_byte: 1, perplexity: 2 });
 * ```
 */
export function evalJson(
  r: EvalResult,
  bytesPerToken = 1,
): { loss: number; tokens: number; bits_per_byte: number; perplexity: number } {
  return {
    loss: r.loss,
    tokens: r.tokens,
    bits_per_byte: r.loss / Math.LN2 / bytesPerToken,
    perplexity: Math.exp(r.loss),
  };
}

function writeErr(text: string): void {
  Deno.stderr.writeSync(new TextEncoder().encode(text));
}

/**
 * A progress callback for {@link evaluateText} that redraws one line: windows done, percent and
 * time left.
 *
 * @param write where the text goes (stderr)
 * @param now clock in milliseconds (for tests)
 * @returns the callback
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { evalProgress } from "./eval.ts";
 * const out: string[] = [];
 * let t = 0;
 * const p = evalProgress((s) => out.push(s), () => t);
 * t = 1000;
 * p(25, 100);
 * assert.equal(out[0], "\reval: 25/100 windows (25%), 3s left ");
 * ```
 */
export function evalProgress(
  write: (text: string) => void,
  now: () => number = () => performance.now(),
): (done: number, total: number) => void {
  const t0 = now();
  return (done, total) => {
    const elapsed = (now() - t0) / 1000;
    const left = done > 0 ? formatDuration(elapsed * (total - done) / done) : "?";
    write(`\reval: ${done}/${total} windows (${Math.floor(100 * done / total)}%), ${left} left `);
  };
}

/** The `--help` text. */
export const EVAL_HELP = `deno task eval --checkpoint DIR --data FILE [--recipe R] [--json]

Mean next-token cross-entropy of a checkpoint on a text file, encoded with the checkpoint's
tokenizer (bytes, or the tokenizer.json beside the weights): the tokens are cut into consecutive
non-overlapping windows of max_position_embeddings (remainder dropped) and every position predicts
the next token inside its window. f32 from the master weights; --recipe applies that recipe's
forward-pass rounding (e.g. fp4) instead. Reported in nats per token and bits per byte.

  --checkpoint DIR  a checkpoint folder: runs/<name>/<recipe> or one of its step-NNNNNN folders
  --data FILE       a text file
  --recipe R        ${Object.keys(RECIPES).join(", ")} (default: none, f32)
  --json            print only {"loss": <nats per token>, "tokens": <count>,
                    "bits_per_byte": <bits per byte of the file>, "perplexity": <e^loss, per
                    token>} (for the byte vocabulary a token is a byte)

Progress goes to stderr while it runs (on a terminal).
  --help            this text

Exit status: 0 done, 2 bad input (one line on stderr), 1 internal error.`;

function parse(args: string[]) {
  const { values } = parseFlags(args, {
    checkpoint: { type: "string" },
    data: { type: "string" },
    recipe: { type: "string" },
    json: { type: "boolean" },
    help: { type: "boolean" },
  });
  return values as Record<string, string | undefined> & { json?: boolean; help?: boolean };
}

/**
 * Windows per forward pass that fit in half the machine's memory (at most 8), so a checkpoint
 * whose config.json declares a long context is evaluated in smaller batches, or refused when even
 * one window would not fit.
 *
 * @param config the model
 * @param available bytes of memory (default the machine's)
 * @returns windows per pass
 * @throws {CheckpointError} naming max_position_embeddings and the memory one window needs
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { evalBatch } from "./eval.ts";
 * import { PRESETS } from "@fp4lab/train";
 * assert.equal(evalBatch(PRESETS.tiny, 16e9), 8);
 * ```
 */
export function evalBatch(config: ModelConfig, available = machineMemory()): number {
  const one = activationBytes(config, 1, config.contextLength - 1);
  const fit = Math.floor((0.5 * available) / one);
  if (fit < 1) {
    throw new CheckpointError(
      `config.json's max_position_embeddings ${config.contextLength} needs about ${
        (one / 1e9).toFixed(1)
      } GB for one window; this machine has ${(available / 1e9).toFixed(1)} GB`,
    );
  }
  return Math.min(8, fit);
}

/**
 * Runs `deno task eval`.
 *
 * @param args command-line arguments
 * @returns the exit status
 * @example
 * ```ts ignore
 * Deno.exit(await evalMain(Deno.args));
 * ```
 */
export async function evalMain(args: string[]): Promise<number> {
  try {
    const v = parse(args);
    if (v.help) {
      console.log(EVAL_HELP);
      return 0;
    }
    if (!v.checkpoint) throw new UsageError("--checkpoint DIR is required (see --help)");
    if (!v.data) throw new UsageError("--data FILE is required (see --help)");
    const recipe = recipeFlag(v.recipe);
    const ckpt = openCheckpoint(v.checkpoint);
    let bytes: Uint8Array;
    try {
      // A regular file only: a device such as /dev/zero would be read until memory runs out.
      if (!Deno.statSync(v.data).isFile) throw new UsageError(`--data ${v.data} is not a file`);
      bytes = await Deno.readFile(v.data);
    } catch (e) {
      if (e instanceof UsageError) throw e;
      throw new UsageError(
        `--data ${v.data}: cannot read (${(e as Error).message.split("\n")[0]})`,
      );
    }
    const tok = checkpointTokenizer(v.checkpoint, ckpt.config.vocabSize);
    let ids: ArrayLike<number> = bytes;
    if (tok.kind !== "byte") {
      try {
        ids = tok.encode(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
      } catch {
        throw new UsageError(`--data ${v.data}: not UTF-8 text`);
      }
    }
    const T = ckpt.config.contextLength;
    if (ids.length < T) {
      throw new UsageError(
        `--data ${v.data}: ${ids.length} tokens, fewer than one window of ${T} (max_position_embeddings)`,
      );
    }
    const progress = Deno.stderr.isTerminal() ? evalProgress((t) => writeErr(t)) : undefined;
    const batch = evalBatch(ckpt.config);
    const r = await evaluateText(ckpt.config, ckpt.params, ids, recipe, batch, progress);
    if (progress) writeErr("\n");
    const bytesPerToken = bytes.length / ids.length;
    const bitsPerByte = r.loss / Math.LN2 / bytesPerToken;
    if (v.json) {
      console.log(JSON.stringify(evalJson(r, bytesPerToken)));
    } else {
      const windows = Math.floor(ids.length / T);
      const rows: [string, string][] = [
        [
          "checkpoint",
          `${v.checkpoint} (preset ${ckpt.config.name}${
            ckpt.step === null ? "" : `, step ${ckpt.step}`
          }${ckpt.recipe ? `, trained with ${ckpt.recipe.name}` : ""})`,
        ],
        [
          "data",
          `${v.data}: ${bytes.length} bytes, ${ids.length} tokens (${tok.name}), ${windows} windows of ${T}, ${
            ids.length - windows * T
          } tokens dropped`,
        ],
        [
          "forward",
          v.recipe === undefined ? "f32 master weights, no quantization" : `recipe ${recipe.name}`,
        ],
        ["tokens", String(r.tokens)],
        ["loss", `${r.loss.toFixed(4)} nats per ${tok.name === "byte" ? "byte" : "token"}`],
        ["", `${bitsPerByte.toFixed(4)} bits per byte`],
        [
          "perplexity",
          `${Math.exp(r.loss).toFixed(3)} (per ${tok.name === "byte" ? "byte" : "token"})`,
        ],
      ];
      for (const [k, val] of rows) console.log(`${k.padEnd(11)} ${val}`);
    }
    return 0;
  } catch (e) {
    return failureStatus(
      "eval",
      e,
      (err) => err instanceof CheckpointError || err instanceof DataError,
    );
  }
}

if (import.meta.main) Deno.exit(await evalMain(Deno.args));
