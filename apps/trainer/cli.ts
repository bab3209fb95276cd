/**
 * Command-line parsing for `deno task train`: flags to a validated plan, or a {@link UsageError}
 * whose message is the one line the CLI prints before exiting 2.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { type ModelConfig, presetByName, PRESETS, type Recipe, RECIPES } from "@fp4lab/train";
import { loadRecipes } from "./recipe_files.ts";

/** Bad command-line input. */
export class UsageError extends Error {
  override name = "UsageError";
}

/**
 * The exit status of a CLI whose work threw `error`: bad input (a {@link UsageError}, or what
 * `isBadInput` accepts) prints one line `program: message` and gives 2; anything else prints the
 * stack as an internal error and gives 1.
 */
export function failureStatus(
  program: string,
  error: unknown,
  isBadInput: (error: unknown) => boolean = () => false,
): number {
  if (error instanceof UsageError || isBadInput(error)) {
    console.error(`${program}: ${(error as Error).message}`);
    return 2;
  }
  console.error(`${program}: internal error: ${error instanceof Error ? error.stack : error}`);
  return 1;
}

/** Per-preset defaults, chosen so the default run (tiny, bf16 + fp4) fits about 5 minutes. */
export const DEFAULTS: Readonly<Record<string, { steps: number; batch: number; lr: number }>> = {
  smoke: { steps: 20, batch: 4, lr: 3e-3 },
  tiny: { steps: 150, batch: 16, lr: 3e-3 },
  small: { steps: 3000, batch: 8, lr: 1e-3 },
};

/** A validated training plan. */
export interface Plan {
  /** recipes in order */
  recipes: Recipe[];
  /** model configuration */
  config: ModelConfig;
  /** optimizer steps */
  steps: number;
  /** sequences per step */
  batch: number;
  /** data-parallel ranks */
  ranks: number;
  /** peak learning rate */
  lr: number;
  /** seed */
  seed: number;
  /** `brown`, `markov` or a file path */
  data: string;
  /** run folder */
  out: string;
  /** JSON on stdout */
  json: boolean;
  /** checkpoint every this many steps (and after the last) */
  saveEvery: number;
  /** run folder to continue (`--resume`), or null */
  resume: string | null;
  /** print help and exit */
  help: boolean;
}

/** The `--help` text. */
export const HELP = `deno task train [flags]

Trains a tiny LLaMA (byte vocabulary) with several precision recipes side by side on the same
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
  --data SRC       brown (default: the Brown corpus), markov (synthetic, known entropy rate)
                   or a UTF-8 text file (last 10% held out)
  --out DIR        run folder (default runs/<preset>-<date>-<time>)
  --save-every N   checkpoint every N steps and at the end into runs/<name>/<recipe>/
                   (default 100)
  --resume DIR     continue the run in DIR (runs/<name>) from its last good checkpoints,
                   exactly; other flags must be left out or equal the run's
  --json           print the report as JSON on stdout (progress stays on stderr)
  --help           this text

Exit status: 0 done, 2 bad flags or data (one line on stderr), 1 training fault (non-finite
loss, naming the step and layer) or internal error.`;

function positiveInt(flag: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!/^\s*\d+\s*$/.test(text) || !Number.isSafeInteger(n) || n < 1) {
    throw new UsageError(`${flag} must be a positive integer, got "${text}"`);
  }
  return n;
}

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
 * import { parsePlan } from "./cli.ts";
 * const plan = parsePlan(["--preset", "smoke", "--recipes", "fp32"]);
 * console.log(plan.steps, plan.recipes[0].name); // 20 "fp32"
 * ```
 */
export function parsePlan(args: string[], now: Date = new Date()): Plan {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        recipes: { type: "string" },
        preset: { type: "string" },
        steps: { type: "string" },
        batch: { type: "string" },
        ranks: { type: "string" },
        lr: { type: "string" },
        seed: { type: "string" },
        data: { type: "string" },
        out: { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean" },
        "save-every": { type: "string" },
        resume: { type: "string" },
      },
    }));
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new UsageError(`${msg.split("\n")[0]} (see --help)`);
  }
  const help = values.help ?? false;
  let config: ModelConfig, recipes: Recipe[];
  try {
    config = presetByName(values.preset ?? "tiny");
    recipes = loadRecipes(values.recipes ?? "bf16,fp4");
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
  const d = DEFAULTS[config.name];
  const steps = positiveInt("--steps", values.steps, d.steps);
  const batch = positiveInt("--batch", values.batch, d.batch);
  const ranks = positiveInt("--ranks", values.ranks, 1);
  const saveEvery = positiveInt("--save-every", values["save-every"], 100);
  const resume = values.resume ?? null;
  if (resume !== null && resume.trim() === "") throw new UsageError("--resume is empty");
  if (batch % ranks !== 0) {
    throw new UsageError(`--batch ${batch} is not divisible by --ranks ${ranks}`);
  }
  let lr = d.lr;
  if (values.lr !== undefined) {
    lr = Number(values.lr);
    if (values.lr.trim() === "" || !Number.isFinite(lr) || lr <= 0) {
      throw new UsageError(`--lr must be a positive number, got "${values.lr}"`);
    }
  }
  let seed = 1;
  if (values.seed !== undefined) {
    seed = Number(values.seed);
    if (!/^\s*-?\d+\s*$/.test(values.seed) || !Number.isSafeInteger(seed)) {
      throw new UsageError(`--seed must be an integer, got "${values.seed}"`);
    }
  }
  const data = values.data ?? "brown";
  if (data.trim() === "") throw new UsageError("--data is empty");
  const stamp = now.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
  const out = resume ?? values.out ?? `runs/${config.name}-${stamp}`;
  if (out.trim() === "") throw new UsageError("--out is empty");
  return {
    recipes,
    config,
    steps,
    batch,
    ranks,
    lr,
    seed,
    data,
    out,
    json: values.json ?? false,
    saveEvery,
    resume,
    help,
  };
}
