/**
 * `@fp4lab/train`: the training engine of fp4lab. Recipes as validated data, the quantized
 * linear layer (forward, input gradient, weight gradient with DGE and OCC), the LLaMA model with
 * explicit forward and backward passes, and a trainer (loss scaling, clipping, AdamW with
 * low-precision moments, simulated data-parallel ranks with the FP8 all-reduce), all over one
 * {@link Backend} interface: `reference` (plain TypeScript) and `cpu` (WebAssembly SIMD GEMMs).
 * No file access: bring token batches, take weights and optimizer state as typed arrays.
 *
 * @example
 * ```ts
 * import { createTrainer, LLAMA_PRESETS, parseRecipe, RECIPES } from "@fp4lab/train";
 * import assert from "node:assert/strict";
 * const recipe = parseRecipe(JSON.stringify(RECIPES.fp4)); // recipes are data
 * const trainer = createTrainer({
 *   config: LLAMA_PRESETS.smoke, recipe, batch: 2, lr: 3e-3, steps: 2, seed: 1,
 * });
 * const tokens = new Int32Array(32).map((_, i) => 97 + (i % 5));
 * const targets = tokens.map((_, i) => 97 + ((i + 1) % 5));
 * const { loss } = await trainer.trainStep(tokens, targets, { collectStats: true });
 * assert.ok(loss > 5 && loss < 6); // about ln 256 at initialisation
 * assert.ok(trainer.stats["model.layers.0.mlp.down_proj"].a!.crestMax > 1);
 * ```
 *
 * @module
 */
export * from "./backend.ts";
export * from "./backends/host.ts";
export * from "./backends/wasm.ts";
export * from "./config.ts";
export * from "./recipe.ts";
export * from "./seed.ts";
export * from "./operand.ts";
export * from "./linear.ts";
export * from "./layers.ts";
export * from "./model.ts";
export * from "./trainer.ts";
export * from "./gemm.ts";
export * from "./backends/webgpu.ts";
