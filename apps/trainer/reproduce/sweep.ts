/**
 * A resumable sweep of training runs: one JSON result file per finished run under
 * `<out>/runs/`, so an interrupted sweep restarts where it stopped (finished runs are read back,
 * not redone), and one progress line per run with the overall share done and an ETA.
 *
 * @module
 */
import { join } from "node:path";
import type { LinearStats, ModelConfig, Recipe } from "@fp4lab/train";
import type { Dataset } from "../data.ts";
import { createProgress, formatDuration } from "../progress.ts";
import { TrainingFault, trainRecipe } from "../train.ts";
import { UsageError } from "../../_shared/cli.ts";
import { writeFileAtomic } from "../../_shared/files.ts";

/** One run of a sweep. */
export interface RunSpec {
  /** unique id, also the result file name (letters, digits, `.`, `-`, `_`) */
  readonly id: string;
  /** the recipe */
  readonly recipe: Recipe;
  /** the model */
  readonly config: ModelConfig;
  /** optimizer steps */
  readonly steps: number;
  /** sequences per step (over all ranks) */
  readonly batch: number;
  /** data-parallel ranks whose gradients meet through the FP8 all-reduce (default 1) */
  readonly ranks?: number;
  /** peak learning rate */
  readonly lr: number;
  /** seed of init, data order and stochastic rounding */
  readonly seed: number;
  /** validation points */
  readonly evalPoints: number;
  /** validation windows per evaluation */
  readonly valWindows: number;
  /** parameters held at a fixed value (injected outliers; see `createTrainer`'s `frozen`) */
  readonly frozen?: readonly { readonly index: number; readonly value: number }[];
  /** labels the report groups by (copied into the result) */
  readonly meta: Readonly<Record<string, string | number>>;
}

/** What one finished run left on disk. */
export interface RunResult {
  /** the spec's id */
  id: string;
  /** recipe name */
  recipe: string;
  /** the spec's labels */
  meta: Record<string, string | number>;
  /** preset / model name */
  model: string;
  /** seed */
  seed: number;
  /** optimizer steps */
  steps: number;
  /** training tokens (steps · batch · T) */
  tokens: number;
  /** all parameters */
  parameters: number;
  /** validation loss at the end (NaN when the run diverged) */
  valLoss: number;
  /** mean training loss over the last 10% of steps (NaN when diverged) */
  finalTrainLoss: number;
  /** training tokens per second */
  tokensPerSec: number;
  /** wall-clock seconds of the run */
  seconds: number;
  /** mean OCC sparsity over the layers that clamp (last collected step), or null */
  occSparsity: number | null;
  /** mean DGE correction factor over layers (last collected step), or null */
  dgeMeanFactor: number | null;
  /** steps skipped by the loss scaler */
  skippedSteps: number;
  /** the fault message when the run diverged, else null */
  fault: string | null;
  /** per linear layer: the trainer's last collected GEMM statistics (crest, zeros, DGE, OCC) */
  gemmStats?: Record<string, LinearStats>;
  /** per-step training loss and validation points */
  curve: { step: number; loss: number; valLoss: number | null }[];
  /**
   * per step that collected statistics: each quantized layer's forward-activation crest (mean
   * and max over tokens of max|a| / rms(a)) and OCC sparsity; absent in older result files
   */
  statsHistory?: {
    step: number;
    layers: Record<string, { crestMean: number; crestMax: number; occSparsity: number | null }>;
  }[];
  /** everything the run was trained with; a result whose settings differ from its spec's is refused */
  settings?: RunSettings;
}

/** What a run was trained with: a stored result is reused only when these equal its spec's. */
export interface RunSettings {
  /** the recipe, in full */
  readonly recipe: Recipe;
  /** the model, in full */
  readonly config: ModelConfig;
  /** optimizer steps */
  readonly steps: number;
  /** sequences per step */
  readonly batch: number;
  /** data-parallel ranks (1: no all-reduce; result files from before it was recorded read as 1) */
  readonly ranks: number;
  /** peak learning rate */
  readonly lr: number;
  /** seed */
  readonly seed: number;
  /** validation points */
  readonly evalPoints: number;
  /** validation windows per evaluation */
  readonly valWindows: number;
  /** parameters held fixed (empty for most runs; older result files read as empty) */
  readonly frozen: readonly { readonly index: number; readonly value: number }[];
  /** the data: its source and the SHA-256 of its bytes (train then validation) */
  readonly data: { readonly bytes: number; readonly sha256: string };
}

/**
 * The settings a spec trains with on `data`.
 *
 * @param spec the run
 * @param data the data's size and SHA-256
 * @returns the settings its result records
 * @example
 * ```ts ignore
 * const s = runSettings(spec, { bytes: 10, sha256: "ab…" });
 * ```
 */
export function runSettings(
  spec: RunSpec,
  data: { readonly bytes: number; readonly sha256: string },
): RunSettings {
  return {
    recipe: spec.recipe,
    config: spec.config,
    steps: spec.steps,
    batch: spec.batch,
    ranks: spec.ranks ?? 1,
    lr: spec.lr,
    seed: spec.seed,
    evalPoints: spec.evalPoints,
    valWindows: spec.valWindows,
    frozen: spec.frozen ?? [],
    data: { bytes: data.bytes, sha256: data.sha256 },
  };
}

/** Sweep options. */
export interface SweepOptions {
  /** sweep folder; results go to `<out>/runs/<id>.json` */
  readonly out: string;
  /** estimated seconds of each run, to weigh the ETA before any run has finished */
  readonly estimate: (spec: RunSpec) => number;
  /** write progress to stderr */
  readonly progress: boolean;
  /** the data's size and SHA-256, recorded in every result and checked on reuse */
  readonly data: { readonly bytes: number; readonly sha256: string };
}

/**
 * Where a run's result lives.
 *
 * @param out sweep folder
 * @param id run id
 * @returns the path of the JSON result
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resultPath } from "./sweep.ts";
 * assert.equal(resultPath("runs/x", "bf16-s1"), "runs/x/runs/bf16-s1.json");
 * ```
 */
export function resultPath(out: string, id: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(id)) throw new RangeError(`bad run id "${id}"`);
  return join(out, "runs", `${id}.json`);
}

function mean(xs: number[]): number | null {
  return xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/**
 * Trains one run and returns its result (a diverged run is a result with `fault` set).
 *
 * @param spec the run
 * @param data data set
 * @param onStep optional progress callback
 * @returns the result
 * @example
 * ```ts ignore
 * const r = await executeRun(spec, data);
 * ```
 */
export async function executeRun(
  spec: RunSpec,
  data: Dataset,
  onStep?: (step: number, loss: number, tokensPerSec: number) => void,
): Promise<RunResult> {
  const t0 = performance.now();
  const statsHistory: NonNullable<RunResult["statsHistory"]> = [];
  // the losses up to a divergence, so a diverged run still shows its curve
  const partial: RunResult["curve"] = [];
  const record = (s: number, loss: number, tokensPerSec: number) => {
    partial.push({ step: s, loss, valLoss: null });
    onStep?.(s, loss, tokensPerSec);
  };
  const base = {
    id: spec.id,
    recipe: spec.recipe.name,
    meta: { ...spec.meta },
    model: spec.config.name,
    seed: spec.seed,
    steps: spec.steps,
    tokens: spec.steps * spec.batch * spec.config.contextLength,
  };
  try {
    const r = await trainRecipe(spec.recipe, data, {
      config: spec.config,
      steps: spec.steps,
      batch: spec.batch,
      ranks: spec.ranks ?? 1,
      lr: spec.lr,
      seed: spec.seed,
      evalPoints: spec.evalPoints,
      valWindows: spec.valWindows,
      frozen: spec.frozen,
      onStats: (step, stats) => {
        const layers: NonNullable<RunResult["statsHistory"]>[number]["layers"] = {};
        for (const [name, st] of Object.entries(stats)) {
          if (!st.a) continue;
          layers[name] = {
            crestMean: st.a.crestMean,
            crestMax: st.a.crestMax,
            occSparsity: st.occSparsity ?? null,
          };
        }
        statsHistory.push({ step, layers });
      },
    }, record);
    const stats = Object.values(r.gemmStats);
    return {
      ...base,
      parameters: r.parameters,
      valLoss: r.valLoss,
      finalTrainLoss: r.finalTrainLoss,
      tokensPerSec: r.tokensPerSec,
      seconds: (performance.now() - t0) / 1000,
      occSparsity: mean(stats.flatMap((s) => s.occSparsity === undefined ? [] : [s.occSparsity])),
      dgeMeanFactor: mean(stats.flatMap((s) => s.dge ? [s.dge.meanFactor] : [])),
      skippedSteps: r.skippedSteps,
      fault: null,
      gemmStats: r.gemmStats,
      curve: r.records.map((s) => ({ step: s.step, loss: s.loss, valLoss: s.valLoss })),
      statsHistory,
    };
  } catch (e) {
    if (!(e instanceof TrainingFault)) throw e;
    return {
      ...base,
      parameters: 0,
      valLoss: NaN,
      finalTrainLoss: NaN,
      tokensPerSec: 0,
      seconds: (performance.now() - t0) / 1000,
      occSparsity: null,
      dgeMeanFactor: null,
      skippedSteps: 0,
      fault: e.message,
      curve: partial,
      statsHistory,
    };
  }
}

// JSON has no NaN: store diverged losses as null and read them back as NaN.
function toJson(r: RunResult): string {
  return JSON.stringify(r, (_k, v) => typeof v === "number" && !Number.isFinite(v) ? null : v) +
    "\n";
}

function fromJson(text: string): RunResult {
  const r = JSON.parse(text) as RunResult;
  r.valLoss ??= NaN;
  r.finalTrainLoss ??= NaN;
  return r;
}

/** A canonical JSON (keys sorted), so settings compare by value. */
function canonical(value: unknown): string {
  return JSON.stringify(
    value,
    (_k, v) =>
      v && typeof v === "object" && !Array.isArray(v)
        ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]]))
        : v,
  );
}

/**
 * Reads a finished run back, or null when it has not finished. A result file that is unreadable,
 * records no settings, or records settings other than the spec's is refused: reusing it would put
 * a run trained otherwise on the page.
 *
 * @param out sweep folder
 * @param spec the run
 * @param data the data's size and SHA-256
 * @returns the stored result or null
 * @throws {UsageError} naming the file and the first setting that differs
 * @example
 * ```ts ignore
 * const r = readResult("runs/reproduce-fp4", spec, fingerprint);
 * ```
 */
export function readResult(
  out: string,
  spec: RunSpec,
  data: { readonly bytes: number; readonly sha256: string },
): RunResult | null {
  const path = resultPath(out, spec.id);
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw new UsageError(`${path}: cannot read (${(e as Error).message.split("\n")[0]})`);
  }
  let r: RunResult;
  try {
    r = fromJson(text);
  } catch (e) {
    throw new UsageError(
      `${path} is not valid JSON (${(e as Error).message.split("\n")[0]}); delete it to rerun`,
    );
  }
  const fix = "delete it to rerun that run, or use another --out";
  if (!r.settings) {
    throw new UsageError(`${path} does not record the settings it was trained with; ${fix}`);
  }
  const want = runSettings(spec, data) as unknown as Record<string, unknown>;
  // Results written before ranks were recorded were all trained on one rank.
  const had = { ...r.settings } as unknown as Record<string, unknown>;
  had.ranks ??= 1;
  had.frozen ??= [];
  for (const key of Object.keys(want)) {
    if (canonical(had[key]) !== canonical(want[key])) {
      const show = (v: unknown) =>
        typeof v === "object" && v !== null
          ? ((v as { name?: string; sha256?: string }).name ??
            (v as { sha256?: string }).sha256?.slice(0, 12) ?? "other values")
          : JSON.stringify(v);
      throw new UsageError(
        `${path} was trained with ${key} ${show(had[key])}, but the plan says ${show(want[key])}${
          key === "recipe" || key === "config" ? " (other values)" : ""
        }; ${fix}`,
      );
    }
  }
  return r;
}

/**
 * Runs every spec that has no result file yet, in order, writing each result as it finishes
 * (write to a temporary name, then rename, so an interrupted write never looks finished).
 *
 * @param specs the runs
 * @param data data set
 * @param opts sweep folder, run-time estimate, progress switch
 * @returns every spec's result, in spec order
 * @example
 * ```ts ignore
 * const results = await runSweep(specs, data, { out: "runs/x", estimate: () => 1, progress: true });
 * ```
 */
export async function runSweep(
  specs: RunSpec[],
  data: Dataset,
  opts: SweepOptions,
): Promise<RunResult[]> {
  Deno.mkdirSync(join(opts.out, "runs"), { recursive: true });
  const results: (RunResult | null)[] = specs.map((s) => readResult(opts.out, s, opts.data));
  const done0 = results.filter((r) => r !== null).length;
  const enc = new TextEncoder();
  const say = (line: string) => {
    if (opts.progress) Deno.stderr.writeSync(enc.encode(line + "\n"));
  };
  if (done0 > 0) say(`resuming: ${done0} of ${specs.length} runs already finished in ${opts.out}`);
  const estimates = specs.map(opts.estimate);
  let remainingEstimate = estimates.reduce((a, e, i) => a + (results[i] ? 0 : e), 0);
  const total = remainingEstimate;
  let spentEstimate = 0, spentSeconds = 0, done = done0;
  for (let i = 0; i < specs.length; i++) {
    if (results[i]) continue;
    const spec = specs[i];
    const share = total > 0 ? spentEstimate / total : 1;
    // Calibrate the estimates by the runs done in this session.
    const ratio = spentEstimate > 0 ? spentSeconds / spentEstimate : 1;
    const eta = remainingEstimate * ratio;
    const label = `[${done + 1}/${specs.length} ${(100 * share).toFixed(0)}% ETA ${
      formatDuration(eta)
    }] ${spec.id}`;
    const bar = createProgress(label, spec.steps, opts.progress);
    const r = {
      ...await executeRun(spec, data, bar.update),
      settings: runSettings(spec, opts.data),
    };
    bar.done();
    writeFileAtomic(resultPath(opts.out, spec.id), toJson(r));
    results[i] = r;
    done++;
    spentEstimate += estimates[i];
    remainingEstimate -= estimates[i];
    spentSeconds += r.seconds;
    say(
      `${spec.id}: ${r.fault ? "DIVERGED" : `val ${r.valLoss.toFixed(4)}`} in ${
        formatDuration(r.seconds)
      } (${done}/${specs.length} done, ETA ${
        formatDuration(remainingEstimate * (spentSeconds / spentEstimate))
      })`,
    );
  }
  return results as RunResult[];
}
