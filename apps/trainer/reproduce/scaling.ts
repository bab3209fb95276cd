/**
 * `deno task reproduce scaling-law`: a sweep of tiny LLaMAs over model size N, tokens D, ExMy
 * format (E, M) and block size B with the scaling-law paper's quantization (weights and the
 * activations feeding the weight-gradient GEMM), the runs CSV that `plan fit` reads, a fit of the
 * law with held-out runs, and the page `docs/reproduce-scaling-law.md`.
 *
 * @module
 */
import { join } from "node:path";
import {
  CONSTANT_NAMES,
  criticalTokens,
  fitConstants,
  type FitResult,
  formatRunsCsv,
  loss as lawLoss,
  lossTerms,
  type ObservedRun,
  PAPER_CONSTANTS,
} from "@fp4lab/scaling-law";
import { type ModelConfig, PRESETS, type Recipe, RECIPES } from "@fp4lab/train";
import type { Dataset } from "../data.ts";
import { evalStepEquivalents, stepSeconds } from "./common.ts";
import { writeFigure } from "./plot.ts";
import type { RunResult, RunSpec } from "./sweep.ts";
import { exmyRecipe } from "./variants.ts";
import { fitCommonSlope, judgeFamily, minimumDetectableEffect, spread } from "./stats.ts";
import { claimsTable } from "./verdicts.ts";

/** One quantization configuration of the sweep (bf16 = no quantization). */
export interface QuantConfig {
  /** label, e.g. `E2M1-B32` or `bf16` */
  readonly label: string;
  /** E (8 for bf16) */
  readonly e: number;
  /** M (7 for bf16) */
  readonly m: number;
  /** block size B, or null for bf16 (no quantization: the law's B = 1) */
  readonly block: number | null;
  /** one scale per row (the whole contraction axis; the law's log2 B = 13.1567), `block` unused */
  readonly channel?: boolean;
}

/** The grid of a scaling-law sweep, saved in the sweep folder so a resume keeps it. */
export interface ScalingPlan {
  /** which reproduction */
  readonly kind: "scaling-law";
  /** the `--quick` smoke version */
  readonly quick: boolean;
  /** model sizes */
  readonly models: ModelConfig[];
  /** optimizer steps of each data size (D = steps · batch · T) */
  readonly steps: number[];
  /** quantization configurations (run for every model and data size) */
  readonly quant: QuantConfig[];
  /** sequences per step */
  readonly batch: number;
  /** peak learning rate */
  readonly lr: number;
  /** seed of plans from before several seeds (their runs' ids carry no seed) */
  readonly seed: number;
  /** seeds: every configuration runs once per seed (absent in older plans: `[seed]`) */
  readonly seeds?: number[];
  /** validation windows at the end of each run */
  readonly valWindows: number;
  /** the budget the steps were chosen for, or null */
  readonly budgetMinutes: number | null;
  /** bootstrap resamples for the intervals */
  readonly bootstrap: number;
}

function model(name: string, h: number, ffn: number, layers: number, heads: number, T: number) {
  return {
    ...PRESETS.smoke,
    name,
    hiddenSize: h,
    intermediateSize: ffn,
    numLayers: layers,
    numHeads: heads,
    contextLength: T,
  };
}

/**
 * Non-embedding parameters as the paper counts N: layers · (4h² + 3h·ffn) (no norms).
 *
 * @param c model configuration
 * @returns N
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { nonEmbeddingParams } from "./scaling.ts";
 * import { PRESETS } from "@fp4lab/train";
 * assert.equal(nonEmbeddingParams(PRESETS.smoke), 20480);
 * ```
 */
export function nonEmbeddingParams(c: ModelConfig): number {
  const h = c.hiddenSize;
  return c.numLayers * (4 * h * h + 3 * h * c.intermediateSize);
}

/** The law's equivalent log2 B of channel-wise scaling (the paper's fitted value). */
export const CHANNEL_LOG2_BLOCK = 13.1567;

function quantGrid(quick: boolean): QuantConfig[] {
  const q = (e: number, m: number, block: number): QuantConfig => ({
    label: `E${e}M${m}-B${block}`,
    e,
    m,
    block,
  });
  const ch = (e: number, m: number): QuantConfig => ({
    label: `E${e}M${m}-Bch`,
    e,
    m,
    block: 2 ** CHANNEL_LOG2_BLOCK,
    channel: true,
  });
  const bf16: QuantConfig = { label: "bf16", e: 8, m: 7, block: null };
  if (quick) return [bf16, q(1, 1, 8), q(2, 1, 8), ch(1, 1)];
  // Designed for power: the formats whose penalty the law makes largest (E1M1, E1M2, E2M1) at the
  // largest scale blocks (whole rows, the law's log2 B = 13.16, and B = 32), E1M1 also at B = 8
  // for the block-size direction. The 8-bit formats' penalties are far below seed noise.
  return [bf16, ch(1, 1), ch(1, 2), ch(2, 1), q(1, 1, 32), q(2, 1, 32), q(1, 1, 8)];
}

/** Options of {@link scalingPlan}. */
export interface ScalingPlanOptions {
  /** two smoke-sized models, two data sizes, five configurations */
  readonly quick: boolean;
  /** choose the base step count so the sweep fits this many minutes */
  readonly budgetMinutes: number | null;
  /** fixed base step count (overrides the budget) */
  readonly steps?: number;
}

const D_MULTIPLES = [1, 2, 4, 8, 16];

/**
 * Chooses the grid, designed for power rather than breadth: 2 model sizes x 5 data sizes (base
 * steps x 1, 2, 4, 8, 16: the longest D the budget allows) x 7 quantization configurations
 * (bf16; E1M1, E1M2, E2M1 with one scale per row; E1M1 and E2M1 at B = 32; E1M1 at B = 8) x 3
 * seeds, with the base step count from `--steps`, from `--budget-minutes` (timing each size
 * now), or 40.
 *
 * @param opts quick / budget / steps
 * @param data data set (for the timing runs)
 * @returns the plan
 * @example
 * ```ts ignore
 * const plan = await scalingPlan({ quick: true, budgetMinutes: null }, data);
 * ```
 */
export async function scalingPlan(
  opts: ScalingPlanOptions,
  data: Dataset,
): Promise<ScalingPlan> {
  // Fewer and smaller models than a breadth-first grid: the budget goes to seeds and to D, where
  // the penalty grows (as D^beta).
  const models = opts.quick ? [model("q16", 16, 48, 1, 2, 16), PRESETS.smoke] : [
    model("h32", 32, 96, 2, 2, 64),
    model("h64", 64, 176, 2, 4, 64),
  ];
  const seeds = opts.quick ? [1, 2] : [1, 2, 3];
  const quant = quantGrid(opts.quick);
  const batch = 4;
  const valWindows = opts.quick ? 8 : 64;
  const multiples = opts.quick ? [1, 2] : D_MULTIPLES;
  let base = opts.steps ?? (opts.quick ? 4 : 40);
  if (opts.budgetMinutes !== null && opts.steps === undefined) {
    let perBaseStep = 0, fixed = 0;
    const mult = multiples.reduce((a, b) => a + b, 0);
    for (const m of models) {
      const tb = await stepSeconds(RECIPES.bf16, m, batch, data);
      const tq = await stepSeconds(exmyRecipe(2, 1, 32), m, batch, data);
      perBaseStep += seeds.length * mult * (tb + (quant.length - 1) * tq);
      fixed += seeds.length * multiples.length * quant.length *
        (evalStepEquivalents(valWindows, batch) * tq + 0.3);
    }
    const available = opts.budgetMinutes * 60 * 0.9 - fixed;
    base = Math.max(5, Math.min(5000, Math.floor(available / perBaseStep)));
  }
  return {
    kind: "scaling-law",
    quick: opts.quick,
    models,
    steps: multiples.map((k) => k * base),
    quant,
    batch,
    lr: 3e-3,
    seed: 1,
    seeds,
    valWindows,
    budgetMinutes: opts.budgetMinutes,
    bootstrap: opts.quick ? 10 : 200,
  };
}

function recipeOf(q: QuantConfig): Recipe {
  return q.block === null ? RECIPES.bf16 : exmyRecipe(q.e, q.m, q.channel ? "channel" : q.block);
}

/**
 * The seeds of a plan (older plans ran one).
 *
 * @param plan the plan
 * @returns the seeds
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { planSeeds } from "./scaling.ts";
 * assert.deepEqual(planSeeds({ seed: 1 }), [1]);
 * ```
 */
export function planSeeds(plan: { readonly seed: number; readonly seeds?: number[] }): number[] {
  return plan.seeds ?? [plan.seed];
}

/**
 * The runs of a plan, ordered by data size then model size, so a sweep stopped early has every
 * configuration at the shorter lengths.
 *
 * @param plan the plan
 * @returns one spec per (steps, model, configuration)
 * @example
 * ```ts ignore
 * const specs = scalingSpecs(plan);
 * ```
 */
export function scalingSpecs(plan: ScalingPlan): RunSpec[] {
  const specs: RunSpec[] = [];
  const seeds = planSeeds(plan);
  for (const seed of seeds) {
    for (const steps of plan.steps) {
      for (const config of plan.models) {
        for (const q of plan.quant) {
          specs.push({
            id: `${config.name}-${steps}-${q.label}${seeds.length > 1 ? `-s${seed}` : ""}`,
            recipe: recipeOf(q),
            config,
            steps,
            batch: plan.batch,
            lr: plan.lr,
            seed,
            evalPoints: 1,
            valWindows: plan.valWindows,
            meta: {
              label: q.label,
              params: nonEmbeddingParams(config),
              e: q.e,
              m: q.m,
              block: q.block === null ? "none" : q.channel ? "channel" : q.block,
            },
          });
        }
      }
    }
  }
  return specs;
}

/** Estimated seconds of a run for the ETA: proportional to steps · tokens · parameters. */
export function scalingEstimate(spec: RunSpec): number {
  const c = spec.config;
  const work = spec.steps * spec.batch * c.contextLength *
    (nonEmbeddingParams(c) + 2 * 256 * c.hiddenSize);
  return work * 2e-8;
}

/**
 * The finished runs as the law sees them (diverged runs left out).
 *
 * @param results finished runs
 * @returns observed runs: N, D, E, M, log2 B (0 for bf16), validation loss
 * @example
 * ```ts ignore
 * const runs = observedRuns(results);
 * ```
 */
export function observedRuns(results: RunResult[]): ObservedRun[] {
  return results.filter((r) => r.fault === null && Number.isFinite(r.valLoss)).map((r) => ({
    params: Number(r.meta.params),
    tokens: r.tokens,
    exponentBits: Number(r.meta.e),
    mantissaBits: Number(r.meta.m),
    log2Block: r.meta.block === "none"
      ? 0
      : r.meta.block === "channel"
      ? CHANNEL_LOG2_BLOCK
      : Math.log2(Number(r.meta.block)),
    loss: r.valLoss,
  }));
}

/** The fit and its checks. */
export interface ScalingSummary {
  /** runs that finished, of all planned */
  runs: { finished: number; planned: number; diverged: number };
  /** fitted constants with intervals, or the reason there is no fit */
  fit:
    | {
      constants: Record<string, number>;
      intervals: Record<string, readonly [number, number]> | null;
      converged: boolean;
      rmse: number;
      trainRuns: number;
      heldOutRuns: number;
      r2Train: number;
      r2HeldOut: number;
      penaltyR2HeldOut: number;
      penaltyRuns: number;
      maxPenalty: number;
    }
    | { error: string };
  /** per held-out run: measured and predicted */
  /** the same fit with δ and ν held at the paper's values (only γ sets the precision term) */
  fitPaperExponents:
    | {
      gamma: number;
      interval: readonly [number, number] | null;
      rmse: number;
      converged: boolean;
      penaltyR2HeldOut: number;
      r2HeldOut: number;
    }
    | null;
  heldOut: { label: string; params: number; tokens: number; measured: number; predicted: number }[];
  /** per training run: measured and predicted */
  train: { label: string; params: number; tokens: number; measured: number; predicted: number }[];
  /** critical data size: the fitted law's D_crit per (N, config), and what the runs show */
  critical: {
    label: string;
    params: number;
    dcrit: number | null;
    insideRange: boolean;
    measuredRise: boolean;
  }[];
  /** what the sweep can see: seed noise of a penalty and the smallest detectable one */
  power: ScalingPower;
  /** the law's signature: the penalty of the largest-penalty format against D */
  signature: SignatureTest | null;
}

/** The smallest precision penalty a sweep can see, and the penalties the law predicts. */
export interface ScalingPower {
  /** seeds per configuration */
  seeds: number;
  /** the paired seed noise assumed when planning, nats */
  assumedSd: number;
  /** the smallest penalty detectable at 80% power (5% two-sided) with that noise, or null (1 seed) */
  mdeAssumed: number | null;
  /** measured: pooled standard deviation over seeds of a penalty (quantized minus bf16, same seed) */
  measuredSd: number | null;
  /** the smallest detectable penalty with the measured noise */
  mde: number | null;
  /** the law with the paper's constants: its penalty at the longest D, per model and format */
  predicted: { label: string; params: number; tokens: number; penalty: number }[];
}

/** The D^β signature test on one format. */
export interface SignatureTest {
  /** the format tested (the largest predicted penalty) */
  label: string;
  /** per model size and length: the penalty, mean over seeds */
  points: { params: number; tokens: number; penalty: number; n: number }[];
  /** fitted exponent of D (common slope of ln penalty on ln D over model sizes), or null */
  exponent: number | null;
  /** its 95% interval, or null */
  ci: readonly [number, number] | null;
  /** points left out because their mean penalty was not positive (no logarithm) */
  dropped: number;
}

/** Per-seed penalties: loss of a quantized run minus the bf16 run of the same model, length, seed. */
function penaltyCells(
  results: RunResult[],
): Map<string, { label: string; params: number; tokens: number; values: number[] }> {
  const ok = results.filter((r) => r.fault === null && Number.isFinite(r.valLoss));
  const cells = new Map<
    string,
    { label: string; params: number; tokens: number; values: number[] }
  >();
  for (const r of ok) {
    if (r.meta.block === "none") continue;
    const base = ok.find((x) =>
      x.model === r.model && x.steps === r.steps && x.seed === r.seed && x.meta.block === "none"
    );
    if (!base) continue;
    const key = `${r.model}|${r.steps}|${r.meta.label}`;
    const cell = cells.get(key) ??
      { label: String(r.meta.label), params: Number(r.meta.params), tokens: r.tokens, values: [] };
    cell.values.push(r.valLoss - base.valLoss);
    cells.set(key, cell);
  }
  return cells;
}

/** Paired seed noise assumed when planning a sweep. */
export const ASSUMED_SEED_SD = 0.02;

/**
 * The power of a sweep: with the assumed and the measured seed noise, the smallest penalty a
 * configuration must have to be seen at 80% power; and the penalties the law (paper constants)
 * predicts at the longest length, to compare.
 *
 * @param plan the plan
 * @param results finished runs
 * @returns the power analysis
 * @example
 * ```ts ignore
 * const p = scalingPower(plan, results);
 * ```
 */
export function scalingPower(plan: ScalingPlan, results: RunResult[]): ScalingPower {
  const seeds = planSeeds(plan).length;
  const cells = [...penaltyCells(results).values()].filter((c) => c.values.length > 1);
  const variances = cells.map((c) => spread(c.values).std ** 2);
  const measuredSd = variances.length
    ? Math.sqrt(variances.reduce((a, b) => a + b, 0) / variances.length)
    : null;
  const T = plan.models[0].contextLength;
  const dMax = Math.max(...plan.steps) * plan.batch * T;
  const predicted = plan.quant.filter((q) => q.block !== null).flatMap((q) =>
    plan.models.map((m) => {
      const params = nonEmbeddingParams(m);
      const run: ObservedRun = {
        params,
        tokens: dMax,
        exponentBits: q.e,
        mantissaBits: q.m,
        log2Block: Math.log2(q.block!),
        loss: 0,
      };
      return {
        label: q.label,
        params,
        tokens: dMax,
        penalty: lossTerms(run, PAPER_CONSTANTS).penalty,
      };
    })
  );
  return {
    seeds,
    assumedSd: ASSUMED_SEED_SD,
    mdeAssumed: seeds > 1 ? minimumDetectableEffect(ASSUMED_SEED_SD, seeds) : null,
    measuredSd,
    mde: measuredSd !== null && seeds > 1 ? minimumDetectableEffect(measuredSd, seeds) : null,
    predicted,
  };
}

/**
 * The law's signature on the format it penalizes most: the penalty grows as D^β (β = 0.5162 in
 * the paper) at fixed N. Fits one exponent over the model sizes (each its own intercept) to
 * ln(mean penalty) against ln D, with a 95% interval.
 *
 * @param plan the plan
 * @param results finished runs
 * @returns the test, or null when the plan has no quantized format
 * @example
 * ```ts ignore
 * const sig = signatureTest(plan, results);
 * ```
 */
export function signatureTest(plan: ScalingPlan, results: RunResult[]): SignatureTest | null {
  const quantized = plan.quant.filter((q) => q.block !== null);
  if (quantized.length === 0) return null;
  // the format with the largest predicted penalty: fewest bits, then the largest block
  const q = [...quantized].sort((a, b) => (a.e + a.m) - (b.e + b.m) || (b.block! - a.block!))[0];
  const cells = [...penaltyCells(results).values()].filter((c) => c.label === q.label);
  const points = cells.map((c) => ({
    params: c.params,
    tokens: c.tokens,
    penalty: c.values.reduce((a, b) => a + b, 0) / c.values.length,
    n: c.values.length,
  })).sort((a, b) => a.params - b.params || a.tokens - b.tokens);
  const positive = points.filter((p) => p.penalty > 0);
  const byModel = [...new Set(positive.map((p) => p.params))].map((n) => {
    const ps = positive.filter((p) => p.params === n);
    return { x: ps.map((p) => Math.log(p.tokens)), y: ps.map((p) => Math.log(p.penalty)) };
  });
  let exponent: number | null = null, ci: readonly [number, number] | null = null;
  try {
    const f = fitCommonSlope(byModel);
    exponent = f.slope;
    ci = f.slopeCi;
  } catch {
    // fewer than two lengths with a positive penalty: no exponent
  }
  return { label: q.label, points, exponent, ci, dropped: points.length - positive.length };
}

function r2(measured: number[], predicted: number[]): number {
  if (measured.length < 2) return NaN;
  const m = measured.reduce((a, b) => a + b, 0) / measured.length;
  let ssr = 0, sst = 0;
  for (let i = 0; i < measured.length; i++) {
    ssr += (measured[i] - predicted[i]) ** 2;
    sst += (measured[i] - m) ** 2;
  }
  return sst > 0 ? 1 - ssr / sst : NaN;
}

/**
 * Whether run `i` of the finished runs is held out of the fit: every fifth run (indices 2, 7,
 * 12, ... in sweep order), which spreads the held-out runs over sizes, lengths and formats.
 *
 * @param index position in sweep order
 * @returns true when held out
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isHeldOut } from "./scaling.ts";
 * assert.deepEqual([0, 1, 2, 3, 7].map(isHeldOut), [false, false, true, false, true]);
 * ```
 */
export function isHeldOut(index: number): boolean {
  return index % 5 === 2;
}

/**
 * Fits the law to the non-held-out runs (Levenberg-Marquardt on ln loss, bootstrap intervals),
 * scores it on the held-out ones, and looks for a critical data size.
 *
 * @param plan the plan
 * @param results finished runs, in sweep order
 * @returns the summary
 * @example
 * ```ts ignore
 * const s = summarizeScaling(plan, results);
 * ```
 */
export function summarizeScaling(plan: ScalingPlan, results: RunResult[]): ScalingSummary {
  const ok = results.filter((r) => r.fault === null && Number.isFinite(r.valLoss));
  const observed = observedRuns(ok);
  const trainIdx = observed.map((_r, i) => i).filter((i) => !isHeldOut(i));
  const heldIdx = observed.map((_r, i) => i).filter(isHeldOut);
  const summary: ScalingSummary = {
    runs: {
      finished: results.length,
      planned: plan.models.length * plan.steps.length * plan.quant.length *
        planSeeds(plan).length,
      diverged: results.length - ok.length,
    },
    fit: { error: "no fit" },
    fitPaperExponents: null,
    heldOut: [],
    train: [],
    critical: [],
    power: scalingPower(plan, results),
    signature: signatureTest(plan, results),
  };
  let fit: FitResult | null = null;
  try {
    fit = fitConstants(trainIdx.map((i) => observed[i]), {
      bootstrap: plan.bootstrap,
      seed: 0,
    });
  } catch (e) {
    summary.fit = { error: e instanceof Error ? e.message : String(e) };
  }
  // Held-out penalty pairs: measured loss minus the same model's and length's bf16 run.
  const penaltyPairs = (constants: FitResult["constants"]) =>
    heldIdx.flatMap((i) => {
      const r = ok[i];
      if (r.meta.block === "none") return [];
      const base = ok.find((x) =>
        x.model === r.model && x.steps === r.steps && x.seed === r.seed &&
        x.meta.block === "none"
      );
      if (!base) return [];
      return [{
        measured: r.valLoss - base.valLoss,
        predicted: lossTerms(observed[i], constants).penalty,
      }];
    });
  try {
    const f2 = fitConstants(trainIdx.map((i) => observed[i]), {
      fixed: ["delta", "nu"],
      bootstrap: plan.bootstrap,
      seed: 0,
    });
    const pen = penaltyPairs(f2.constants);
    summary.fitPaperExponents = {
      gamma: f2.constants.gamma,
      interval: f2.intervals ? f2.intervals.gamma : null,
      rmse: f2.rmse,
      converged: f2.converged,
      penaltyR2HeldOut: r2(pen.map((p) => p.measured), pen.map((p) => p.predicted)),
      r2HeldOut: r2(
        heldIdx.map((i) => observed[i].loss),
        heldIdx.map((i) => lawLoss(observed[i], f2.constants)),
      ),
    };
  } catch {
    summary.fitPaperExponents = null;
  }
  if (fit) {
    const row = (i: number) => ({
      label: String(ok[i].meta.label),
      params: observed[i].params,
      tokens: observed[i].tokens,
      measured: observed[i].loss,
      predicted: lawLoss(observed[i], fit!.constants),
    });
    summary.train = trainIdx.map(row);
    summary.heldOut = heldIdx.map(row);
    const pen = penaltyPairs(fit.constants);
    summary.fit = {
      maxPenalty: Math.max(...observed.map((o) => lossTerms(o, fit!.constants).penalty)),
      penaltyR2HeldOut: r2(pen.map((p) => p.measured), pen.map((p) => p.predicted)),
      penaltyRuns: pen.length,
      constants: { ...fit.constants },
      intervals: fit.intervals ? { ...fit.intervals } : null,
      converged: fit.converged,
      rmse: fit.rmse,
      trainRuns: trainIdx.length,
      heldOutRuns: heldIdx.length,
      r2Train: r2(summary.train.map((r) => r.measured), summary.train.map((r) => r.predicted)),
      r2HeldOut: r2(
        summary.heldOut.map((r) => r.measured),
        summary.heldOut.map((r) => r.predicted),
      ),
    };
  }
  // Critical data size: from the fitted law, and from the runs (loss at the longest run above
  // the best shorter one of the same model and configuration).
  const dMax = Math.max(...ok.map((r) => r.tokens));
  for (const c of plan.models) {
    for (const q of plan.quant) {
      if (q.block === null) continue;
      // mean over seeds at each length
      const runs = ok.filter((r) => r.model === c.name && r.meta.label === q.label);
      const series = [...new Set(runs.map((r) => r.tokens))].sort((a, b) => a - b).map((t) => {
        const at = runs.filter((r) => r.tokens === t);
        return { tokens: t, valLoss: at.reduce((a, r) => a + r.valLoss, 0) / at.length };
      });
      if (series.length === 0) continue;
      const last = series[series.length - 1];
      const bestBefore = Math.min(...series.slice(0, -1).map((r) => r.valLoss));
      const params = nonEmbeddingParams(c);
      const dcrit = fit
        ? criticalTokens(
          { params, exponentBits: q.e, mantissaBits: q.m, log2Block: Math.log2(q.block) },
          fit.constants,
        )
        : null;
      summary.critical.push({
        label: q.label,
        params,
        dcrit,
        insideRange: dcrit !== null && dcrit <= dMax,
        measuredRise: series.length > 1 && last.valLoss > bestBefore,
      });
    }
  }
  return summary;
}

/**
 * The runs CSV that `deno task plan fit --runs` reads (`params,tokens,exponent_bits,
 * mantissa_bits,block,loss`; bf16 runs are `8,7,none`: no quantization, the law's B = 1).
 *
 * @param results finished runs
 * @returns CSV text
 * @example
 * ```ts ignore
 * Deno.writeTextFileSync("runs.csv", scalingRunsCsv(results));
 * ```
 */
export function scalingRunsCsv(results: RunResult[]): string {
  return formatRunsCsv(observedRuns(results));
}

/** What the page needs besides the runs. */
export interface ScalingContext {
  /** the command that produced the runs */
  command: string;
  /** CPU model line */
  machine: string;
  /** data description */
  data: string;
  /** wall-clock seconds of the sweep in this session */
  seconds: number;
}

const fmt = (x: number, d = 4) => Number.isFinite(x) ? x.toFixed(d) : "—";
const sci = (x: number) => Number.isFinite(x) ? x.toPrecision(4) : x === Infinity ? "∞" : "—";

/**
 * Renders the page's Markdown.
 *
 * @param plan the plan
 * @param results finished runs
 * @param s the summary
 * @param ctx command, machine, data
 * @returns Markdown
 * @example
 * ```ts ignore
 * const md = scalingMarkdown(plan, results, summary, ctx);
 * ```
 */
export function scalingMarkdown(
  plan: ScalingPlan,
  results: RunResult[],
  s: ScalingSummary,
  ctx: ScalingContext,
): string {
  const T = plan.models[0].contextLength;
  const L: string[] = [
    "# Reproducing the floating-point quantization scaling law at tiny scale",
    "",
    "Sun et al., *Scaling Laws for Floating-Point Quantization Training* (arXiv 2501.02423):",
    "L(N, D, E, M, B) = n/N^α + d/D^β + ε + (D^β/N^α)·log2 B/(γ(E+0.5)^δ(M+0.5)^ν), fitted here",
    "to a sweep of tiny LLaMAs trained by `apps/trainer`. This page is generated by",
    "`deno task reproduce scaling-law`; do not edit it by hand.",
    "",
    `- commands: \`${ctx.command}\``,
    `- machine: ${ctx.machine} (shared with other jobs while it ran)`,
    `- models (N = non-embedding parameters, layers·(4h² + 3h·ffn)): ${
      plan.models.map((m) =>
        `${m.name} (h ${m.hiddenSize}, ffn ${m.intermediateSize}, ${m.numLayers} layers, N = ${
          nonEmbeddingParams(m)
        })`
      ).join("; ")
    }; context ${T}, byte vocabulary`,
    `- data sizes: ${
      plan.steps.map((k) => `${k} steps (D = ${k * plan.batch * T})`).join(", ")
    }; ` +
    `batch ${plan.batch}, peak lr ${plan.lr}, seeds ${planSeeds(plan).join(", ")}` +
    (plan.budgetMinutes === null
      ? ""
      : ` (steps chosen for a ${plan.budgetMinutes}-minute budget)`),
    `- quantization (the paper's P2, P4, P6: weights in the forward and input-gradient GEMMs, ` +
    `activations feeding the weight-gradient GEMM; absmax scale per block of B along each GEMM's ` +
    `contraction axis, round to nearest even; everything else BF16): ${
      plan.quant.map((q) => q.label).join(", ")
    }. Formats are fp4lab's ExMy (OCP-exact where OCP defines them, e.g. E4M3 max 448; the paper's ` +
    `simulation reuses the Inf/NaN codes as normal values; the law's E and M are the bit counts either way).`,
    `- data: ${ctx.data}; loss = validation loss in nats per byte at the end of each run`,
    `- runs: ${s.runs.finished} of ${s.runs.planned} finished` +
    (s.runs.diverged ? `, ${s.runs.diverged} diverged` : "") +
    `; ${
      (results.reduce((a, r) => a + r.seconds, 0) / 60).toFixed(1)
    } minutes of wall clock over all runs`,
    "",
    "**Scale, honestly.** The paper fits 359 runs of 41M-679M parameters on 10B-100B tokens. These",
    "runs have tens to hundreds of thousands of parameters and see at most a few hundred thousand",
    `bytes, ${planSeeds(plan).length} seed${
      planSeeds(plan).length > 1 ? "s" : ""
    } each; a loss carries seed noise of about 0.02 nats, so the`,
    "law's eight constants are only loosely pinned down. The fitted constants are not comparable",
    "to the paper's in value (byte-level loss, different units of N and D); what can be checked is",
    "the form: does the law fit held-out runs, and do precision and block size order as it says.",
    "",
    "## Measured validation loss",
    "",
  ];
  const labels = plan.quant.map((q) => q.label);
  L.push(
    `| model | N | steps | D | ${labels.join(" | ")} |`,
    `| --- | ---: | ---: | ---: | ${labels.map(() => "---:").join(" | ")} |`,
  );
  for (const m of plan.models) {
    for (const steps of plan.steps) {
      // mean over seeds (a diverged seed is named)
      const cells = labels.map((label) => {
        const rs = results.filter((x) =>
          x.model === m.name && x.steps === steps && x.meta.label === label
        );
        if (rs.length === 0) return "—";
        const sp = spread(rs.map((r) => r.valLoss));
        if (sp.n === 0) return "diverged";
        return sp.mean.toFixed(4) + (sp.nonFinite ? ` (${sp.nonFinite} diverged)` : "");
      });
      L.push(
        `| ${m.name} | ${nonEmbeddingParams(m)} | ${steps} | ${steps * plan.batch * T} | ${
          cells.join(" | ")
        } |`,
      );
    }
  }
  L.push(
    "",
    "![loss against tokens](reproduce-scaling-law/loss-vs-tokens.svg)",
    "",
    "![precision penalty against tokens](reproduce-scaling-law/penalty.svg)",
    "",
  );
  L.push("## Fitted constants", "");
  if ("error" in s.fit) {
    L.push(`The fit failed: ${s.fit.error}`, "");
  } else {
    const f = s.fit;
    L.push(
      `Fitted on ${f.trainRuns} runs (every fifth run in sweep order held out: ${f.heldOutRuns} ` +
        `runs), least squares on ln loss, ${plan.bootstrap} bootstrap resamples for the 95% ` +
        `intervals; ${f.converged ? "converged" : "**did not converge**"}, rms log residual ${
          f.rmse.toExponential(2)
        }. Same fit from the command line: \`deno task plan fit --runs ` +
        `docs/reproduce-scaling-law/runs.csv\` (that one uses every run).`,
      "",
      "| constant | fitted | 95% interval | paper |",
      "| --- | ---: | --- | ---: |",
    );
    for (const name of CONSTANT_NAMES) {
      const ci = f.intervals?.[name];
      L.push(
        `| ${name} | ${sci(f.constants[name])} | ${ci ? `[${sci(ci[0])}, ${sci(ci[1])}]` : "—"} | ${
          PAPER_CONSTANTS[name]
        } |`,
      );
    }
    L.push(
      "",
      `**Predicted vs measured:** R² = ${fmt(f.r2HeldOut, 3)} on the ${f.heldOutRuns} held-out ` +
        `runs (${fmt(f.r2Train, 3)} on the fitted ones). Most of that variance is the model-size ` +
        `and data-size terms; the precision term alone (loss minus the bf16 run of the same model ` +
        `and length, against the fitted penalty) gets R² = ${fmt(f.penaltyR2HeldOut, 3)} on the ` +
        `${f.penaltyRuns} held-out quantized runs${
          f.penaltyR2HeldOut < 0.5 || !Number.isFinite(f.penaltyR2HeldOut)
            ? ": **at this scale the law does not predict the precision penalty well**"
            : ""
        }.${
          f.maxPenalty < 0.005
            ? ` The fitted precision term is at most ${
              f.maxPenalty.toExponential(1)
            } nats over every run: the fit found no precision penalty it could tell from noise, so ` +
              "γ, δ and ν (and the critical data size) are not determined by these runs."
            : ""
        }`,
      "",
    );
    const fp = s.fitPaperExponents;
    if (fp) {
      L.push(
        `**With δ and ν held at the paper's values** (${PAPER_CONSTANTS.delta}, ` +
          `${PAPER_CONSTANTS.nu}), so that only γ scales the precision term: γ = ${sci(fp.gamma)}${
            fp.interval ? ` [${sci(fp.interval[0])}, ${sci(fp.interval[1])}]` : ""
          }, rms log ` +
          `residual ${fp.rmse.toExponential(2)}, ${
            fp.converged ? "converged" : "did not converge"
          }; R² on held-out runs ${fmt(fp.r2HeldOut, 3)}, on the held-out precision penalties ${
            fmt(fp.penaltyR2HeldOut, 3)
          }.`,
        "",
      );
    }
    L.push(
      "![predicted vs measured loss](reproduce-scaling-law/predicted-vs-measured.svg)",
      "",
    );
  }
  // Directions the law implies, checked on the measured losses (mean over models and lengths).
  L.push("## Directions the law implies", "");
  const pairs: [string, string, string][] = [];
  const has = (l: string) => labels.includes(l);
  const b32 = plan.quick ? 8 : 32;
  if (has(`E1M1-B${b32}`) && has("bf16")) {
    pairs.push(["E1M1 costs loss against bf16", `E1M1-B${b32}`, "bf16"]);
  }
  if (has(`E1M1-B${b32}`) && has(`E2M1-B${b32}`)) {
    pairs.push([
      "one more exponent bit helps (E1M1 worse than E2M1)",
      `E1M1-B${b32}`,
      `E2M1-B${b32}`,
    ]);
  }
  if (has(`E1M1-B${b32}`) && has(`E1M2-B${b32}`)) {
    pairs.push([
      "one more mantissa bit helps (E1M1 worse than E1M2)",
      `E1M1-B${b32}`,
      `E1M2-B${b32}`,
    ]);
  }
  if (has(`E2M1-B${b32}`) && has(`E4M3-B${b32}`)) {
    pairs.push(["FP4 worse than FP8 (E2M1 vs E4M3)", `E2M1-B${b32}`, `E4M3-B${b32}`]);
  }
  if (has(`E1M1-B${b32}`) && has("E1M1-B4")) {
    pairs.push(["larger blocks cost more (E1M1 B=" + b32 + " vs B=4)", `E1M1-B${b32}`, "E1M1-B4"]);
  }
  if (has("E1M1-Bch") && has(`E1M1-B${b32}`)) {
    pairs.push([
      `larger blocks cost more (E1M1 one scale per row vs B=${b32})`,
      "E1M1-Bch",
      `E1M1-B${b32}`,
    ]);
  }
  if (has("E1M1-B8") && has("E1M1-B4") && b32 !== 8) {
    pairs.push(["larger blocks cost more (E1M1 B=8 vs B=4)", "E1M1-B8", "E1M1-B4"]);
  }
  // Paired by (model, length, seed): both runs share the seed, so init and batches are the same.
  const cell = (label: string) =>
    planSeeds(plan).flatMap((seed) =>
      plan.models.flatMap((m) =>
        plan.steps.map((st) => {
          const r = results.find((x) =>
            x.model === m.name && x.steps === st && x.meta.label === label && x.seed === seed
          );
          return r ? r.valLoss : undefined;
        })
      )
    );
  const compared = pairs.map(([, worse, better]) => {
    const wc = cell(worse), bc = cell(better);
    const keep = wc.map((x, i) => x !== undefined && bc[i] !== undefined);
    return {
      worse: wc.filter((_x, i) => keep[i]) as number[],
      better: bc.filter((_x, i) => keep[i]) as number[],
    };
  });
  const judged = judgeFamily(compared);
  L.push(
    ...claimsTable(
      pairs.map(([claim, worse, better], i) => ({ ...judged[i], claim, worse, better })),
      "nats per byte, paired by (model size, data size, seed): the pairs share a seed, so the " +
        "same initialization and batches",
    ),
  );
  L.push(...powerSection(s));
  L.push("## Critical data size", "");
  const rises = s.critical.filter((c) => c.measuredRise);
  const inside = s.critical.filter((c) => c.insideRange);
  L.push(
    "Past D_crit = [d·γ·N^α·(E+0.5)^δ·(M+0.5)^ν / log2 B]^(1/(2β)) more tokens raise the loss.",
    "",
    `- From the fitted law: D_crit falls inside the measured range (D <= ${
      Math.max(...plan.steps) * plan.batch * T
    }) for ${inside.length} of ${s.critical.length} (model, format) series.`,
    `- From the runs: the longest run is worse than a shorter one of the same model and format in ` +
      `${rises.length} of ${s.critical.length} series${
        rises.length ? ` (${rises.map((c) => `${c.label} at N = ${c.params}`).join(", ")})` : ""
      }. ${
        rises.length === 0
          ? "**No critical data size appears at this scale.**"
          : "Single-seed rises this small can be noise; a critical data size is claimed only where " +
            "the fitted law also puts it inside the range."
      }`,
    "",
    "| config | N | fitted D_crit | inside range | measured rise |",
    "| --- | ---: | ---: | --- | --- |",
  );
  for (const c of s.critical) {
    L.push(
      `| ${c.label} | ${c.params} | ${c.dcrit === null ? "—" : sci(c.dcrit)} | ${
        c.insideRange ? "yes" : "no"
      } | ${c.measuredRise ? "yes" : "no"} |`,
    );
  }
  L.push(
    "",
    "## What a full reproduction would still need",
    "",
    "- Models of 10^7-10^9 parameters and 10^9-10^11 tokens per run (the paper's grid), i.e. GPUs;",
    "  this sweep is four orders of magnitude below on both axes.",
    "- Enough seeds that the law's predicted penalties clear the detectable size above (see the",
    "  power section): at this scale most of them do not.",
    "",
    "Per-run data: [reproduce-scaling-law/runs.csv](reproduce-scaling-law/runs.csv) (the `plan fit` " +
      "format), [reproduce-scaling-law/results.csv](reproduce-scaling-law/results.csv) (with run ids), " +
      "summary: [reproduce-scaling-law/summary.json](reproduce-scaling-law/summary.json).",
  );
  return L.join("\n") + "\n";
}

const e3 = (x: number | null) => x === null || !Number.isFinite(x) ? "—" : x.toExponential(1);

function powerSection(s: ScalingSummary): string[] {
  const p = s.power;
  const L = [
    "## Power: the smallest penalty this sweep can see",
    "",
    `A precision penalty (loss minus the bf16 run of the same model, length and seed) is seen at`,
    `80% power by a two-sided paired t-test at 5% only when it exceeds (t₀.₉₇₅ + t₀.₈) · sd / √n`,
    `over n = ${p.seeds} seed${p.seeds > 1 ? "s" : ""}. Planned with the seed-to-seed noise the` +
    ` trainer measures at this scale (sd ${p.assumedSd}): ${
      p.mdeAssumed === null ? "one seed detects nothing" : `**${p.mdeAssumed.toFixed(3)} nats**`
    }. Measured here (pooled sd over seeds of every penalty: ${
      p.measuredSd === null ? "—" : p.measuredSd.toFixed(4)
    }): ${p.mde === null ? "—" : `**${p.mde.toFixed(3)} nats**`}.`,
    "",
    "What the law predicts at the longest length (the paper's constants, fitted to nats per token",
    "of 41M-679M models: only an order of magnitude here):",
    "",
    "| format | N | D | predicted penalty | above the detectable size |",
    "| --- | ---: | ---: | ---: | --- |",
  ];
  const mde = p.mde ?? p.mdeAssumed;
  for (const x of p.predicted) {
    L.push(
      `| ${x.label} | ${x.params} | ${x.tokens} | ${e3(x.penalty)} | ${
        mde === null ? "—" : x.penalty >= mde ? "yes" : "no"
      } |`,
    );
  }
  L.push("");
  const sig = s.signature;
  if (sig) {
    L.push(
      `## The law's signature: does the ${sig.label} penalty grow as D^β?`,
      "",
      "At fixed N the law's penalty is (D^β / N^α) · log2 B / (γ (E+0.5)^δ (M+0.5)^ν): it grows",
      "with the data, as D^β with β = 0.5162 in the paper, so more tokens can make a",
      "low-precision run worse. The slope of ln(penalty) against ln(D), one slope over the model",
      "sizes (each its own intercept), estimates β:",
      "",
      "| N | D | penalty (mean over seeds) | seeds |",
      "| ---: | ---: | ---: | ---: |",
      ...sig.points.map((x) =>
        `| ${x.params} | ${x.tokens} | ${x.penalty >= 0 ? "+" : ""}${
          x.penalty.toFixed(4)
        } | ${x.n} |`
      ),
      "",
      sig.exponent === null
        ? `**No exponent:** fewer than two lengths of one model have a positive mean penalty${
          sig.dropped ? ` (${sig.dropped} point${sig.dropped > 1 ? "s" : ""} not positive)` : ""
        }; the signature cannot be tested on these runs.`
        : `**Fitted exponent ${sig.exponent.toFixed(2)}${
          sig.ci
            ? ` [${sig.ci[0].toFixed(2)}, ${sig.ci[1].toFixed(2)}]`
            : " (no interval: too few points)"
        }** (paper β = ${PAPER_CONSTANTS.beta})${
          sig.dropped ? `; ${sig.dropped} point(s) with a non-positive penalty left out` : ""
        }. ${
          sig.ci === null ? "" : sig.ci[0] > 0
            ? "The penalty grows with D, as the law says" +
              (sig.ci[0] <= PAPER_CONSTANTS.beta && PAPER_CONSTANTS.beta <= sig.ci[1]
                ? ", at a rate consistent with the paper's β."
                : ", but at a rate the paper's β is outside of.")
            : sig.ci[1] < 0
            ? "The penalty *shrinks* with D here: the law's signature is not seen."
            : "The interval includes zero: these runs cannot tell whether the penalty grows with D."
        }`,
      "",
    );
  }
  return L;
}

/**
 * Per-run rows with their ids (the report's table is read from these numbers).
 *
 * @param results finished runs
 * @returns CSV: id,model,params,steps,tokens,label,exponent_bits,mantissa_bits,block,val_loss,tokens_per_s,fault
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { scalingResultsCsv } from "./scaling.ts";
 * assert.equal(scalingResultsCsv([]).split(",")[0], "id");
 * ```
 */
export function scalingResultsCsv(results: RunResult[]): string {
  const head =
    "id,model,params,steps,tokens,label,exponent_bits,mantissa_bits,block,val_loss,tokens_per_s,fault";
  const lines = results.map((r) =>
    [
      r.id,
      r.model,
      r.meta.params,
      r.steps,
      r.tokens,
      r.meta.label,
      r.meta.e,
      r.meta.m,
      r.meta.block,
      Number.isFinite(r.valLoss) ? r.valLoss : "",
      r.tokensPerSec.toFixed(1),
      r.fault ? "diverged" : "",
    ].join(",")
  );
  return [head, ...lines].join("\n") + "\n";
}

function predictedFigure(s: ScalingSummary): Record<string, unknown> {
  const values = [
    ...s.train.map((r) => ({ ...r, set: "fitted" })),
    ...s.heldOut.map((r) => ({ ...r, set: "held out" })),
  ];
  const all = values.flatMap((v) => [v.measured, v.predicted]).filter(Number.isFinite);
  const lo = Math.min(...all), hi = Math.max(...all);
  return {
    title: "fitted law: predicted vs measured validation loss",
    width: 420,
    height: 360,
    layer: [
      {
        data: { values: [{ x: lo, y: lo }, { x: hi, y: hi }] },
        mark: { type: "line", strokeDash: [4, 4], color: "gray" },
        encoding: {
          x: {
            field: "x",
            type: "quantitative",
            scale: { zero: false },
            title: "measured (nats per byte)",
          },
          y: {
            field: "y",
            type: "quantitative",
            scale: { zero: false },
            title: "predicted (nats per byte)",
          },
        },
      },
      {
        data: { values },
        mark: { type: "point", filled: true },
        encoding: {
          x: { field: "measured", type: "quantitative" },
          y: { field: "predicted", type: "quantitative" },
          color: { field: "set", type: "nominal", title: null },
          shape: { field: "set", type: "nominal", title: null },
        },
      },
    ],
  };
}

function tokensFigure(plan: ScalingPlan, results: RunResult[]): Record<string, unknown> {
  const values = results.filter((r) => r.fault === null).map((r) => ({
    model: `${r.model} (N = ${r.meta.params})`,
    tokens: r.tokens,
    loss: r.valLoss,
    config: String(r.meta.label),
  }));
  return {
    title: "validation loss against training tokens, per model size",
    data: { values },
    facet: { field: "model", type: "nominal", title: null, sort: plan.models.map((m) => m.name) },
    columns: 2,
    spec: {
      width: 260,
      height: 180,
      mark: { type: "line", point: true },
      encoding: {
        x: {
          field: "tokens",
          type: "quantitative",
          scale: { type: "log" },
          title: "training tokens (bytes)",
        },
        y: {
          field: "loss",
          type: "quantitative",
          scale: { zero: false },
          title: "validation loss (nats per byte)",
        },
        color: { field: "config", type: "nominal", sort: plan.quant.map((q) => q.label) },
      },
    },
  };
}

function penaltyFigure(plan: ScalingPlan, results: RunResult[]): Record<string, unknown> {
  const values = results.flatMap((r) => {
    if (r.fault !== null || r.meta.block === "none") return [];
    const base = results.find((x) =>
      x.model === r.model && x.steps === r.steps && x.seed === r.seed &&
      x.meta.block === "none" && x.fault === null
    );
    if (!base) return [];
    return [{
      model: `${r.model} (N = ${r.meta.params})`,
      tokens: r.tokens,
      penalty: r.valLoss - base.valLoss,
      config: String(r.meta.label),
    }];
  });
  return {
    title: "measured precision penalty: loss minus the bf16 run of the same model and length",
    data: { values },
    facet: { field: "model", type: "nominal", title: null, sort: plan.models.map((m) => m.name) },
    columns: 2,
    spec: {
      width: 260,
      height: 180,
      layer: [
        {
          mark: { type: "line", point: true },
          encoding: {
            x: {
              field: "tokens",
              type: "quantitative",
              scale: { type: "log" },
              title: "training tokens (bytes)",
            },
            y: { field: "penalty", type: "quantitative", title: "loss − bf16 (nats per byte)" },
            color: { field: "config", type: "nominal", sort: plan.quant.map((q) => q.label) },
          },
        },
        { mark: { type: "rule", strokeDash: [4, 4] }, encoding: { y: { datum: 0 } } },
      ],
    },
  };
}

/**
 * Writes `<docs>/reproduce-scaling-law.md` with its figures and data under
 * `<docs>/reproduce-scaling-law/` (`runs.csv` for `plan fit`, `results.csv`, `summary.json`,
 * `predicted-vs-measured.svg`, `loss-vs-tokens.svg`, `penalty.svg`, each with its Vega-Lite spec
 * beside it: `predicted-vs-measured.vl.json`, …).
 *
 * @param docs folder of the page
 * @param plan the plan
 * @param results finished runs, in sweep order
 * @param ctx command, machine, data
 * @returns the summary
 * @example
 * ```ts ignore
 * await writeScalingReport("docs", plan, results, ctx);
 * ```
 */
export async function writeScalingReport(
  docs: string,
  plan: ScalingPlan,
  results: RunResult[],
  ctx: ScalingContext,
): Promise<ScalingSummary> {
  const dir = join(docs, "reproduce-scaling-law");
  await Deno.mkdir(dir, { recursive: true });
  const summary = summarizeScaling(plan, results);
  await Deno.writeTextFile(join(dir, "runs.csv"), scalingRunsCsv(results));
  await Deno.writeTextFile(join(dir, "results.csv"), scalingResultsCsv(results));
  await Deno.writeTextFile(
    join(dir, "summary.json"),
    JSON.stringify(
      { plan, ...ctx, ...summary },
      (_k, v) => typeof v === "number" && !Number.isFinite(v) ? null : v,
      2,
    ) + "\n",
  );
  if (summary.train.length) {
    await writeFigure(join(dir, "predicted-vs-measured.svg"), predictedFigure(summary));
  }
  await writeFigure(join(dir, "loss-vs-tokens.svg"), tokensFigure(plan, results));
  await writeFigure(join(dir, "penalty.svg"), penaltyFigure(plan, results));
  await Deno.writeTextFile(
    join(docs, "reproduce-scaling-law.md"),
    scalingMarkdown(plan, results, summary, ctx),
  );
  return summary;
}
