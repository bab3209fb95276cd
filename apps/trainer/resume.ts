/**
 * `deno task train --resume runs/<name>`: the run folder remembers its flags and the SHA-256 of
 * its data (`run.json`), each recipe continues from its newest good checkpoint, and every save
 * goes through checkpoint.ts.
 *
 * Extending a run: `--resume runs/x --steps N` with N larger than the run's steps continues it to
 * N. The learning-rate schedule (5% warm-up, cosine to 10% of the peak) is laid out over the total
 * steps, so a run planned for N steps from the start would have used other rates in the steps
 * already done: an exact N-step run cannot be had by continuing. The extension keeps the schedule
 * laid out over the first run's steps and runs the added steps at its final rate (10% of the
 * peak): a constant-rate tail, recorded as `scheduleSteps` in run.json and in every checkpoint, so
 * that an extended run killed and resumed still continues exactly.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { parsePlan, type Plan, UsageError } from "./cli.ts";
import { writeFileAtomic } from "../_shared/files.ts";
import type { Dataset, Tokens, TokenSource } from "./data.ts";
import {
  CheckpointError,
  type CheckpointSettings,
  clearStaleTemporaries,
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

/** What identifies the bytes a run trains on: their count and SHA-256 (train + validation). */
export interface DataFingerprint {
  /** bytes, training and validation splits together */
  readonly bytes: number;
  /** SHA-256 of the training split followed by the validation split, hex */
  readonly sha256: string;
}

/**
 * The fingerprint of a data set.
 *
 * @param data the data set
 * @returns its size and SHA-256
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { dataFingerprint } from "./resume.ts";
 * const d = { source: "x", train: new Uint8Array([1]), val: new Uint8Array([2]), entropyRate: null };
 * assert.equal(dataFingerprint(d).bytes, 2); // train + val
 * ```
 */
export function dataFingerprint(data: Dataset): DataFingerprint {
  const hash = createHash("sha256");
  const manifest = (data as { manifest?: unknown }).manifest;
  const part = (tokens: Tokens, useManifest: boolean) => {
    if (!isTokenSource(tokens)) {
      hash.update(new Uint8Array(tokens.buffer, tokens.byteOffset, tokens.byteLength));
    } else if (useManifest && manifest !== undefined) {
      // A prepared folder: its manifest holds every shard's SHA-256 (checked when it was opened).
      hash.update(JSON.stringify(manifest));
    } else {
      const chunk = new Int32Array(1 << 20);
      for (let start = 0; start < tokens.length; start += chunk.length) {
        const piece = chunk.subarray(0, Math.min(chunk.length, tokens.length - start));
        tokens.read(start, piece);
        hash.update(new Uint8Array(piece.buffer, 0, piece.byteLength));
      }
    }
  };
  part(data.train, true);
  part(data.val, false);
  return { bytes: data.train.length + data.val.length, sha256: hash.digest("hex") };
}

function isTokenSource(t: Tokens): t is TokenSource {
  return !ArrayBuffer.isView(t);
}

/** The parsed `run.json`. */
export interface RunFile {
  /** the flags the run was started with (free flags left out) */
  readonly args: string[];
  /** the run's total steps now (more than the flags say once extended) */
  readonly steps: number | null;
  /** the steps its learning-rate schedule spans */
  readonly scheduleSteps: number | null;
  /** the data's fingerprint (null in run folders written before it was recorded) */
  readonly data: DataFingerprint | null;
}

/**
 * Records the run's flags, settings and data fingerprint in `<out>/run.json` (atomically) so
 * `--resume` can rebuild the plan and check the data.
 *
 * @param plan the plan
 * @param args the command-line arguments it came from
 * @param data the data's fingerprint, when known
 * @example
 * ```ts ignore
 * writeRunFile(plan, Deno.args, dataFingerprint(data));
 * ```
 */
export function writeRunFile(plan: Plan, args: string[], data?: DataFingerprint): void {
  Deno.mkdirSync(plan.out, { recursive: true });
  const body = {
    format: "fp4lab-run",
    version: 1,
    args: stripFlags(args, FREE_FLAGS),
    settings: {
      preset: plan.config.name,
      recipes: plan.recipes.map((r) => r.name),
      steps: plan.steps,
      scheduleSteps: plan.scheduleSteps,
      batch: plan.batch,
      ranks: plan.ranks,
      lr: plan.lr,
      seed: plan.seed,
      data: plan.data,
    },
    ...(data ? { data: { source: plan.data, bytes: data.bytes, sha256: data.sha256 } } : {}),
  };
  writeFileAtomic(join(plan.out, RUN_FILE), JSON.stringify(body, null, 2) + "\n");
}

/**
 * Reads `<dir>/run.json`, every problem one line naming the file.
 *
 * @param dir the run folder
 * @returns its recorded flags, steps and data fingerprint
 * @throws {UsageError} when it is missing, not JSON, or holds no argument list
 * @example
 * ```ts ignore
 * const run = readRunFile("runs/x");
 * ```
 */
export function readRunFile(dir: string): RunFile {
  const path = join(dir, RUN_FILE);
  let saved: Record<string, unknown>;
  try {
    saved = JSON.parse(Deno.readTextFileSync(path));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new UsageError(`--resume ${dir}: not a training run folder (no ${RUN_FILE})`);
    }
    const why = (e as Error).message.split("\n")[0];
    throw new UsageError(
      `--resume ${dir}: ${path} is ${
        e instanceof SyntaxError ? "not valid JSON" : "unreadable"
      } (${why})`,
    );
  }
  if (saved === null || typeof saved !== "object" || Array.isArray(saved)) {
    throw new UsageError(`--resume ${dir}: ${path} must hold a JSON object`);
  }
  const args = saved.args;
  if (!Array.isArray(args) || !args.every((a) => typeof a === "string")) {
    throw new UsageError(`--resume ${dir}: ${path} has no argument list ("args")`);
  }
  const settings = (saved.settings ?? {}) as Record<string, unknown>;
  const count = (key: string): number | null => {
    const v = settings[key];
    if (v === undefined) return null;
    if (!Number.isSafeInteger(v) || (v as number) < 1) {
      throw new UsageError(
        `--resume ${dir}: ${path}: settings.${key} must be a positive integer, got ${
          JSON.stringify(v)
        }`,
      );
    }
    return v as number;
  };
  let data: DataFingerprint | null = null;
  if (saved.data !== undefined) {
    const d = saved.data as Record<string, unknown> | null;
    if (
      d === null || typeof d !== "object" || !Number.isSafeInteger(d.bytes) ||
      typeof d.sha256 !== "string"
    ) {
      throw new UsageError(`--resume ${dir}: ${path}: data must hold bytes and sha256`);
    }
    data = { bytes: d.bytes as number, sha256: d.sha256 };
  }
  return { args, steps: count("steps"), scheduleSteps: count("scheduleSteps"), data };
}

/**
 * Refuses to continue a run on other data than it started with.
 *
 * @param dir the run folder
 * @param run its run.json
 * @param now the fingerprint of the data loaded now
 * @param note where to say that an old run.json has no fingerprint to compare (default stderr)
 * @throws {UsageError} naming both sizes and hashes
 * @example
 * ```ts ignore
 * checkResumeData("runs/x", readRunFile("runs/x"), dataFingerprint(data));
 * ```
 */
export function checkResumeData(
  dir: string,
  run: RunFile,
  now: DataFingerprint,
  note: (line: string) => void = (line) => console.error(line),
): void {
  if (run.data === null) {
    note(`train: ${join(dir, RUN_FILE)} predates data fingerprints; the data is not checked`);
    return;
  }
  if (run.data.sha256 !== now.sha256 || run.data.bytes !== now.bytes) {
    throw new UsageError(
      `--resume ${dir}: the data changed since the run started (${run.data.bytes} bytes, sha256 ${
        run.data.sha256.slice(0, 12)
      }…; now ${now.bytes} bytes, sha256 ${
        now.sha256.slice(0, 12)
      }…): restore it, or start a new run`,
    );
  }
}

// --steps is not compared: a larger count extends the run (see the module's note).
const COMPARED: [string, (p: Plan) => string][] = [
  ["--preset", (p) => p.config.name],
  ["--recipes", (p) => p.recipes.map((r) => r.name).join(",")],
  ["--batch", (p) => String(p.batch)],
  ["--ranks", (p) => String(p.ranks)],
  ["--lr", (p) => String(p.lr)],
  ["--seed", (p) => String(p.seed)],
  ["--data", (p) => p.data],
  ["--val-data", (p) => p.valData ?? ""],
  ["--val-windows", (p) => String(p.valWindows)],
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
  const run = readRunFile(dir);
  const inRunFile = (f: () => Plan): Plan => {
    try {
      return f();
    } catch (e) {
      if (!(e instanceof UsageError)) throw e;
      throw new UsageError(`--resume ${dir}: ${join(dir, RUN_FILE)}: ${e.message}`);
    }
  };
  const before = inRunFile(() => parsePlan(run.args));
  const now = stripFlags(args, new Set(["--resume", "--out"]));
  const merged = parsePlan([...run.args, ...now]);
  for (const [flag, get] of COMPARED) {
    if (get(before) !== get(merged)) {
      throw new UsageError(
        `--resume ${dir}: the run was trained with ${flag} ${get(before)}, not ${get(merged)}`,
      );
    }
  }
  const total = run.steps ?? before.steps;
  const scheduleSteps = run.scheduleSteps ?? before.steps;
  const stepsGiven = now.some((a) => a === "--steps" || a.startsWith("--steps="));
  let steps = total;
  if (stepsGiven && merged.steps < total) {
    throw new UsageError(
      `--resume ${dir}: the run is planned for ${total} steps; --steps ${merged.steps} would end it early (leave --steps out, or give more than ${total} to extend it)`,
    );
  }
  if (stepsGiven) steps = merged.steps;
  return {
    ...before,
    steps,
    scheduleSteps,
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
    // Recorded only for an extended run, so other checkpoints stay byte-identical to before.
    ...(plan.scheduleSteps !== plan.steps ? { scheduleSteps: plan.scheduleSteps } : {}),
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
  lastSaved: () => number | null;
} {
  const dir = join(plan.out, recipe.name);
  const settings = recipeSettings(plan, recipe);
  let saved: number | null = null;
  const onSave = (state: TrainState) => {
    // Weights that overflowed in the last update are not a good checkpoint: keep the previous
    // one (the next step's forward pass then stops the run naming the layer).
    for (let i = 0; i < state.params.length; i++) if (!Number.isFinite(state.params[i])) return;
    saveCheckpoint(dir, plan.config, recipe, settings, state);
    saved = state.step;
  };
  const hooks = { saveEvery: plan.saveEvery, onSave, lastSaved: () => saved };
  // What killed saves left (temporary folders, *.tmp-<pid> files): this process holds the lock.
  clearStaleTemporaries(dir);
  if (!plan.resume) return { ...hooks, skipped: [] };
  const { checkpoint, skipped } = latestCheckpoint(dir);
  if (checkpoint === null) return { ...hooks, skipped };
  saved = checkpoint.step;
  const had = checkpoint.settings!;
  const refuse = (key: string, was: unknown, now: unknown) => {
    throw new CheckpointError(
      `${checkpoint.dir} was saved with ${key} ${JSON.stringify(was)}, this run has ${
        JSON.stringify(now)
      }`,
    );
  };
  for (const key of Object.keys(settings) as (keyof CheckpointSettings)[]) {
    if (key === "steps" || key === "scheduleSteps") continue;
    if (had[key] !== settings[key]) refuse(key, had[key], settings[key]);
  }
  // An extended run continues checkpoints saved with fewer total steps, on the same schedule.
  const hadSchedule = had.scheduleSteps ?? had.steps;
  if (hadSchedule !== plan.scheduleSteps) {
    refuse("a schedule over", hadSchedule, plan.scheduleSteps);
  }
  if (had.steps > plan.steps || checkpoint.step! > plan.steps) {
    refuse("steps", had.steps, plan.steps);
  }
  return { ...hooks, resume: checkpoint.state!, skipped };
}
