/**
 * The training step: data-parallel ranks simulated in one process (each rank's gradient meets
 * the others through the FP8 all-reduce codec), dynamic loss scaling, gradient clipping at 1,
 * AdamW with f32 master weights and low-precision moments, the FP4 paper's cosine schedule. The
 * caller brings the token batches; files, data and reports stay with the application.
 *
 * @module
 */
import {
  type AdamWCheckpoint,
  createLossScaler,
  type LossScaler,
  lossScaleUpdate,
  lrAt,
  memoryReport,
  type Schedule,
} from "@fp4lab/mixed-optim";
import { type Backend, slice, type Tensor } from "./backend.ts";
import type { ModelConfig } from "./config.ts";
import type { LinearStats } from "./linear.ts";
import {
  backward,
  createModel,
  firstNonFinite,
  forward,
  freeModel,
  initParams,
  linears,
  type Model,
  readParams,
  sequenceLosses,
  settleStats,
  writeParams,
} from "./model.ts";
import type { Recipe } from "./recipe.ts";

/** A non-finite loss, or gradients that stay non-finite: the run cannot go on. */
export class TrainingFault extends Error {
  /** always `"TrainingFault"` */
  override name = "TrainingFault";
}

/** What a trainer needs to continue exactly where another stopped. */
export interface TrainerSnapshot {
  /** optimizer steps done */
  step: number;
  /** f32 master weights, flat in Hugging Face order */
  params: Float32Array;
  /** AdamW moments as their storage codes, scales and hyperparameters */
  optimizer: AdamWCheckpoint;
  /** dynamic loss scaler */
  scaler: LossScaler;
  /** steps skipped by the loss scaler so far */
  skippedSteps: number;
  /** overflowing steps in a row at the end of the snapshot */
  consecutiveSkips: number;
  /** FP8 all-reduce bytes per step (0 for one rank) */
  allReduceBytesPerStep: number;
}

/** Settings of {@link createTrainer}. */
export interface TrainerOptions {
  /** model configuration */
  readonly config: ModelConfig;
  /** precision recipe */
  readonly recipe: Recipe;
  /** sequences per optimizer step, over all ranks */
  readonly batch: number;
  /** data-parallel ranks (divides `batch`; default 1) */
  readonly ranks?: number;
  /** peak learning rate of the cosine schedule */
  readonly lr: number;
  /** optimizer steps the schedule spans */
  readonly steps: number;
  /** seed of the initial weights */
  readonly seed: number;
  /** where to run (default: a new `cpu` backend) */
  readonly backend?: Backend;
  /** continue from this snapshot instead of initialising */
  readonly resume?: TrainerSnapshot;
  /**
   * Parameters held at a fixed value (flat indices in {@link paramLayout} order): written after
   * initialisation and never updated (their gradient is zeroed before each optimizer step). For
   * controlled experiments, e.g. a few RMSNorm gain channels fixed large to inject activation
   * outliers into the next GEMM's input.
   */
  readonly frozen?: readonly { readonly index: number; readonly value: number }[];
}

/** One optimizer step's outcome. */
export interface StepOutcome {
  /** training loss of the batch (mean over ranks) */
  loss: number;
  /** learning rate used */
  lr: number;
  /** true when the loss scaler skipped the update (non-finite gradients) */
  skipped: boolean;
}

/** A model with its optimizer, loss scaler and schedule. */
export interface Trainer {
  /** the model of rank 0 (its parameters are the trained ones) */
  readonly model: Model;
  /** optimizer steps done */
  readonly step: number;
  /** bytes of master weights and optimizer state */
  readonly memoryBytes: number;
  /** per linear layer: the statistics of the last step that collected them */
  readonly stats: Record<string, LinearStats>;
  /** steps skipped by the loss scaler so far */
  readonly skippedSteps: number;
  /** FP8 all-reduce bytes per step (0 for one rank) */
  readonly allReduceBytesPerStep: number;
  /**
   * One optimizer step on `batch · T` tokens and their next-token targets.
   *
   * @throws {TrainingFault} on a non-finite loss (naming the step and the first layer with
   *   non-finite values) or five overflowing steps in a row
   */
  trainStep(
    tokens: Int32Array,
    targets: Int32Array,
    options?: { collectStats?: boolean },
  ): Promise<StepOutcome>;
  /** Mean loss over batches of `batch / ranks` sequences (no rounding randomness, no update). */
  evaluate(batches: readonly { tokens: Int32Array; targets: Int32Array }[]): Promise<number>;
  /** {@link Trainer.evaluate}'s number, and every sequence's own mean loss (for a standard error). */
  evaluateSequences(
    batches: readonly { tokens: Int32Array; targets: Int32Array }[],
  ): Promise<{ mean: number; perSequence: Float64Array }>;
  /** Everything needed to resume (copies). */
  snapshot(): Promise<TrainerSnapshot>;
  /** The trained parameters (a copy). */
  params(): Promise<Float32Array>;
  /** Frees the trainer's buffers. */
  dispose(): void;
}

/**
 * Creates a trainer: model, optimizer and loss scaler on a backend.
 *
 * @param options see {@link TrainerOptions}
 * @returns the trainer
 * @throws {RangeError} for a batch not divisible by the ranks, or non-positive settings
 * @example
 * ```ts
 * import { createTrainer, PRESETS, RECIPES } from "@fp4lab/train";
 * import assert from "node:assert/strict";
 * const trainer = createTrainer({
 *   config: PRESETS.smoke, recipe: RECIPES.fp4, batch: 2, lr: 3e-3, steps: 3, seed: 1,
 * });
 * const tokens = new Int32Array(2 * 16).map((_, i) => 65 + (i % 7));
 * const targets = tokens.map((_, i) => 65 + ((i + 1) % 7));
 * let loss = Infinity;
 * for (let s = 0; s < 3; s++) loss = (await trainer.trainStep(tokens, targets)).loss;
 * assert.ok(loss < Math.log(256));
 * assert.equal(trainer.step, 3);
 * ```
 */
export function createTrainer(options: TrainerOptions): Trainer {
  const { config, recipe, batch, seed } = options;
  const ranks = options.ranks ?? 1;
  for (const [name, v] of [["batch", batch], ["ranks", ranks], ["steps", options.steps]] as const) {
    if (!Number.isInteger(v) || v < 1) {
      throw new RangeError(`${name} must be a positive integer, got ${v}`);
    }
  }
  if (batch % ranks !== 0) {
    throw new RangeError(`batch ${batch} is not divisible by ranks ${ranks}`);
  }
  if (!(options.lr > 0) || !Number.isFinite(options.lr)) {
    throw new RangeError(`lr must be a positive number, got ${options.lr}`);
  }
  const T = config.contextLength;
  const perRank = batch / ranks;
  const model = createModel(config, recipe, perRank, { T, backend: options.backend });
  const be = model.backend;
  const resume = options.resume;
  if (resume) writeParams(model, resume.params);
  else initParams(model, seed);
  const frozen = options.frozen ?? [];
  for (const f of frozen) {
    if (!Number.isInteger(f.index) || f.index < 0 || f.index >= model.layout.total) {
      throw new RangeError(`frozen index ${f.index} outside [0, ${model.layout.total})`);
    }
    if (!Number.isFinite(f.value)) throw new RangeError(`frozen value ${f.value} is not finite`);
    be.fill(slice(model.params, f.index, 1), f.value);
  }
  const ranges = (flat: Tensor) => model.layout.params.map((p) => slice(flat, p.offset, p.size));
  const paramRanges = ranges(model.params);
  const opt = resume ? be.adamwImport(paramRanges, resume.optimizer) : be.adamwCreate(
    paramRanges,
    {
      // Decay matrices (embeddings, projections, head), not norm gains.
      weightDecay: model.layout.params.map((p) => p.matrix ? 0.1 : 0),
      m1Format: recipe.optimizer.m1,
      m2Format: recipe.optimizer.m2,
    },
  );
  const memory = memoryReport(model.layout.params.map((p) => p.size), {
    m1Format: recipe.optimizer.m1,
    m2Format: recipe.optimizer.m2,
  });
  const schedule: Schedule = {
    kind: "cosine",
    peakLr: options.lr,
    minLr: options.lr * 0.1,
    warmupSteps: Math.max(1, Math.round(0.05 * options.steps)),
    totalSteps: options.steps,
  };
  const scaler: LossScaler = resume
    ? { ...resume.scaler }
    : createLossScaler({ scale: 2 ** 10, growthInterval: 1000 });
  const rankGrads = ranks > 1
    ? Array.from({ length: ranks }, () => be.alloc(model.layout.total))
    : [model.grads];
  const rankRanges = rankGrads.map(ranges);
  const grads = rankRanges[0];
  const stats: Record<string, LinearStats> = {};
  let step = resume?.step ?? 0;
  let skipped = resume?.skippedSteps ?? 0;
  let consecutiveSkips = resume?.consecutiveSkips ?? 0;
  let allReduceBytes = resume?.allReduceBytesPerStep ?? 0;
  const M = perRank * T;

  const checkBatch = (tokens: Int32Array, targets: Int32Array, n: number) => {
    if (tokens.length !== n || targets.length !== n) {
      throw new RangeError(
        `a batch needs ${n} tokens and targets, got ${tokens.length} and ${targets.length}`,
      );
    }
  };

  return {
    model,
    get step() {
      return step;
    },
    memoryBytes: memory.weightsBytes + memory.optimizerBytes,
    stats,
    get skippedSteps() {
      return skipped;
    },
    get allReduceBytesPerStep() {
      return allReduceBytes;
    },
    async trainStep(tokens, targets, stepOptions = {}) {
      checkBatch(tokens, targets, batch * T);
      const collect = stepOptions.collectStats ?? false;
      const lr = lrAt(schedule, step);
      let loss = 0;
      for (let r = 0; r < ranks; r++) {
        const lo = r * M, hi = lo + M;
        be.fill(model.grads, 0);
        const micro = step * ranks + r;
        const l = await forward(model, tokens.subarray(lo, hi), targets.subarray(lo, hi), {
          training: true,
          step: micro,
          collectStats: collect && r === 0,
        });
        if (!Number.isFinite(l)) {
          const where = await firstNonFinite(model) ?? "the loss";
          throw new TrainingFault(
            `non-finite loss (${l}) at step ${
              step + 1
            } (recipe ${recipe.name}): first non-finite values in ${where}`,
          );
        }
        loss += l / ranks;
        backward(model, { step: micro, collectStats: collect && r === 0, lossScale: scaler.scale });
        if (ranks > 1) be.copy(rankGrads[r], model.grads);
      }
      if (ranks > 1) allReduceBytes = await be.fp8AllReduce(rankRanges);
      for (const f of frozen) be.fill(slice(rankGrads[0], f.index, 1), 0);
      // The loss scaler absorbs an overflow by skipping the step; a run of them is a fault.
      const finite = await be.unscale(grads, 1 / scaler.scale);
      const take = lossScaleUpdate(scaler, finite);
      if (take) {
        consecutiveSkips = 0;
        await be.clipGradNorm(grads, 1);
        be.adamwStep(opt, grads, lr);
      } else {
        skipped++;
        if (++consecutiveSkips >= 5) {
          let bad = "?";
          for (let i = 0; i < grads.length; i++) {
            if (await be.hasNonFinite(grads[i])) {
              bad = model.layout.params[i].name;
              break;
            }
          }
          throw new TrainingFault(
            `non-finite gradients for 5 steps in a row at step ${
              step + 1
            } (recipe ${recipe.name}), first in ${bad}`,
          );
        }
      }
      if (collect) {
        await settleStats(model);
        for (const lin of linears(model)) stats[lin.name] = structuredClone(lin.stats);
      }
      step++;
      return { loss, lr, skipped: !take };
    },
    async evaluate(batches) {
      let sum = 0;
      for (const v of batches) {
        checkBatch(v.tokens, v.targets, M);
        sum += await forward(model, v.tokens, v.targets);
      }
      return sum / batches.length;
    },
    async evaluateSequences(batches) {
      let sum = 0;
      const perSequence = new Float64Array(batches.length * perRank);
      for (let k = 0; k < batches.length; k++) {
        const v = batches[k];
        checkBatch(v.tokens, v.targets, M);
        const r = await sequenceLosses(model, v.tokens, v.targets);
        sum += r.mean;
        perSequence.set(r.perSequence, k * perRank);
      }
      return { mean: sum / batches.length, perSequence };
    },
    async snapshot() {
      return {
        step,
        params: await readParams(model),
        optimizer: await be.adamwExport(opt),
        scaler: { ...scaler },
        skippedSteps: skipped,
        consecutiveSkips,
        allReduceBytesPerStep: allReduceBytes,
      };
    },
    params: () => readParams(model),
    dispose() {
      if (ranks > 1) { for (const t of rankGrads) be.free(t); }
      freeModel(model);
    },
  };
}
