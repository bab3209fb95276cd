// Checking and defaulting the AdamW hyperparameters, shared by createAdamW and checkpoint import.
import { checkFiniteIn } from "./_check.ts";
import type { AdamWOptions } from "./adamw.ts";
import type { MomentFormat, MomentScaling } from "./moment_format.ts";
import { momentFloatFormat } from "./_formats.ts";

/** Resolved hyperparameters and formats, checked. */
export interface ResolvedAdamWOptions {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number[];
  m1Format: MomentFormat;
  m2Format: MomentFormat;
  momentScaling: MomentScaling;
}

/** Checks `options` against `tensors` tensors and fills in the defaults. */
export function resolveAdamWOptions(options: AdamWOptions, tensors: number): ResolvedAdamWOptions {
  const beta1 = options.beta1 ?? 0.9;
  const beta2 = options.beta2 ?? 0.95;
  const eps = options.eps ?? 1e-8;
  checkFiniteIn("options.beta1", beta1, 0, 1, { openHigh: true });
  checkFiniteIn("options.beta2", beta2, 0, 1, { openHigh: true });
  checkFiniteIn("options.eps", eps, 0, Number.MAX_VALUE, { openLow: true });
  const wd = options.weightDecay ?? 0.1;
  let weightDecay: number[];
  if (typeof wd === "number") {
    checkFiniteIn("options.weightDecay", wd, 0, Number.MAX_VALUE);
    weightDecay = new Array(tensors).fill(wd);
  } else if (Array.isArray(wd)) {
    if (wd.length !== tensors) {
      throw new RangeError(
        `options.weightDecay must hold ${tensors} numbers (one per tensor), got ${wd.length}`,
      );
    }
    wd.forEach((x, i) => checkFiniteIn(`options.weightDecay[${i}]`, x, 0, Number.MAX_VALUE));
    weightDecay = wd.slice();
  } else {
    throw new TypeError(`options.weightDecay must be a number or an array of numbers`);
  }
  const m1Format = options.m1Format ?? "E4M3";
  const m2Format = options.m2Format ?? "FP16";
  momentFloatFormat(m1Format);
  momentFloatFormat(m2Format);
  const momentScaling = options.momentScaling ?? "tensor";
  if (momentScaling !== "tensor" && momentScaling !== "none") {
    throw new RangeError(
      `options.momentScaling must be "tensor" or "none", got ${JSON.stringify(momentScaling)}`,
    );
  }
  return { beta1, beta2, eps, weightDecay, m1Format, m2Format, momentScaling };
}
