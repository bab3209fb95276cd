/**
 * Trains one recipe on a data set: the engine's trainer (`@fp4lab/train`'s `createTrainer`) fed
 * with this app's batches, periodic validation, the loss curve, timing, and the snapshots the
 * checkpoints are written from.
 *
 * @module
 */
import {
  type Backend,
  createTrainer,
  type LinearStats,
  type ModelConfig,
  type Recipe,
  TrainingFault,
} from "@fp4lab/train";
import { checkDataset, type Dataset, sampleBatch, validationBatches } from "./data.ts";
import type { TrainState } from "./state.ts";

export { TrainingFault };

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
  /** where to run (default: a new `cpu` backend) */
  readonly backend?: Backend;
  /** steps the lr schedule spans (default `steps`); past it the rate stays at its floor */
  readonly scheduleSteps?: number;
  /** receives the per-layer GEMM statistics of every step that collects them (about 5 a run) */
  readonly onStats?: (step: number, stats: Readonly<Record<string, LinearStats>>) => void;
  /** parameters held at a fixed value (see `createTrainer`'s `frozen`) */
  readonly frozen?: readonly { readonly index: number; readonly value: number }[];
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
  /** each validation window's mean loss at the end (for the standard error) */
  valPerSequence: Float64Array;
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
 * import assert from "node:assert/strict";
 * import { trainRecipe } from "./train.ts";
 * import { PRESETS, RECIPES } from "@fp4lab/train";
 * import { markovSource } from "./data.ts";
 * const r = await trainRecipe(RECIPES.fp32, markovSource(20000), {
 *   config: PRESETS.smoke, steps: 3, batch: 2, ranks: 1, lr: 1e-3, seed: 1, evalPoints: 1,
 *   valWindows: 4,
 * });
 * assert.equal(r.records.length, 3); // one record a step
 * ```
 */
export async function trainRecipe(
  recipe: Recipe,
  data: Dataset,
  opts: TrainOptions,
  onStep?: OnStep,
): Promise<RecipeResult> {
  const { config, steps, batch, ranks, seed } = opts;
  const T = config.contextLength;
  checkDataset(data, batch, T);
  const perRank = batch / ranks;
  const resume = opts.resume;
  const trainer = createTrainer({
    config,
    recipe,
    batch,
    ranks,
    lr: opts.lr,
    // The schedule spans the planned steps; an extended run trains on at its floor rate.
    steps: opts.scheduleSteps ?? steps,
    seed,
    backend: opts.backend,
    resume,
    frozen: opts.frozen,
  });
  const tokens = new Int32Array(batch * T), targets = new Int32Array(batch * T);
  const valSets = validationBatches(data.val, perRank, T, opts.valWindows);
  // The validation points before the last use an evenly spaced subset of the final set (about
  // 48 windows): the curve's shape for a fraction of the cost; the final point uses every window.
  const stride = Math.max(1, Math.floor(valSets.length / Math.ceil(48 / perRank)));
  const quickSets = valSets.filter((_v, i) => i % stride === 0);
  let valPerSequence: Float64Array = new Float64Array(0);
  const evalEvery = Math.max(1, Math.floor(steps / Math.max(1, opts.evalPoints)));
  const statsEvery = Math.max(1, Math.floor(steps / 4));
  const records: StepRecord[] = resume ? resume.records.map((r) => ({ ...r })) : [];
  const gemmStats: Record<string, LinearStats> = resume ? structuredClone(resume.gemmStats) : {};
  let trainSeconds = resume?.trainSeconds ?? 0;
  const t0 = performance.now() - 1000 * (records.at(-1)?.elapsed ?? 0);
  const saveEvery = opts.saveEvery ?? 0;

  try {
    for (let s = resume?.step ?? 0; s < steps; s++) {
      const ts = performance.now();
      const collect = s === 0 || (s + 1) % statsEvery === 0 || s === steps - 1;
      sampleBatch(data.train, batch, T, seed, s, tokens, targets);
      const { loss, lr } = await trainer.trainStep(tokens, targets, { collectStats: collect });
      trainSeconds += (performance.now() - ts) / 1000;
      if (collect) {
        Object.assign(gemmStats, structuredClone(trainer.stats));
        opts.onStats?.(s + 1, trainer.stats);
      }
      let valLoss: number | null = null;
      if (s === steps - 1) {
        const v = await trainer.evaluateSequences(valSets);
        valLoss = v.mean;
        valPerSequence = v.perSequence;
      } else if ((s + 1) % evalEvery === 0) {
        valLoss = await trainer.evaluate(quickSets);
      }
      records.push({ step: s + 1, loss, lr, valLoss, elapsed: (performance.now() - t0) / 1000 });
      onStep?.(s + 1, loss, ((s + 1) * batch * T) / trainSeconds);
      if (opts.onSave && saveEvery > 0 && ((s + 1) % saveEvery === 0 || s === steps - 1)) {
        const snap = await trainer.snapshot();
        opts.onSave({ ...snap, records, trainSeconds, gemmStats });
      }
    }
    // A recipe resumed after its last step validates its final weights here.
    if (valPerSequence.length === 0) {
      valPerSequence = (await trainer.evaluateSequences(valSets)).perSequence;
    }
    const tail = records.slice(-Math.max(1, Math.floor(steps / 10)));
    return {
      recipe: recipe.name,
      records,
      finalTrainLoss: tail.reduce((a, r) => a + r.loss, 0) / tail.length,
      valLoss: records[records.length - 1].valLoss!,
      valPerSequence,
      tokensPerSec: (steps * batch * T) / trainSeconds,
      stepSeconds: trainSeconds / steps,
      memoryBytes: trainer.memoryBytes,
      parameters: trainer.model.layout.total,
      allReduceBytesPerStep: trainer.allReduceBytesPerStep,
      skippedSteps: trainer.skippedSteps,
      gemmStats,
      params: await trainer.params(),
    };
  } finally {
    trainer.dispose();
  }
}
