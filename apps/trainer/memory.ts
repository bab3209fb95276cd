/**
 * What a run or an evaluation will ask of memory, estimated from the model's sizes before
 * anything is allocated, so that a flag or a config.json asking for more than the machine has is
 * refused with the number instead of crashing (or swapping) half-way.
 *
 * @module
 */
import { type ModelConfig, paramLayout } from "@fp4lab/train";
import { UsageError } from "../_shared/cli.ts";

/**
 * Bytes of activations (forward and backward) for `sequences` sequences of `T` tokens: per token,
 * each layer keeps attention probabilities over T per head and a few dozen vectors of the hidden
 * and MLP widths; measured on the presets to within about 15%.
 *
 * @param config the model
 * @param sequences sequences per forward pass
 * @param T tokens per sequence
 * @returns bytes
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { activationBytes } from "./memory.ts";
 * import { PRESETS } from "@fp4lab/train";
 * assert.ok(activationBytes(PRESETS.tiny, 8, 128) > 50e6);
 * ```
 */
export function activationBytes(config: ModelConfig, sequences: number, T: number): number {
  const { numLayers: L, numHeads: H, hiddenSize: D, intermediateSize: F, vocabSize: V } = config;
  return 4 * sequences * T * (L * (2 * H * T + 20 * D + 6 * F) + 4 * V);
}

/**
 * The machine's memory in bytes (16 GB when it cannot be read).
 *
 * @returns bytes
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { machineMemory } from "./memory.ts";
 * assert.ok(machineMemory() > 0);
 * ```
 */
export function machineMemory(): number {
  try {
    return Deno.systemMemoryInfo().total;
  } catch {
    return 16e9;
  }
}

function gb(bytes: number): string {
  return `${(bytes / 1e9).toFixed(1)} GB`;
}

/**
 * Refuses a training plan whose memory would exceed 90% of the machine's: master weights,
 * gradients and optimizer state, one gradient copy per simulated rank, and the activations of a
 * rank's share of the batch.
 *
 * @param plan the model, batch and ranks
 * @param available bytes of memory to compare with (default the machine's)
 * @returns the estimate in bytes
 * @throws {UsageError} naming the flags, the estimate and the machine's memory
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkTrainingMemory } from "./memory.ts";
 * import { PRESETS } from "@fp4lab/train";
 * assert.throws(
 *   () => checkTrainingMemory({ config: PRESETS.tiny, batch: 20000, ranks: 20000 }, 16e9),
 *   /--batch 20000 --ranks 20000 would need about/,
 * );
 * ```
 */
export function checkTrainingMemory(
  plan: { config: ModelConfig; batch: number; ranks: number },
  available = machineMemory(),
): number {
  const P = paramLayout(plan.config).total;
  const T = plan.config.contextLength;
  const state = 4 * P * 6;
  const copies = plan.ranks > 1 ? 4 * P * plan.ranks : 0;
  const acts = activationBytes(plan.config, plan.batch / plan.ranks, T) + 8 * plan.batch * T;
  const total = state + copies + acts;
  if (total > 0.9 * available) {
    throw new UsageError(
      `--batch ${plan.batch} --ranks ${plan.ranks} would need about ${gb(total)} of memory (${
        copies ? `${plan.ranks} gradient copies ${gb(copies)}, ` : ""
      }activations ${gb(acts)}, weights and optimizer ${gb(state)}); this machine has ${
        gb(available)
      }`,
    );
  }
  return total;
}
