/**
 * `@fp4lab/train`: the training engine. Recipes as data, the quantized linear layer (forward,
 * input gradient, weight gradient with DGE and OCC), and the LLaMA model with explicit forward
 * and backward passes over flat f32 buffers.
 *
 * @example
 * ```ts
 * import { createModel, forward, initParams, PRESETS, RECIPES } from "@fp4lab/train";
 * const model = createModel(PRESETS.smoke, RECIPES.fp4, 1);
 * initParams(model, 1);
 * const ids = new Int32Array(16).fill(65);
 * console.log(forward(model, ids, ids) > 5); // true (about ln 256 at init)
 * ```
 *
 * @module
 */
export * from "./backend.ts";
export * from "./config.ts";
export * from "./recipe.ts";
export * from "./operand.ts";
export * from "./linear.ts";
export * from "./layers.ts";
export * from "./model.ts";
export * from "./gemm.ts";
export * from "./backends/webgpu.ts";
