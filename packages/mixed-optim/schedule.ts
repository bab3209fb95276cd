/**
 * Learning-rate schedules as plain data, and {@link lrAt} to read one.
 *
 * @module
 */
import { checkFiniteIn, checkInteger } from "./_check.ts";

/** A constant learning rate, optionally reached by a linear warm-up. */
export interface ConstantSchedule {
  /** Discriminator. */
  kind: "constant";
  /** The learning rate. */
  lr: number;
  /** Steps of linear warm-up from lr/warmupSteps to lr. Default 0. */
  warmupSteps?: number;
}

/** Linear warm-up to `peakLr`, then cosine decay to `minLr` at `totalSteps`, then `minLr`. */
export interface CosineSchedule {
  /** Discriminator. */
  kind: "cosine";
  /** Learning rate at the end of the warm-up. */
  peakLr: number;
  /** Floor reached at `totalSteps` and kept after it (the FP4 paper: 10% of the peak). */
  minLr: number;
  /** Warm-up steps (the paper: 5% of the run). Default 0. */
  warmupSteps?: number;
  /** Length of the run, warm-up included. */
  totalSteps: number;
}

/** A learning-rate schedule: JSON-able data, read with {@link lrAt}. */
export type Schedule = ConstantSchedule | CosineSchedule;

/**
 * The learning rate at `step` (0-based): during warm-up `peak · (step + 1) / warmupSteps` (so the
 * first step is not wasted at 0, as in llm.c); for a cosine schedule afterwards
 * `minLr + (peakLr − minLr) · (1 + cos(π · p)) / 2` with `p = (step − warmupSteps) /
 * (totalSteps − warmupSteps)` clamped to [0, 1].
 *
 * @param schedule the schedule
 * @param step the optimizer step, an integer ≥ 0
 * @returns the learning rate
 * @throws {RangeError} for a bad step, an unknown kind or inconsistent fields (named)
 *
 * @example The FP4 paper's schedule: 5% warm-up, cosine to 10% of the peak
 * ```ts
 * import { lrAt } from "@fp4lab/mixed-optim";
 * import assert from "node:assert/strict";
 * const s = { kind: "cosine", peakLr: 3e-4, minLr: 3e-5, warmupSteps: 50, totalSteps: 1000 } as const;
 * const lrs = [0, 49, 525, 1000].map((step) => +lrAt(s, step).toPrecision(12)); // f64 rounding
 * assert.deepEqual(lrs, [6e-6, 3e-4, 1.65e-4, 3e-5]);
 * ```
 */
export function lrAt(schedule: Schedule, step: number): number {
  checkInteger("step", step, 0, Number.MAX_SAFE_INTEGER);
  if (schedule === null || typeof schedule !== "object") {
    throw new TypeError("schedule must be an object with a kind");
  }
  const warmup = schedule.warmupSteps ?? 0;
  checkInteger("schedule.warmupSteps", warmup, 0, Number.MAX_SAFE_INTEGER);
  switch (schedule.kind) {
    case "constant": {
      checkFiniteIn("schedule.lr", schedule.lr, 0, Number.MAX_VALUE);
      return step < warmup ? schedule.lr * (step + 1) / warmup : schedule.lr;
    }
    case "cosine": {
      const { peakLr, minLr, totalSteps } = schedule;
      checkFiniteIn("schedule.peakLr", peakLr, 0, Number.MAX_VALUE);
      checkFiniteIn("schedule.minLr", minLr, 0, peakLr);
      checkInteger("schedule.totalSteps", totalSteps, Math.max(warmup, 1), Number.MAX_SAFE_INTEGER);
      if (step < warmup) return peakLr * (step + 1) / warmup;
      const span = totalSteps - warmup;
      const progress = span === 0 ? 1 : Math.min(1, (step - warmup) / span);
      return minLr + (peakLr - minLr) * 0.5 * (1 + Math.cos(Math.PI * progress));
    }
    default:
      throw new RangeError(
        `schedule.kind must be "constant" or "cosine", got ${
          JSON.stringify((schedule as { kind: unknown }).kind)
        }`,
      );
  }
}
