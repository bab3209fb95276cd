/**
 * `@fp4lab/mixed-optim`: the mixed-precision optimizer of FP4 training: AdamW over f32
 * master weights with the first moment in FP8 E4M3 and the second in FP16 (each behind a
 * per-tensor power-of-two scale; f32 and BF16 also offered), dynamic loss scaling, clipping by
 * global norm, learning-rate schedules as data, an FP8 gradient all-reduce (ring, in-process
 * ranks, bytes counted) and a memory report. Plain objects and functions over Float32Array
 * parameter lists; every rounding goes through `@fp4lab/fp4-format`.
 *
 * @example
 * ```ts
 * import { adamwStep, clipGradNorm, createAdamW, lrAt } from "@fp4lab/mixed-optim";
 * import assert from "node:assert/strict";
 * const w = new Float32Array([3, -2]); // minimise ½‖w‖²: the gradient is w
 * const opt = createAdamW([w], { weightDecay: 0 }); // m in E4M3, v in FP16
 * const schedule = { kind: "cosine", peakLr: 0.1, minLr: 0.01, warmupSteps: 10, totalSteps: 200 } as const;
 * for (let step = 0; step < 200; step++) {
 *   const g = [w.slice()];
 *   clipGradNorm(g, 1);
 *   adamwStep(opt, g, lrAt(schedule, step));
 * }
 * assert.ok(Math.hypot(w[0], w[1]) < 0.05); // from ‖w‖ = 3.6 to near the minimum at 0
 * ```
 *
 * @module
 */
export * from "./moment_format.ts";
export * from "./adamw.ts";
export * from "./moment_values.ts";
export * from "./checkpoint.ts";
export * from "./schedule.ts";
export * from "./clip.ts";
export * from "./loss_scale.ts";
export * from "./fp8_codec.ts";
export * from "./ring_allreduce.ts";
export * from "./memory.ts";
