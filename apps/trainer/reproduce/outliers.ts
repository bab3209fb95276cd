/**
 * `deno task reproduce outliers`: the FP4 paper's failure mode made visible at CPU scale. Direct
 * W4A4 / W8A4 casting fails in large models because a few activation channels grow far above the
 * rest (the FP4 paper, section 3.2); tiny models trained briefly have none. This reproduction (a)
 * trains the `small` preset, whose MLP down-projection input already has a per-token crest
 * (max|a| / rms(a)) near 10, and (b) injects outliers under control: a few RMSNorm gain channels
 * of every block are frozen at a large value `g`, so the next GEMMs' inputs (q/k/v and gate/up)
 * carry outlier channels, and it asks at which crest direct casting breaks while outlier clamping
 * and compensation (OCC) holds.
 *
 * @module
 */
import { join } from "node:path";
import { type ModelConfig, paramLayout, presetByName, type Recipe, RECIPES } from "@fp4lab/train";
import type { Dataset } from "../data.ts";
import { writeFileAtomic } from "../../_shared/files.ts";
import { evalStepEquivalents, stepSeconds } from "./common.ts";
import { smooth, writeFigure } from "./plot.ts";
import {
  formatDifference,
  formatSpread,
  judgeFamily,
  type PairedDifference,
  pairedDifference,
  type Spread,
  spread,
} from "./stats.ts";
import type { RunResult, RunSpec } from "./sweep.ts";
import { type ClaimLine, claimsTable } from "./verdicts.ts";
import { fp4Variants } from "./variants.ts";

/** The grid of an outliers sweep, saved in the sweep folder so a resume keeps it. */
export interface OutliersPlan {
  /** which reproduction */
  readonly kind: "outliers";
  /** the `--quick` smoke version */
  readonly quick: boolean;
  /** preset of the injection part */
  readonly preset: string;
  /** preset of the natural-outlier part, or null to leave that part out */
  readonly naturalPreset: string | null;
  /** optimizer steps per run (injection part) */
  readonly steps: number;
  /** optimizer steps per run of the natural part */
  readonly naturalSteps: number;
  /** sequences per step */
  readonly batch: number;
  /** peak learning rate (injection part; the natural part uses the preset's usual rate) */
  readonly lr: number;
  /** peak learning rate of the natural part */
  readonly naturalLr: number;
  /** seeds */
  readonly seeds: number[];
  /** the frozen gain values injected (1 = no injection) */
  readonly gains: number[];
  /** how many channels of each injected RMSNorm gain are frozen */
  readonly channels: number;
  /** the recipes (names of {@link outlierRecipes}) */
  readonly recipes: string[];
  /** validation points per run */
  readonly evalPoints: number;
  /** validation windows per evaluation */
  readonly valWindows: number;
  /** the budget the steps were chosen for, or null */
  readonly budgetMinutes: number | null;
  /** measured seconds per step (injection preset, natural preset) when a budget chose the steps */
  readonly calibration: { injected: number; natural: number } | null;
}

/**
 * The recipes of the outliers reproduction: bf16 (reference), the direct casts (W4A4 `fp4-direct`,
 * W8A4 `w8a4-direct`) and the OCC recipes (`fp4` at α = 0.99, `fp4-occ-0.97`, `w8a4-occ-0.99`,
 * `w8a4-occ-0.97`).
 *
 * @returns name -> recipe, in report order
 * @example
 * ```ts
 * import { outlierRecipes } from "./outliers.ts";
 * import assert from "node:assert/strict";
 * const r = outlierRecipes();
 * assert.equal(r["fp4-occ-0.97"].linear.occ?.alpha, 0.97);
 * assert.equal(r["fp4-direct"].linear.occ, null);
 * ```
 */
export function outlierRecipes(): Record<string, Recipe> {
  const v = Object.fromEntries(fp4Variants().map((x) => [x.recipe.name, x.recipe]));
  const fp4 = RECIPES.fp4;
  return {
    bf16: RECIPES.bf16,
    "fp4-direct": RECIPES["fp4-direct"],
    fp4,
    "fp4-occ-0.97": {
      ...fp4,
      name: "fp4-occ-0.97",
      description: "fp4 with OCC at a=0.97",
      linear: { ...fp4.linear, occ: { alpha: 0.97, scope: "row" } },
    },
    "w8a4-direct": v["w8a4-direct"],
    "w8a4-occ-0.99": v["w8a4-occ-0.99"],
    "w8a4-occ-0.97": v["w8a4-occ-0.97"],
  };
}

/** The recipes compared in the natural-outlier part (the `small` preset). */
const NATURAL_RECIPES = ["bf16", "fp4-direct", "fp4"];
/** OCC recipes and the direct cast each is compared with. */
const OCC_PAIRS: [string, string][] = [
  ["fp4", "fp4-direct"],
  ["fp4-occ-0.97", "fp4-direct"],
  ["w8a4-occ-0.99", "w8a4-direct"],
  ["w8a4-occ-0.97", "w8a4-direct"],
];

/**
 * The frozen entries that inject outliers: in every decoder block, `channels` channels of the
 * `input_layernorm` gain (feeding q/k/v) and of the `post_attention_layernorm` gain (feeding
 * gate/up) held at `gain`; the same channel indices in every block, spread evenly over the hidden
 * size, as real outlier channels recur across layers. A row of D values with one channel g times
 * the rest has a crest of at most √D, whatever g.
 *
 * @param config the model
 * @param gain the frozen value (1 = no injection: nothing frozen)
 * @param channels channels per gain vector
 * @returns flat parameter indices and values for `createTrainer`'s `frozen`
 * @example
 * ```ts
 * import { injectedGains } from "./outliers.ts";
 * import { PRESETS } from "@fp4lab/train";
 * import assert from "node:assert/strict";
 * const f = injectedGains(PRESETS.smoke, 16, 1);
 * assert.equal(f.length, 2 * PRESETS.smoke.numLayers);
 * assert.ok(f.every((x) => x.value === 16));
 * assert.deepEqual(injectedGains(PRESETS.smoke, 1, 1), []);
 * ```
 */
export function injectedGains(
  config: ModelConfig,
  gain: number,
  channels: number,
): { index: number; value: number }[] {
  if (gain === 1) return [];
  const D = config.hiddenSize;
  if (!Number.isInteger(channels) || channels < 1 || channels > D) {
    throw new RangeError(`channels must be an integer in [1, ${D}], got ${channels}`);
  }
  const picks = Array.from({ length: channels }, (_, i) => Math.floor((i + 0.5) * D / channels));
  const layout = paramLayout(config);
  return layout.layers.flatMap((l) =>
    [l.ln1, l.ln2].flatMap((offset) => picks.map((c) => ({ index: offset + c, value: gain })))
  );
}

/** Options of {@link outliersPlan}. */
export interface OutliersPlanOptions {
  /** smoke preset, few steps, two gains, three recipes, no natural part */
  readonly quick: boolean;
  /** choose the step count so the sweep fits this many minutes */
  readonly budgetMinutes: number | null;
  /** seeds (default 2) */
  readonly seeds?: number;
  /** fixed step count of the injection part (overrides the budget) */
  readonly steps?: number;
  /** seconds per step of the injection and natural presets (default: measured now) */
  readonly calibration?: { readonly injected: number; readonly natural: number };
}

/**
 * Chooses the grid: the injection part on `tiny` over gains 1 (none), 6, 12, 24, 48 (crest about
 * 3 to 11, its ceiling √128) and the seven {@link outlierRecipes}; the natural part on `small`
 * with bf16, fp4-direct and fp4. With `--budget-minutes` the injection part gets 70% of the time.
 *
 * @param opts quick / budget / seeds / steps
 * @param data data set (for the timing runs)
 * @returns the plan
 * @example
 * ```ts ignore
 * const plan = await outliersPlan({ quick: true, budgetMinutes: null }, data);
 * ```
 */
export async function outliersPlan(
  opts: OutliersPlanOptions,
  data: Dataset,
): Promise<OutliersPlan> {
  const quick = opts.quick;
  const preset = quick ? "smoke" : "tiny";
  const naturalPreset = quick ? null : "small";
  const seedCount = opts.seeds ?? 2;
  const seeds = Array.from({ length: seedCount }, (_, i) => i + 1);
  const recipes = quick ? ["bf16", "fp4-direct", "fp4"] : Object.keys(outlierRecipes());
  const gains = quick ? [1, 16] : [1, 6, 12, 24, 48];
  const batch = 4;
  const evalPoints = 2;
  const valWindows = quick ? 8 : 64;
  let steps = opts.steps ?? (quick ? 8 : 300);
  let naturalSteps = quick ? 0 : 200;
  let calibration: OutliersPlan["calibration"] = null;
  if (opts.budgetMinutes !== null && opts.steps === undefined) {
    const cfg = presetByName(preset);
    const injected = opts.calibration?.injected ??
      await stepSeconds(RECIPES.fp4, cfg, batch, data);
    const natural = naturalPreset === null ? 0 : opts.calibration?.natural ??
      await stepSeconds(RECIPES.fp4, presetByName(naturalPreset), batch, data);
    calibration = { injected, natural };
    const seconds = opts.budgetMinutes * 60 * 0.9;
    const runs = recipes.length * gains.length * seedCount;
    const evalCost = runs * evalPoints * evalStepEquivalents(valWindows, batch) * injected;
    const share = naturalPreset === null ? 1 : 0.7;
    steps = Math.max(10, Math.floor((seconds * share - evalCost - runs * 0.3) / (runs * injected)));
    if (naturalPreset !== null) {
      const nRuns = NATURAL_RECIPES.length * seedCount;
      naturalSteps = Math.max(
        10,
        Math.floor(seconds * (1 - share) / (nRuns * natural * 1.1)),
      );
    }
  }
  return {
    kind: "outliers",
    quick,
    preset,
    naturalPreset,
    steps,
    naturalSteps,
    batch,
    lr: 2e-3,
    naturalLr: 1e-3,
    seeds,
    gains,
    channels: 1,
    recipes,
    evalPoints,
    valWindows,
    budgetMinutes: opts.budgetMinutes,
    calibration,
  };
}

/**
 * The runs of a plan: seed-major, then gain, then recipe (a sweep stopped early holds complete
 * comparisons), then the natural part (`small-<recipe>-s<seed>`).
 *
 * @param plan the plan
 * @returns the specs
 * @example
 * ```ts ignore
 * const specs = outliersSpecs(plan);
 * ```
 */
export function outliersSpecs(plan: OutliersPlan): RunSpec[] {
  const recipes = outlierRecipes();
  const config = presetByName(plan.preset);
  const specs: RunSpec[] = [];
  for (const seed of plan.seeds) {
    for (const gain of plan.gains) {
      const frozen = injectedGains(config, gain, plan.channels);
      for (const name of plan.recipes) {
        specs.push({
          id: `${name}-g${gain}-s${seed}`,
          recipe: recipes[name],
          config,
          steps: plan.steps,
          batch: plan.batch,
          lr: plan.lr,
          seed,
          evalPoints: plan.evalPoints,
          valWindows: plan.valWindows,
          ...(frozen.length ? { frozen } : {}),
          meta: { part: "injected", gain },
        });
      }
    }
  }
  if (plan.naturalPreset !== null) {
    const natural = presetByName(plan.naturalPreset);
    for (const seed of plan.seeds) {
      for (const name of NATURAL_RECIPES) {
        specs.push({
          id: `${plan.naturalPreset}-${name}-s${seed}`,
          recipe: recipes[name],
          config: natural,
          steps: plan.naturalSteps,
          batch: plan.batch,
          lr: plan.naturalLr,
          seed,
          evalPoints: plan.evalPoints,
          valWindows: plan.valWindows,
          meta: { part: "natural", gain: 1 },
        });
      }
    }
  }
  return specs;
}

/** Estimated seconds of a run for the ETA. */
export function outliersEstimate(plan: OutliersPlan): (spec: RunSpec) => number {
  const cal = plan.calibration ?? { injected: 1, natural: 5 };
  return (spec) =>
    (spec.meta.part === "natural" ? cal.natural : cal.injected) *
    (spec.steps + spec.evalPoints * evalStepEquivalents(spec.valWindows, spec.batch));
}

/** Layer kinds by their input: q/k/v, o, gate/up, down. */
const KINDS: [string, RegExp][] = [
  ["qkv", /qkv_proj$/],
  ["o", /o_proj$/],
  ["gate_up", /gate_up_proj$/],
  ["down", /down_proj$/],
];

/**
 * Crest of a run's forward activations by layer kind: mean over blocks and over the steps that
 * collected statistics (and the last step alone).
 *
 * @param run a finished run
 * @returns per kind (`qkv`, `o`, `gate_up`, `down`): mean crest over training and at the end
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { crestByKind } from "./outliers.ts";
 * const run = { statsHistory: [{ step: 1, layers: {
 *   "model.layers.0.mlp.down_proj": { crestMean: 4, crestMax: 9, occSparsity: null } } }] };
 * assert.deepEqual(crestByKind(run).down, { overTraining: 4, atEnd: 4, max: 9 });
 * ```
 */
export function crestByKind(
  run: Pick<RunResult, "statsHistory">,
): Record<string, { overTraining: number; atEnd: number; max: number }> {
  const out: Record<string, { overTraining: number; atEnd: number; max: number }> = {};
  const hist = run.statsHistory ?? [];
  for (const [kind, re] of KINDS) {
    const per = hist.map((h) =>
      Object.entries(h.layers).filter(([n]) => re.test(n)).map(([, s]) => s)
    ).filter((x) => x.length);
    if (per.length === 0) continue;
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    out[kind] = {
      overTraining: mean(per.map((ls) => mean(ls.map((s) => s.crestMean)))),
      atEnd: mean(per[per.length - 1].map((s) => s.crestMean)),
      max: Math.max(...per.flatMap((ls) => ls.map((s) => s.crestMax))),
    };
  }
  return out;
}

/** One recipe at one gain. */
export interface OutlierCell {
  /** recipe */
  recipe: string;
  /** frozen gain (1 = none) */
  gain: number;
  /** validation loss over seeds (diverged runs counted in `nonFinite`) */
  valLoss: Spread;
  /** paired gap to bf16 at the same gain */
  gap: PairedDifference | null;
  /** crest of the injected layers' inputs (q/k/v and gate/up), mean over training, blocks, seeds */
  crest: number;
  /** mean OCC sparsity at the last collected step, or null */
  occSparsity: number | null;
}

/** What the outliers page holds (also `summary.json`). */
export interface OutliersSummary {
  /** the injection part */
  cells: OutlierCell[];
  /** the natural part (small preset): per recipe, loss and gap; per layer kind, crest (bf16) */
  natural: {
    cells: OutlierCell[];
    crest: Record<string, { overTraining: number; atEnd: number; max: number }>;
  } | null;
  /** per gain: does OCC beat the direct cast (Holm over every line) */
  checks: ClaimLine[];
  /** per gain: did direct W4A4 fail (the page's rule), and at what crest */
  failure: { gain: number; crest: number; failed: boolean; why: string }[];
  /** the smallest crest at which direct W4A4 failed, or null */
  smallestFailingCrest: number | null;
  /** runs finished of planned */
  runs: { finished: number; planned: number; diverged: number };
}

/** The gap to bf16 above which a significantly worse direct cast counts as failed (nats/byte). */
export const FAILURE_GAP = 0.05;

function mean(xs: number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
}

function cellsOf(
  seeds: number[],
  recipes: string[],
  gain: number,
  pick: (recipe: string, seed: number) => RunResult | null,
): OutlierCell[] {
  return recipes.flatMap((recipe) => {
    const runs = seeds.map((s) => pick(recipe, s));
    const done = runs.filter((r): r is RunResult => r !== null);
    if (done.length === 0) return [];
    const base = seeds.map((s) => pick("bf16", s));
    const keep = runs.map((r, i) => r !== null && base[i] !== null);
    const crest = done.flatMap((r) => {
      const c = crestByKind(r);
      return [c.qkv?.overTraining, c.gate_up?.overTraining].filter((x): x is number =>
        x !== undefined
      );
    });
    const occ = done.flatMap((r) => r.occSparsity === null ? [] : [r.occSparsity]);
    return [{
      recipe,
      gain,
      valLoss: spread(done.map((r) => r.valLoss)),
      gap: recipe === "bf16" || !keep.some((k) => k) ? null : pairedDifference(
        runs.filter((_r, i) => keep[i]).map((r) => r!.valLoss),
        base.filter((_r, i) => keep[i]).map((r) => r!.valLoss),
      ),
      crest: mean(crest),
      occSparsity: occ.length ? mean(occ) : null,
    }];
  });
}

/**
 * Summarizes the runs: per gain and recipe the loss, the gap to bf16, the crest reached and OCC's
 * sparsity; per gain whether OCC beats the direct cast (judged together, Holm); and the smallest
 * crest at which direct W4A4 casting failed. *Failed* means: it diverged in every seed, or its
 * gap to bf16 is at least {@link FAILURE_GAP} and it is significantly worse than `fp4` (OCC) at
 * that gain.
 *
 * @param plan the plan
 * @param results finished runs
 * @returns the summary
 * @example
 * ```ts ignore
 * const s = summarizeOutliers(plan, results);
 * ```
 */
export function summarizeOutliers(plan: OutliersPlan, results: RunResult[]): OutliersSummary {
  const find = (part: string, gain: number) => (recipe: string, seed: number) =>
    results.find((r) =>
      r.meta.part === part && Number(r.meta.gain) === gain && r.recipe === recipe &&
      r.seed === seed
    ) ?? null;
  const cells = plan.gains.flatMap((g) =>
    cellsOf(plan.seeds, plan.recipes, g, find("injected", g))
  );
  let natural: OutliersSummary["natural"] = null;
  if (plan.naturalPreset !== null) {
    const pick = find("natural", 1);
    const nCells = cellsOf(plan.seeds, NATURAL_RECIPES, 1, pick);
    const bf = plan.seeds.map((s) => pick("bf16", s)).filter((r): r is RunResult => r !== null);
    const crest: Record<string, { overTraining: number; atEnd: number; max: number }> = {};
    for (const [kind] of KINDS) {
      const per = bf.map((r) => crestByKind(r)[kind]).filter((x) => x !== undefined);
      if (per.length) {
        crest[kind] = {
          overTraining: mean(per.map((x) => x.overTraining)),
          atEnd: mean(per.map((x) => x.atEnd)),
          max: Math.max(...per.map((x) => x.max)),
        };
      }
    }
    if (nCells.length) natural = { cells: nCells, crest };
  }
  // Claims: at every gain, each OCC recipe beats its direct cast (paired by seed).
  const asked: { claim: string; worse: string; better: string; gain: number }[] = [];
  for (const g of plan.gains) {
    for (const [occ, direct] of OCC_PAIRS) {
      if (plan.recipes.includes(occ) && plan.recipes.includes(direct)) {
        asked.push({
          claim: `${g === 1 ? "no injection" : `gain ${g}`}: OCC beats the direct cast`,
          worse: direct,
          better: occ,
          gain: g,
        });
      }
    }
  }
  const losses = (recipe: string, g: number) =>
    plan.seeds.map((s) => find("injected", g)(recipe, s));
  const judged = judgeFamily(asked.map((c) => {
    const w = losses(c.worse, c.gain), b = losses(c.better, c.gain);
    const keep = w.map((r, i) => r !== null && b[i] !== null);
    return {
      worse: w.filter((_r, i) => keep[i]).map((r) => r!.valLoss),
      better: b.filter((_r, i) => keep[i]).map((r) => r!.valLoss),
    };
  }));
  const checks: ClaimLine[] = asked.map((c, i) => ({
    ...judged[i],
    claim: c.claim,
    worse: c.worse,
    better: c.better,
  }));
  const failure: OutliersSummary["failure"] = [];
  for (const g of plan.gains) {
    const direct = cells.find((c) => c.recipe === "fp4-direct" && c.gain === g);
    if (!direct) continue;
    const at = asked.findIndex((c) =>
      c.worse === "fp4-direct" && c.better === "fp4" && c.gain === g
    );
    const vsOcc = at >= 0 ? checks[at] : undefined;
    const allDiverged = direct.valLoss.n === 0 && direct.valLoss.nonFinite > 0;
    const gap = direct.gap?.diff ?? NaN;
    const failed = allDiverged ||
      (gap >= FAILURE_GAP && vsOcc !== undefined && vsOcc.verdict === "agrees");
    failure.push({
      gain: g,
      crest: direct.crest,
      failed,
      why: allDiverged
        ? "diverged in every seed"
        : `gap to bf16 ${Number.isFinite(gap) ? gap.toFixed(3) : "—"}; against OCC: ${
          vsOcc?.verdict ?? "not compared"
        }`,
    });
  }
  const failing = failure.filter((f) => f.failed && Number.isFinite(f.crest));
  return {
    cells,
    natural,
    checks,
    failure,
    smallestFailingCrest: failing.length ? Math.min(...failing.map((f) => f.crest)) : null,
    runs: {
      finished: results.length,
      planned: outliersSpecs(plan).length,
      diverged: results.filter((r) => r.fault !== null).length,
    },
  };
}

/** What the page needs besides the runs. */
export interface OutliersContext {
  /** the commands that produced the runs */
  command: string;
  /** CPU model line */
  machine: string;
  /** data description */
  data: string;
}

const pct = (x: number | null) => x === null ? "—" : `${(100 * x).toFixed(2)}%`;
const f2 = (x: number) => Number.isFinite(x) ? x.toFixed(2) : "—";

function cellText(c: OutlierCell | undefined): string {
  if (!c) return "—";
  if (c.valLoss.n === 0) return "diverged";
  const div = c.valLoss.nonFinite ? ` (${c.valLoss.nonFinite} diverged)` : "";
  return c.gap ? formatDifference(c.gap, 3) + div : formatSpread(c.valLoss, 3) + div;
}

/**
 * Renders the page's Markdown.
 *
 * @param plan the plan
 * @param s the summary
 * @param ctx commands, machine, data
 * @returns Markdown
 * @example
 * ```ts ignore
 * const md = outliersMarkdown(plan, summary, ctx);
 * ```
 */
export function outliersMarkdown(
  plan: OutliersPlan,
  s: OutliersSummary,
  ctx: OutliersContext,
): string {
  const cfg = presetByName(plan.preset);
  const L: string[] = [
    "# Outliers made visible: where direct FP4 casting fails and OCC holds",
    "",
    "The FP4 paper (arXiv 2501.17116, section 3.2) clamps activation outliers (OCC)",
    "because a few channels of large models grow far above the rest, and direct casting to FP4",
    "then flushes everything else to zero. Models trained for minutes on a CPU have no such",
    "channels, so this page makes them: in every decoder block, " +
    `${plan.channels} channel${plan.channels > 1 ? "s" : ""} of the two RMSNorm gains ` +
    "(feeding q/k/v and gate/up) are frozen at a gain g, and the same runs are trained in",
    "every recipe. This page is generated by `deno task reproduce outliers`; do not edit it by",
    "hand.",
    "",
    `- commands: \`${ctx.command}\``,
    `- machine: ${ctx.machine}`,
    `- injection: preset \`${plan.preset}\` (hidden ${cfg.hiddenSize}), ${plan.steps} steps x ` +
    `${plan.batch} sequences, lr ${plan.lr}, seeds ${plan.seeds.join(", ")}, gains ${
      plan.gains.join(", ")
    } (1 = none)` +
    (plan.budgetMinutes === null ? "" : ` (steps chosen for ${plan.budgetMinutes} minutes)`),
    plan.naturalPreset === null
      ? "- natural outliers: not run in this plan"
      : `- natural outliers: preset \`${plan.naturalPreset}\`, ${plan.naturalSteps} steps, lr ${plan.naturalLr}`,
    `- data: ${ctx.data}`,
    `- runs: ${s.runs.finished} of ${s.runs.planned} finished` +
    (s.runs.diverged ? `, ${s.runs.diverged} diverged` : ""),
    "",
    `**What the crest can reach here.** Crest = max|a| / rms(a) of a token's row. One channel g`,
    `times larger than the rest gives a crest below √D however large g is: √${cfg.hiddenSize} = ${
      Math.sqrt(cfg.hiddenSize).toFixed(1)
    } for this model's q/k/v and gate/up inputs. The paper's 1.3B model (hidden 2048) allows`,
    "crests up to 45; crests of 20-50 need rows that wide, so they are out of reach at CPU scale.",
    "",
    "## Injected outliers",
    "",
  ];
  const verdict = s.smallestFailingCrest === null
    ? `**Direct W4A4 casting did not fail at any crest reached here** (up to ${
      f2(Math.max(...s.failure.map((f) => f.crest)))
    }).`
    : `**Direct W4A4 casting fails from a crest of about ${
      f2(s.smallestFailingCrest)
    } here** (gain ${s.failure.find((f) => f.failed)?.gain}).`;
  L.push(
    verdict + ` *Fails* means: diverged in every seed, or a validation loss at least ` +
      `${FAILURE_GAP} nats/byte above bf16 and significantly above \`fp4\` (OCC) at that gain.`,
    "",
    "Each cell is the validation loss minus bf16 at the same gain, paired by seed: mean [95%",
    "interval] (bf16's own loss in its row). Crest: the q/k/v and gate/up inputs of the",
    "`fp4-direct` runs, mean over blocks, tokens and the steps that collected statistics.",
    "",
    `| gain | crest | ${plan.recipes.map((r) => `\`${r}\``).join(" | ")} | direct W4A4 |`,
    `| ---: | ---: | ${plan.recipes.map(() => "---:").join(" | ")} | --- |`,
  );
  for (const g of plan.gains) {
    const f = s.failure.find((x) => x.gain === g);
    L.push(
      `| ${g} | ${f2(f?.crest ?? NaN)} | ${
        plan.recipes.map((r) => cellText(s.cells.find((c) => c.recipe === r && c.gain === g)))
          .join(" | ")
      } | ${f ? (f.failed ? `**fails** (${f.why})` : `holds (${f.why})`) : "—"} |`,
    );
  }
  L.push(
    "",
    "![training loss by gain](reproduce-outliers/loss.svg)",
    "",
    "![crest per layer over training](reproduce-outliers/crest.svg)",
    "",
    "### OCC: share of activations clamped",
    "",
    "| gain | " +
      plan.recipes.filter((r) => r.includes("occ") || r === "fp4").map((r) => `\`${r}\``).join(
        " | ",
      ) + " |",
    "| ---: | " + plan.recipes.filter((r) => r.includes("occ") || r === "fp4").map(() => "---:")
      .join(" | ") +
      " |",
  );
  for (const g of plan.gains) {
    L.push(
      `| ${g} | ${
        plan.recipes.filter((r) => r.includes("occ") || r === "fp4").map((r) =>
          pct(s.cells.find((c) => c.recipe === r && c.gain === g)?.occSparsity ?? null)
        ).join(" | ")
      } |`,
    );
  }
  L.push(
    "",
    "The residual ΔA·W of OCC runs in f32 in these runs; the paper runs it in FP8, which recipes",
    'can ask for with `occ.residual: "E4M3"` (docs/recipes.md).',
    "",
  );
  if (s.natural) {
    L.push(
      `## Natural outliers: the \`${plan.naturalPreset}\` preset`,
      "",
      "Crest of each layer kind's input in the bf16 runs (mean over blocks, tokens and the",
      "collected steps; max over everything):",
      "",
      "| layer input | crest over training | crest at the end | max |",
      "| --- | ---: | ---: | ---: |",
    );
    for (const [kind, c] of Object.entries(s.natural.crest)) {
      L.push(`| ${kind} | ${f2(c.overTraining)} | ${f2(c.atEnd)} | ${f2(c.max)} |`);
    }
    L.push(
      "",
      "| recipe | val loss | gap to bf16 [95% interval] |",
      "| --- | ---: | ---: |",
    );
    for (const c of s.natural.cells) {
      L.push(
        `| \`${c.recipe}\` | ${formatSpread(c.valLoss, 4)} | ${
          c.gap ? formatDifference(c.gap, 4) : "—"
        } |`,
      );
    }
    L.push("");
  }
  L.push("## OCC against the direct cast", "");
  L.push(...claimsTable(s.checks, "nats per byte of validation loss at the same gain"));
  L.push(
    "Per-run numbers: [reproduce-outliers/runs.csv](reproduce-outliers/runs.csv); summary: " +
      "[reproduce-outliers/summary.json](reproduce-outliers/summary.json).",
  );
  return L.join("\n") + "\n";
}

function lossFigure(plan: OutliersPlan, results: RunResult[]): Record<string, unknown> {
  const values: Record<string, unknown>[] = [];
  const window = Math.max(1, Math.round(plan.steps / 20));
  for (const g of plan.gains) {
    for (const recipe of plan.recipes) {
      const runs = results.filter((r) =>
        r.meta.part === "injected" && Number(r.meta.gain) === g && r.recipe === recipe &&
        r.curve.length
      );
      if (!runs.length) continue;
      const len = Math.min(...runs.map((r) => r.curve.length));
      const avg = Array.from({ length: len }, (_, i) => mean(runs.map((r) => r.curve[i].loss)));
      smooth(avg, window).forEach((loss, i) => {
        if (Number.isFinite(loss)) values.push({ step: i + 1, loss, recipe, gain: `gain ${g}` });
      });
    }
  }
  return {
    title: "training loss by injected gain (mean over seeds, smoothed)",
    data: { values },
    facet: {
      field: "gain",
      type: "nominal",
      title: null,
      sort: plan.gains.map((g) => `gain ${g}`),
    },
    columns: 3,
    spec: {
      width: 220,
      height: 160,
      mark: "line",
      encoding: {
        x: { field: "step", type: "quantitative" },
        y: {
          field: "loss",
          type: "quantitative",
          scale: { zero: false },
          title: "loss (nats/byte)",
        },
        color: { field: "recipe", type: "nominal", sort: plan.recipes },
      },
    },
  };
}

function crestFigure(plan: OutliersPlan, results: RunResult[]): Record<string, unknown> {
  const values: Record<string, unknown>[] = [];
  for (const g of plan.gains) {
    const runs = results.filter((r) =>
      r.meta.part === "injected" && Number(r.meta.gain) === g && r.recipe === "fp4-direct"
    );
    for (const r of runs) {
      for (const h of r.statsHistory ?? []) {
        for (const [name, st] of Object.entries(h.layers)) {
          if (name === "lm_head") continue;
          values.push({
            step: h.step,
            crest: st.crestMean,
            layer: name.replace("model.layers.", "L").replace(/\.(self_attn|mlp)\./, " "),
            gain: `gain ${g}`,
            seed: r.seed,
          });
        }
      }
    }
  }
  return {
    title: "crest of each layer's input over training (fp4-direct runs, seed 1)",
    data: { values: values.filter((v) => v.seed === plan.seeds[0]) },
    facet: {
      field: "gain",
      type: "nominal",
      title: null,
      sort: plan.gains.map((g) => `gain ${g}`),
    },
    columns: 3,
    spec: {
      width: 220,
      height: 160,
      mark: { type: "line", point: true },
      encoding: {
        x: { field: "step", type: "quantitative" },
        y: { field: "crest", type: "quantitative", title: "crest (max|a| / rms a)" },
        color: { field: "layer", type: "nominal" },
      },
    },
  };
}

/**
 * Per-run rows as CSV.
 *
 * @param results finished runs
 * @returns CSV: id,part,recipe,gain,seed,steps,val_loss,crest_qkv,crest_gate_up,crest_down,occ_sparsity,fault
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { outliersRunsCsv } from "./outliers.ts";
 * assert.equal(outliersRunsCsv([]).split(",")[0], "id");
 * ```
 */
export function outliersRunsCsv(results: RunResult[]): string {
  const head =
    "id,part,recipe,gain,seed,steps,val_loss,crest_qkv,crest_gate_up,crest_down,occ_sparsity,fault";
  const lines = results.map((r) => {
    const c = crestByKind(r);
    const x = (v: number | undefined) => v === undefined ? "" : v.toFixed(4);
    return [
      r.id,
      r.meta.part,
      r.recipe,
      r.meta.gain,
      r.seed,
      r.steps,
      Number.isFinite(r.valLoss) ? r.valLoss : "",
      x(c.qkv?.overTraining),
      x(c.gate_up?.overTraining),
      x(c.down?.overTraining),
      r.occSparsity ?? "",
      r.fault ? JSON.stringify(r.fault.replace(/,/g, ";")) : "",
    ].join(",");
  });
  return [head, ...lines].join("\n") + "\n";
}

/**
 * Writes `<docs>/reproduce-outliers.md` with `loss.svg`, `crest.svg`, `runs.csv` and
 * `summary.json` under `<docs>/reproduce-outliers/`.
 *
 * @param docs folder of the page
 * @param plan the plan
 * @param results finished runs
 * @param ctx commands, machine, data
 * @returns the summary
 * @example
 * ```ts ignore
 * await writeOutliersReport("docs", plan, results, ctx);
 * ```
 */
export async function writeOutliersReport(
  docs: string,
  plan: OutliersPlan,
  results: RunResult[],
  ctx: OutliersContext,
): Promise<OutliersSummary> {
  const dir = join(docs, "reproduce-outliers");
  await Deno.mkdir(dir, { recursive: true });
  const summary = summarizeOutliers(plan, results);
  writeFileAtomic(join(dir, "runs.csv"), outliersRunsCsv(results));
  writeFileAtomic(
    join(dir, "summary.json"),
    JSON.stringify(
      { plan, ...ctx, ...summary },
      (_k, v) => typeof v === "number" && !Number.isFinite(v) ? null : v,
      2,
    ) + "\n",
  );
  await writeFigure(join(dir, "loss.svg"), lossFigure(plan, results));
  await writeFigure(join(dir, "crest.svg"), crestFigure(plan, results));
  writeFileAtomic(join(docs, "reproduce-outliers.md"), outliersMarkdown(plan, summary, ctx));
  return summary;
}
