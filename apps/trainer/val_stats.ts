/**
 * The validation loss with its own sampling noise: per-window losses over the fixed validation
 * windows (data.ts `validationBatches`), their mean and standard error.
 *
 * @module
 */
import { createModel, forward, type ModelConfig, type Recipe } from "@fp4lab/train";
import { lossStatistics } from "./data.ts";

/** The validation loss of a set of weights, with its sampling noise. */
export interface ValidationStatistics {
  /** mean loss over every predicted token of the windows, in nats */
  mean: number;
  /** standard error of the mean over windows, in nats */
  standardError: number;
  /** windows evaluated */
  windows: number;
  /** each window's mean loss */
  perWindow: Float64Array;
}

/**
 * Runs `params` (with `recipe`'s forward pass, as training evaluates) over the validation
 * batches and returns the per-window losses, their mean and its standard error. A window's
 * loss is read from the probabilities the forward pass leaves in `acts.logits`.
 *
 * @param config model configuration
 * @param recipe forward-pass recipe
 * @param params flat weights
 * @param batches validation batches of B windows of T tokens (`validationBatches`)
 * @returns the statistics
 * @example
 * ```ts
 * import { createModel, initParams, PRESETS, RECIPES } from "@fp4lab/train";
 * import { markovSource, validationBatches } from "./data.ts";
 * import { validationStatistics } from "./val_stats.ts";
 * const m = createModel(PRESETS.smoke, RECIPES.fp32, 2);
 * initParams(m, 1);
 * const v = validationBatches(markovSource(2000).val, 2, 16, 8);
 * const s = validationStatistics(PRESETS.smoke, RECIPES.fp32, m.params, v);
 * console.log(s.windows, s.standardError > 0); // 8 true
 * ```
 */
export function validationStatistics(
  config: ModelConfig,
  recipe: Recipe,
  params: Float32Array,
  batches: { tokens: Int32Array; targets: Int32Array }[],
): ValidationStatistics {
  const T = config.contextLength, V = config.vocabSize;
  const B = batches[0].tokens.length / T;
  const model = createModel(config, recipe, B, T);
  model.params.set(params);
  const perWindow = new Float64Array(batches.length * B);
  for (let k = 0; k < batches.length; k++) {
    forward(model, batches[k].tokens, batches[k].targets);
    const probs = model.acts.logits, targets = model.acts.targets;
    for (let b = 0; b < B; b++) {
      let sum = 0;
      for (let t = 0; t < T; t++) {
        const m = b * T + t;
        sum -= Math.log(probs[m * V + targets[m]]);
      }
      perWindow[k * B + b] = sum / T;
    }
  }
  const { mean, standardError } = lossStatistics(perWindow);
  return { mean, standardError, windows: perWindow.length, perWindow };
}
