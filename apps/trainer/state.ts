/**
 * The training state between two steps: everything {@link trainRecipe} needs to continue a run
 * exactly where it stopped. Randomness is counter-based (init, batches and stochastic rounding
 * are all drawn from (seed, step)), so the step number is the RNG state and the data position.
 *
 * @module
 */
import type { AdamWCheckpoint, LossScaler } from "@fp4lab/mixed-optim";
import type { LinearStats } from "@fp4lab/train";
import type { StepRecord } from "./train.ts";

/** A snapshot after `step` steps of one recipe. */
export interface TrainState {
  /** optimizer steps done (the next step to run, 0-based) */
  step: number;
  /** f32 master weights, flat in Hugging Face order */
  params: Float32Array;
  /** AdamW moments as their storage codes, scales and hyperparameters */
  optimizer: AdamWCheckpoint;
  /** dynamic loss scaler */
  scaler: LossScaler;
  /** the loss curve so far */
  records: StepRecord[];
  /** seconds spent in training steps so far (for tokens/s) */
  trainSeconds: number;
  /** steps skipped by the loss scaler so far */
  skippedSteps: number;
  /** overflowing steps in a row at the end of the snapshot */
  consecutiveSkips: number;
  /** FP8 all-reduce bytes per step (0 for one rank) */
  allReduceBytesPerStep: number;
  /** last collected per-GEMM statistics */
  gemmStats: Record<string, LinearStats>;
}
