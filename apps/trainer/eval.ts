/**
 * `deno task eval --checkpoint DIR --data FILE [--recipe R] [--json]`: the mean next-byte
 * cross-entropy of a checkpoint on a text file. The bytes are cut into consecutive
 * non-overlapping windows of `max_position_embeddings` (the remainder dropped); inside each
 * window every position predicts the next byte (T − 1 predictions per window, as Hugging Face's
 * `model(ids, labels=ids)` counts them). Computed in f32 from the master weights, with no
 * quantization unless `--recipe` names one whose forward pass to apply.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { type Checkpoint, CheckpointError, loadCheckpoint } from "./checkpoint.ts";
import {
  createModel,
  forward,
  type Model,
  type ModelConfig,
  type Recipe,
  RECIPES,
  writeParams,
} from "@fp4lab/train";
import { failureStatus, UsageError } from "./cli.ts";

/** The result `--json` prints. */
export interface EvalResult {
  /** mean next-token cross-entropy in nats */
  loss: number;
  /** predicted tokens: windows · (T − 1) */
  tokens: number;
}

/**
 * Mean next-byte loss of `params` over the non-overlapping windows of `bytes`.
 *
 * @param config model configuration (T = its context length)
 * @param params flat weights in Hugging Face order
 * @param bytes the text
 * @param recipe forward-pass recipe (default fp32: no rounding)
 * @param batch windows per forward pass
 * @returns loss in nats and predicted-token count
 * @throws {RangeError} when the text is shorter than one window
 * @example
 * ```ts
 * import { evaluateText } from "./eval.ts";
 * import { initialParams, paramLayout, PRESETS } from "@fp4lab/train";
 * const params = initialParams(paramLayout(PRESETS.smoke), 1);
 * const r = await evaluateText(PRESETS.smoke, params, new Uint8Array(40).fill(65));
 * console.log(r.tokens); // 30 (2 windows of 16, 15 predictions each; 8 bytes dropped)
 * ```
 */
export async function evaluateText(
  config: ModelConfig,
  params: Float32Array,
  bytes: Uint8Array,
  recipe: Recipe = RECIPES.fp32,
  batch = 8,
): Promise<EvalResult> {
  const T = config.contextLength;
  const windows = Math.floor(bytes.length / T);
  if (windows < 1 || T < 2) {
    throw new RangeError(`${bytes.length} bytes are fewer than one window of ${T}`);
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
  }
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
 * Resolves `--recipe`: null for none (f32), else the named recipe.
 *
 * @param name the flag value
 * @returns the recipe
 * @throws {UsageError} for an unknown name
 * @example
 * ```ts
 * import { recipeFlag } from "./eval.ts";
 * console.log(recipeFlag("fp4").name); // "fp4"
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

/** The `--help` text. */
export const EVAL_HELP = `deno task eval --checkpoint DIR --data FILE [--recipe R] [--json]

Mean next-byte cross-entropy of a checkpoint on a text file: the bytes are cut into consecutive
non-overlapping windows of max_position_embeddings (remainder dropped) and every position predicts
the next byte inside its window. f32 from the master weights; --recipe applies that recipe's
forward-pass rounding (e.g. fp4) instead.

  --checkpoint DIR  a checkpoint folder: runs/<name>/<recipe> or one of its step-NNNNNN folders
  --data FILE       a text file
  --recipe R        ${Object.keys(RECIPES).join(", ")} (default: none, f32)
  --json            print {"loss": <nats>, "tokens": <count>} only
  --help            this text

Exit status: 0 done, 2 bad input (one line on stderr), 1 internal error.`;

function parse(args: string[]) {
  try {
    return parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        checkpoint: { type: "string" },
        data: { type: "string" },
        recipe: { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean" },
      },
    }).values;
  } catch (e) {
    throw new UsageError(`${(e as Error).message.split("\n")[0]} (see --help)`);
  }
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
      bytes = await Deno.readFile(v.data);
    } catch (e) {
      throw new UsageError(`--data ${v.data}: cannot read (${(e as Error).message})`);
    }
    const T = ckpt.config.contextLength;
    if (bytes.length < T) {
      throw new UsageError(
        `--data ${v.data}: ${bytes.length} bytes, fewer than one window of ${T} (max_position_embeddings)`,
      );
    }
    const r = await evaluateText(ckpt.config, ckpt.params, bytes, recipe);
    if (v.json) {
      console.log(JSON.stringify({ loss: r.loss, tokens: r.tokens }));
    } else {
      const windows = Math.floor(bytes.length / T);
      const rows: [string, string][] = [
        [
          "checkpoint",
          `${v.checkpoint} (preset ${ckpt.config.name}${
            ckpt.step === null ? "" : `, step ${ckpt.step}`
          }${ckpt.recipe ? `, trained with ${ckpt.recipe.name}` : ""})`,
        ],
        [
          "data",
          `${v.data}: ${bytes.length} bytes, ${windows} windows of ${T}, ${
            bytes.length - windows * T
          } dropped`,
        ],
        [
          "forward",
          v.recipe === undefined ? "f32 master weights, no quantization" : `recipe ${recipe.name}`,
        ],
        ["tokens", String(r.tokens)],
        ["loss", `${r.loss.toFixed(4)} nats/token`],
        ["bits/byte", (r.loss / Math.LN2).toFixed(4)],
        ["perplexity", Math.exp(r.loss).toFixed(3)],
      ];
      for (const [k, val] of rows) console.log(`${k.padEnd(11)} ${val}`);
    }
    return 0;
  } catch (e) {
    return failureStatus("eval", e, (err) => err instanceof CheckpointError);
  }
}

if (import.meta.main) Deno.exit(await evalMain(Deno.args));
