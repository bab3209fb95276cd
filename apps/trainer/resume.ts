/**
 * `deno task train --resume runs/<name>`: the run folder remembers its flags (`run.json`), each
 * recipe continues from its newest good checkpoint, and every save goes through checkpoint.ts.
 *
 * @module
 */
import { join } from "node:path";
import { parsePlan, type Plan, UsageError } from "./cli.ts";
import {
  CheckpointError,
  type CheckpointSettings,
  latestCheckpoint,
  saveCheckpoint,
} from "./checkpoint.ts";
import type { Recipe } from "@fp4lab/train";
import type { TrainState } from "./state.ts";

/** The file in a run folder that records the flags the run was started with. */
export const RUN_FILE = "run.json";

/** Flags that do not change what a run computes: left out of run.json and free on resume. */
const FREE_FLAGS = new Set(["--json", "--help", "--resume", "--out", "--save-every"]);

function stripFlags(args: string[], drop: Set<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const name = args[i].split("=")[0];
    if (drop.has(name)) {
      // A string flag given as "--flag value" takes the next argument with it.
      const boolean = name === "--json" || name === "--help";
      if (!boolean && !args[i].includes("=")) i++;
      continue;
    }
    out.push(args[i]);
  }
  return out;
}

/**
 * Records the run's flags in `<out>/run.json` (atomically) so `--resume` can rebuild the plan.
 *
 * @param plan the plan
 * @param args the command-line arguments it came from
 * @example
 * ```ts ignore
 * writeRunFile(plan, Deno.args);
 * ```
 */
export function writeRunFile(plan: Plan, args: string[]): void {
  Deno.mkdirSync(plan.out, { recursive: true });
  const body = {
    format: "fp4lab-run",
    version: 1,
    args: stripFlags(args, FREE_FLAGS),
    settings: {
      preset: plan.config.name,
      recipes: plan.recipes.map((r) => r.name),
      steps: plan.steps,
      batch: plan.batch,
      ranks: plan.ranks,
      lr: plan.lr,
      seed: plan.seed,
      data: plan.data,
    },
  };
  const path = join(plan.out, RUN_FILE);
  Deno.writeTextFileSync(`${path}.tmp`, JSON.stringify(body, null, 2) + "\n");
  Deno.renameSync(`${path}.tmp`, path);
}

const COMPARED: [string, (p: Plan) => string][] = [
  ["--preset", (p) => p.config.name],
  ["--recipes", (p) => p.recipes.map((r) => r.name).join(",")],
  ["--steps", (p) => String(p.steps)],
  ["--batch", (p) => String(p.batch)],
  ["--ranks", (p) => String(p.ranks)],
  ["--lr", (p) => String(p.lr)],
  ["--seed", (p) => String(p.seed)],
  ["--data", (p) => p.data],
];

/**
 * The plan of the run in `plan.resume`: its recorded flags, with `--json` and `--save-every`
 * from this command. A flag given now that differs from the run's is refused (a resumed run
 * must compute what the uninterrupted one would).
 *
 * @param plan the plan parsed from this command (with `resume` set)
 * @param args this command's arguments
 * @returns the plan to run, `out` = the resumed folder
 * @throws {UsageError} when the folder is not a run or a flag differs
 * @example
 * ```ts ignore
 * const plan = resumePlan(parsePlan(args), args);
 * ```
 */
export function resumePlan(plan: Plan, args: string[]): Plan {
  const dir = plan.resume!;
  const outGiven = args.some((a) => a === "--out" || a.startsWith("--out="));
  if (outGiven) throw new UsageError("--resume and --out cannot be given together");
  let saved: { args?: unknown };
  try {
    saved = JSON.parse(Deno.readTextFileSync(join(dir, RUN_FILE)));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new UsageError(`--resume ${dir}: not a training run folder (no ${RUN_FILE})`);
    }
    throw new UsageError(`--resume ${dir}: ${RUN_FILE} is unreadable (${(e as Error).message})`);
  }
  if (!Array.isArray(saved.args) || !saved.args.every((a) => typeof a === "string")) {
    throw new UsageError(`--resume ${dir}: ${RUN_FILE} has no argument list`);
  }
  const before = parsePlan(saved.args as string[]);
  const now = stripFlags(args, new Set(["--resume", "--out"]));
  const merged = parsePlan([...(saved.args as string[]), ...now]);
  for (const [flag, get] of COMPARED) {
    if (get(before) !== get(merged)) {
      throw new UsageError(
        `--resume ${dir}: the run was trained with ${flag} ${get(before)}, not ${get(merged)}`,
      );
    }
  }
  return {
    ...before,
    out: dir,
    json: merged.json,
    saveEvery: merged.saveEvery,
    resume: dir,
    device: merged.device, // a run may continue on another device
  };
}

/**
 * The checkpoint settings of one recipe of a plan.
 *
 * @param plan the plan
 * @param recipe the recipe
 * @returns what every checkpoint of that recipe records
 * @example
 * ```ts ignore
 * recipeSettings(plan, plan.recipes[0]).preset; // "tiny"
 * ```
 */
export function recipeSettings(plan: Plan, recipe: Recipe): CheckpointSettings {
  return {
    preset: plan.config.name,
    recipe: recipe.name,
    steps: plan.steps,
    batch: plan.batch,
    ranks: plan.ranks,
    lr: plan.lr,
    seed: plan.seed,
    data: plan.data,
  };
}

/**
 * What {@link trainRecipe} needs to checkpoint one recipe of a plan and, when resuming, the
 * state to continue from (the newest good step folder; corrupt newer ones are named in
 * `skipped`).
 *
 * @param plan the plan
 * @param recipe the recipe
 * @returns `saveEvery`, `onSave`, `resume` for the train options, and the skipped folders
 * @throws {CheckpointError} when the recipe's checkpoint was saved with other settings, or step
 *   folders exist but none loads
 * @example
 * ```ts ignore
 * const hooks = checkpointHooks(plan, recipe);
 * trainRecipe(recipe, data, { ...opts, ...hooks });
 * ```
 */
export function checkpointHooks(plan: Plan, recipe: Recipe): {
  saveEvery: number;
  onSave: (state: TrainState) => void;
  resume?: TrainState;
  skipped: string[];
} {
  const dir = join(plan.out, recipe.name);
  const settings = recipeSettings(plan, recipe);
  const onSave = (state: TrainState) => {
    // Weights that overflowed in the last update are not a good checkpoint: keep the previous
    // one (the next step's forward pass then stops the run naming the layer).
    for (let i = 0; i < state.params.length; i++) if (!Number.isFinite(state.params[i])) return;
    saveCheckpoint(dir, plan.config, recipe, settings, state);
  };
  if (!plan.resume) return { saveEvery: plan.saveEvery, onSave, skipped: [] };
  const { checkpoint, skipped } = latestCheckpoint(dir);
  if (checkpoint === null) return { saveEvery: plan.saveEvery, onSave, skipped };
  const had = checkpoint.settings!;
  for (const key of Object.keys(settings) as (keyof CheckpointSettings)[]) {
    if (had[key] !== settings[key]) {
      throw new CheckpointError(
        `${checkpoint.dir} was saved with ${key} ${JSON.stringify(had[key])}, this run has ${
          JSON.stringify(settings[key])
        }`,
      );
    }
  }
  return { saveEvery: plan.saveEvery, onSave, resume: checkpoint.state!, skipped };
}
