/**
 * Command-line parsing for `deno task train`: flags to a validated plan, or a {@link UsageError}
 * whose message is the one line the CLI prints before exiting 2.
 *
 * @module
 */
import {
  parseFlags,
  positiveIntFlag,
  positiveNumberFlag,
  seedFlag,
  UsageError,
} from "../_shared/cli.ts";
import { type ModelConfig, presetByName, PRESETS, type Recipe, RECIPES } from "@fp4lab/train";
import { loadRecipes } from "./recipe_files.ts";

// The conventions every app shares; re-exported so the trainer's modules import them from here.
export { failureStatus, UsageError } from "../_shared/cli.ts";

/** The most steps a run may take (a loss record per step is kept in memory and checkpoints). */
export const MAX_STEPS = 10_000_000;

/** Per-preset defaults, chosen so the default run (tiny, bf16 + fp4) fits about 5 minutes. */
export const DEFAULTS: Readonly<Record<string, { steps: number; batch: number; lr: number }>> = {
  smoke: { steps: 20, batch: 4, lr: 3e-3 },
  tiny: { steps: 150, batch: 16, lr: 3e-3 },
  small: { steps: 3000, batch: 8, lr: 1e-3 },
  gpt2s: { steps: 2000, batch: 8, lr: 6e-4 },
  m350: { steps: 2000, batch: 8, lr: 3e-4 },
};

/** Where a run trains: `cpu` (WebAssembly SIMD), `webgpu`, or `auto` (WebGPU when an adapter exists). */
export type Device = "cpu" | "webgpu" | "auto";

/** A validated training plan. */
export interface Plan {
  /** recipes in order */
  recipes: Recipe[];
  /** model configuration */
  config: ModelConfig;
  /** optimizer steps */
  steps: number;
  /** steps the learning-rate schedule spans: `steps`, less for an extended run (--resume) */
  scheduleSteps: number;
  /** sequences per step */
  batch: number;
  /** data-parallel ranks */
  ranks: number;
  /** peak learning rate */
  lr: number;
  /** seed */
  seed: number;
  /** `brown`, `markov`, a text file, or a folder written by `deno task prepare-data` */
  data: string;
  /** a separate validation set (text file or prepared folder), or null */
  valData: string | null;
  /** validation windows (spread evenly over the validation split) */
  valWindows: number;
  /** run folder */
  out: string;
  /** JSON on stdout */
  json: boolean;
  /** checkpoint every this many steps (and after the last) */
  saveEvery: number;
  /** run folder to continue (`--resume`), or null */
  resume: string | null;
  /** where to train */
  device: Device;
  /** print help and exit */
  help: boolean;
}

/** The `--help` text. */
export const HELP = `deno task train [flags]

Trains a tiny LLaMA (byte vocabulary, or the tokenizer of a prepared data set) with several precision recipes side by side on the same
data, seeds and batches, then prints a table and writes runs/<name>/ (metrics.csv, report.json,
report.md, loss.svg and one folder per recipe).

  --recipes LIST   comma-separated, default bf16,fp4; known: ${Object.keys(RECIPES).join(", ")},
                   or a recipe .json file (see docs/recipes.md)
  --preset NAME    ${Object.keys(PRESETS).join(" | ")} (default tiny: ~1M parameters, context 128)
  --steps N        optimizer steps per recipe (default per preset: ${
  Object.entries(DEFAULTS).map(([k, v]) => `${k} ${v.steps}`).join(", ")
})
  --batch N        sequences per step (default per preset: ${
  Object.entries(DEFAULTS).map(([k, v]) => `${k} ${v.batch}`).join(", ")
})
  --ranks R        data-parallel ranks; gradients meet through the FP8 all-reduce (default 1)
  --lr X           peak learning rate (warm-up 5%, cosine to 10%) (default per preset)
  --seed N         seed of init, data order and stochastic rounding (default 1)
  --device D       cpu (default), webgpu (the step resident on the GPU), or auto (webgpu when
                   a WebGPU adapter exists, else cpu)
  --data SRC       brown (default: the Brown corpus), markov (synthetic, known entropy rate),
                   a UTF-8 text file (last 10% held out; binary or other encodings refused),
                   or a folder written by deno task prepare-data (token shards, streamed; the
                   model's vocabulary follows its tokenizer)
  --val-data SRC   a separate validation set: a text file (encoded with the data's
                   tokenizer) or a prepared folder (its validation split)
  --val-windows N  validation windows of context+1 tokens, spread evenly over the whole
                   validation split (default 1536; fewer when the split is shorter)
  --out DIR        run folder, new or empty (default runs/<preset>-<date>-<time>); one trainer
                   at a time: <out>/train.lock holds its pid
  --save-every N   checkpoint every N steps and at the end into runs/<name>/<recipe>/
                   (default 100)
  --resume DIR     continue the run in DIR (runs/<name>) from its last good checkpoints,
                   exactly, on the same data (run.json holds its SHA-256); other flags must be
                   left out or equal the run's, except a larger --steps N, which extends a run:
                   the lr schedule stays laid out over the first run's steps, so the added steps
                   run at its final rate (10% of the peak)
  --json           print the report as JSON on stdout (progress stays on stderr)
  --help           this text

Exit status: 0 done, 2 bad flags or data (one line on stderr), 1 training fault (non-finite
loss, naming the step and layer), a full disk (one line naming the file and the checkpoint
kept) or internal error.`;

/**
 * Parses and validates the flags.
 *
 * @param args command-line arguments
 * @param now clock for the default run name
 * @returns the plan
 * @throws {UsageError} for unknown flags, recipes or presets, non-positive counts, a batch not
 *   divisible by the ranks, or a bad learning rate
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parsePlan } from "./cli.ts";
 * const plan = parsePlan(["--preset", "smoke", "--recipes", "fp32"]);
 * assert.equal(plan.steps, 20); // the smoke preset's default
 * assert.equal(plan.recipes[0].name, "fp32");
 * ```
 */
export function parsePlan(args: string[], now: Date = new Date()): Plan {
  const { values: v } = parseFlags(args, {
    recipes: { type: "string" },
    preset: { type: "string" },
    steps: { type: "string" },
    batch: { type: "string" },
    ranks: { type: "string" },
    lr: { type: "string" },
    seed: { type: "string" },
    data: { type: "string" },
    "val-data": { type: "string" },
    "val-windows": { type: "string" },
    out: { type: "string" },
    json: { type: "boolean" },
    help: { type: "boolean" },
    "save-every": { type: "string" },
    resume: { type: "string" },
    device: { type: "string" },
  });
  const values = v as Record<string, string | undefined> & { json?: boolean; help?: boolean };
  const help = values.help ?? false;
  let config: ModelConfig, recipes: Recipe[];
  try {
    config = presetByName(values.preset ?? "tiny");
    recipes = loadRecipes(values.recipes ?? "bf16,fp4");
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
  const d = DEFAULTS[config.name];
  const steps = positiveIntFlag("--steps", values.steps, d.steps, MAX_STEPS);
  const batch = positiveIntFlag("--batch", values.batch, d.batch);
  const ranks = positiveIntFlag("--ranks", values.ranks, 1);
  const saveEvery = positiveIntFlag("--save-every", values["save-every"], 100);
  const resume = values.resume ?? null;
  if (resume !== null && resume.trim() === "") throw new UsageError("--resume is empty");
  if (batch % ranks !== 0) {
    throw new UsageError(`--batch ${batch} is not divisible by --ranks ${ranks}`);
  }
  const lr = positiveNumberFlag("--lr", values.lr, d.lr);
  const seed = seedFlag("--seed", values.seed, 1);
  const device = values.device ?? "cpu";
  if (device !== "cpu" && device !== "webgpu" && device !== "auto") {
    throw new UsageError(`--device must be cpu, webgpu or auto, got "${device}"`);
  }
  const data = values.data ?? "brown";
  if (data.trim() === "") throw new UsageError("--data is empty");
  const valData = values["val-data"] ?? null;
  if (valData !== null && valData.trim() === "") throw new UsageError("--val-data is empty");
  const valWindows = positiveIntFlag("--val-windows", values["val-windows"], 1536);
  const stamp = now.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
  const out = resume ?? values.out ?? `runs/${config.name}-${stamp}`;
  if (out.trim() === "") throw new UsageError("--out is empty");
  return {
    recipes,
    config,
    steps,
    scheduleSteps: steps,
    batch,
    ranks,
    lr,
    seed,
    data,
    valData,
    valWindows,
    out,
    json: values.json ?? false,
    saveEvery,
    resume,
    device,
    help,
  };
}
