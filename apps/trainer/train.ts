/**
 * Trains one recipe: data-parallel ranks simulated in one process (each rank's gradient meets
 * the others through the FP8 all-reduce codec), AdamW with f32 master weights, the FP4 paper's
 * schedule, gradient clipping at 1, periodic validation, and the per-GEMM statistics of SPEC.md 17.
 *
 * @module
 */
import {
  backward,
  createModel,
  firstNonFinite,
  forward,
  initParams,
  linears,
  type LinearStats,
  type ModelConfig,
  type Recipe,
} from "@fp4lab/train";
import { checkDataset, type Dataset, sampleBatch, validationBatches } from "./data.ts";
import type { TrainState } from "./state.ts";
import {
  adamwStep,
  clipGradNorm,
  createAdamW,
  createLossScaler,
  exportAdamWState,
  fp8AllReduce,
  importAdamWState,
  lossScaleUpdate,
  lrAt,
  memoryReport,
  type Schedule,
  unscaleGrads,
} from "@fp4lab/mixed-optim";

/** Settings shared by every recipe of a run. */
export interface TrainOptions {
  /** model configuration */
  readonly config: ModelConfig;
  /** optimizer steps */
  readonly steps: number;
  /** sequences per step (over all ranks) */
  readonly batch: number;
  /** data-parallel ranks (divides batch) */
  readonly ranks: number;
  /** peak learning rate */
  readonly lr: number;
  /** seed of init, data order and stochastic rounding */
  readonly seed: number;
  /** validation points over the run (the last step always validates) */
  readonly evalPoints: number;
  /** validation windows per evaluation */
  readonly valWindows: number;
  /** hand a snapshot to `onSave` every this many steps and after the last one (issue 10) */
  readonly saveEvery?: number;
  /** receives the snapshots (checkpoint.ts writes them); called between steps */
  readonly onSave?: (state: TrainState) => void;
  /** continue from this snapshot instead of initialising (same recipe, settings and data) */
  readonly resume?: TrainState;
  /** steps the lr schedule spans (default `steps`); past it the rate stays at its floor */
  readonly scheduleSteps?: number;
}

/** One logged step. */
export interface StepRecord {
  /** 1-based step */
  step: number;
  /** training loss of the step's batch */
  loss: number;
  /** learning rate used */
  lr: number;
  /** validation loss, when evaluated at this step */
  valLoss: number | null;
  /** seconds since the start of the run */
  elapsed: number;
}

/** What a recipe's run produced. */
export interface RecipeResult {
  /** recipe name */
  recipe: string;
  /** every step */
  records: StepRecord[];
  /** mean training loss over the last 10% of steps */
  finalTrainLoss: number;
  /** validation loss at the end */
  valLoss: number;
  /** training tokens per second (wall clock of the training steps, validation excluded) */
  tokensPerSec: number;
  /** mean seconds per optimizer step */
  stepSeconds: number;
  /** bytes of master weights and optimizer state */
  memoryBytes: number;
  /** parameters */
  parameters: number;
  /** bytes all ranks together send per step in the FP8 ring all-reduce (0 for one rank) */
  allReduceBytesPerStep: number;
  /** steps skipped because gradients were not finite */
  skippedSteps: number;
  /** per linear layer: the last collected statistics */
  gemmStats: Record<string, LinearStats>;
  /** the trained parameters (flat, Hugging Face order) */
  params: Float32Array;
}

/** A non-finite loss: the CLI exits 1 with this message. */
export class TrainingFault extends Error {
  override name = "TrainingFault";
}

/** Progress callback: step done, its loss, tokens per second so far. */
export type OnStep = (step: number, loss: number, tokensPerSec: number) => void;

/**
 * Trains `recipe` on `data` and returns its curve and summary.
 *
 * @param recipe precision recipe
 * @param data data set
 * @param opts run settings
 * @param onStep progress callback
 * @returns the result
 * @throws {TrainingFault} when the loss is not finite, naming the step and the first layer
 *   where non-finite values appeared
 * @example
 * ```ts
 * import { trainRecipe } from "./train.ts";
 * import { PRESETS } from "@fp4lab/train";
 * import { markovSource } from "./data.ts";
 * import { RECIPES } from "@fp4lab/train";
 * const r = trainRecipe(RECIPES.fp32, markovSource(20000), {
 *   config: PRESETS.smoke, steps: 3, batch: 2, ranks: 1, lr: 1e-3, seed: 1, evalPoints: 1,
 *   valWindows: 4,
 * });
 * console.log(r.records.length); // 3
 * ```
 */
export function trainRecipe(
  recipe: Recipe,
  data: Dataset,
  opts: TrainOptions,
  onStep?: OnStep,
): RecipeResult {
  const { config, steps, batch, ranks, seed } = opts;
  const T = config.contextLength;
  checkDataset(data, batch, T);
  const perRank = batch / ranks;
  const model = createModel(config, recipe, perRank, T);
  const resume = opts.resume;
  if (resume) model.params.set(resume.params);
  else initParams(model, seed);
  const views = (buf: Float32Array) =>
    model.layout.params.map((p) => buf.subarray(p.offset, p.offset + p.size));
  const opt = resume ? importAdamWState(views(model.params), resume.optimizer) : createAdamW(
    views(model.params),
    {
      // Decay matrices (embeddings, projections, head), not norm gains.
      weightDecay: model.layout.params.map((p) => p.matrix ? 0.1 : 0),
      m1Format: recipe.optimizer.m1,
      m2Format: recipe.optimizer.m2,
    },
  );
  const memory = memoryReport(views(model.params), {
    m1Format: recipe.optimizer.m1,
    m2Format: recipe.optimizer.m2,
  });
  const schedule: Schedule = {
    kind: "cosine",
    peakLr: opts.lr,
    minLr: opts.lr * 0.1,
    warmupSteps: Math.max(1, Math.round(0.05 * (opts.scheduleSteps ?? steps))),
    totalSteps: opts.scheduleSteps ?? steps,
  };
  const scaler = resume
    ? { ...resume.scaler }
    : createLossScaler({ scale: 2 ** 10, growthInterval: 1000 });
  const rankGrads = ranks > 1
    ? Array.from({ length: ranks }, () => new Float32Array(model.layout.total))
    : [model.grads];
  const rankViews = rankGrads.map(views);
  const grads = rankViews[0];
  const tokens = new Int32Array(batch * T), targets = new Int32Array(batch * T);
  const valSets = validationBatches(data.val, perRank, T, opts.valWindows);
  const evalEvery = Math.max(1, Math.floor(steps / Math.max(1, opts.evalPoints)));
  const statsEvery = Math.max(1, Math.floor(steps / 4));
  const records: StepRecord[] = resume ? resume.records.map((r) => ({ ...r })) : [];
  const gemmStats: Record<string, LinearStats> = resume ? structuredClone(resume.gemmStats) : {};
  let trainSeconds = resume?.trainSeconds ?? 0, skipped = resume?.skippedSteps ?? 0;
  let consecutiveSkips = resume?.consecutiveSkips ?? 0;
  let allReduceBytes = resume?.allReduceBytesPerStep ?? 0;
  const t0 = performance.now() - 1000 * (records.at(-1)?.elapsed ?? 0);
  const saveEvery = opts.saveEvery ?? 0;

  const evaluate = () => {
    let sum = 0;
    for (const v of valSets) sum += forward(model, v.tokens, v.targets);
    return sum / valSets.length;
  };

  for (let s = resume?.step ?? 0; s < steps; s++) {
    const ts = performance.now();
    const collect = s === 0 || (s + 1) % statsEvery === 0 || s === steps - 1;
    const lr = lrAt(schedule, s);
    sampleBatch(data.train, batch, T, seed, s, tokens, targets);
    let loss = 0;
    for (let r = 0; r < ranks; r++) {
      const lo = r * perRank * T, hi = lo + perRank * T;
      model.grads.fill(0);
      const l = forward(model, tokens.subarray(lo, hi), targets.subarray(lo, hi), {
        training: true,
        step: s * ranks + r,
        collectStats: collect && r === 0,
      });
      if (!Number.isFinite(l)) {
        const where = firstNonFinite(model) ?? "the loss";
        throw new TrainingFault(
          `non-finite loss (${l}) at step ${
            s + 1
          } (recipe ${recipe.name}): first non-finite values in ${where}`,
        );
      }
      loss += l / ranks;
      backward(model, {
        step: s * ranks + r,
        collectStats: collect && r === 0,
        lossScale: scaler.scale,
      });
      if (ranks > 1) rankGrads[r].set(model.grads);
    }
    if (ranks > 1) allReduceBytes = fp8AllReduce(rankViews).totalBytes;
    // The loss scaler absorbs an overflow by skipping the step; a run of them is a fault.
    const finite = unscaleGrads(grads, scaler);
    if (lossScaleUpdate(scaler, finite)) {
      consecutiveSkips = 0;
      clipGradNorm(grads, 1);
      adamwStep(opt, grads, lr);
    } else {
      skipped++;
      if (++consecutiveSkips >= 5) {
        const bad = model.layout.params.find((_p, i) => grads[i].some((g) => !Number.isFinite(g)));
        throw new TrainingFault(
          `non-finite gradients for 5 steps in a row at step ${
            s + 1
          } (recipe ${recipe.name}), first in ${bad?.name ?? "?"}`,
        );
      }
    }
    trainSeconds += (performance.now() - ts) / 1000;
    if (collect) {
      for (const lin of linears(model)) gemmStats[lin.name] = structuredClone(lin.stats);
    }
    const valLoss = (s + 1) % evalEvery === 0 || s === steps - 1 ? evaluate() : null;
    records.push({ step: s + 1, loss, lr, valLoss, elapsed: (performance.now() - t0) / 1000 });
    onStep?.(s + 1, loss, ((s + 1) * batch * T) / trainSeconds);
    if (opts.onSave && saveEvery > 0 && ((s + 1) % saveEvery === 0 || s === steps - 1)) {
      opts.onSave({
        step: s + 1,
        params: model.params,
        optimizer: exportAdamWState(opt),
        scaler: { ...scaler },
        records,
        trainSeconds,
        skippedSteps: skipped,
        consecutiveSkips,
        allReduceBytesPerStep: allReduceBytes,
        gemmStats,
      });
    }
  }
  const tail = records.slice(-Math.max(1, Math.floor(steps / 10)));
  return {
    recipe: recipe.name,
    records,
    finalTrainLoss: tail.reduce((a, r) => a + r.loss, 0) / tail.length,
    valLoss: records[records.length - 1].valLoss!,
    tokensPerSec: (steps * batch * T) / trainSeconds,
    stepSeconds: trainSeconds / steps,
    memoryBytes: memory.weightsBytes + memory.optimizerBytes,
    parameters: model.layout.total,
    allReduceBytesPerStep: allReduceBytes,
    skippedSteps: skipped,
    gemmStats,
    params: model.params,
  };
}
