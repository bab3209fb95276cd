/**
 * Saving a checkpoint: the files of {@link CHECKPOINT_FILES} and the manifest, as a step folder
 * written atomically, then copied to the recipe folder itself (what `from_pretrained` and eval
 * read), keeping the newest `keep` step folders.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { writeSafetensors } from "@fp4lab/safetensors";
import { hfConfig, type ModelConfig, paramLayout, type Recipe } from "@fp4lab/train";
import type { TrainState } from "./state.ts";
import {
  CHECKPOINT_FILES,
  type CheckpointSettings,
  MANIFEST,
  MANIFEST_FORMAT,
} from "./checkpoint_types.ts";
import { optimizerFileBytes } from "./optimizer_file.ts";
import { hfFiles } from "./hf_files.ts";
import {
  clearStaleTemporaries,
  copyIntoFolder,
  pruneStepDirs,
  stepName,
  writeFolderAtomic,
} from "./checkpoint_folder.ts";

const enc = new TextEncoder();

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * Writes a full checkpoint of `state` as `<recipeDir>/step-NNNNNN/` (atomically), refreshes the
 * copy in `recipeDir` itself, keeps only the newest `keep` step folders, and clears what killed
 * saves left behind. The only writer of the checkpoint files.
 *
 * @param recipeDir the recipe's folder, `runs/<name>/<recipe>`
 * @param config model configuration
 * @param recipe the recipe
 * @param settings run settings
 * @param state the snapshot
 * @param keep step folders to keep (at least 1; default 2, so a previous good one survives)
 * @returns the step folder written
 * @throws {OutputError} for a full disk or a missing permission (the previous step folders are
 *   left as they were)
 * @example
 * ```ts ignore
 * saveCheckpoint("runs/x/fp4", PRESETS.smoke, RECIPES.fp4, settings, state);
 * ```
 */
export function saveCheckpoint(
  recipeDir: string,
  config: ModelConfig,
  recipe: Recipe,
  settings: CheckpointSettings,
  state: TrainState,
  keep = 2,
): string {
  const layout = paramLayout(config);
  if (state.params.length !== layout.total) {
    throw new RangeError(
      `state.params has ${state.params.length} values, expected ${layout.total}`,
    );
  }
  const modelTensors = Object.fromEntries(layout.params.map((p) => [p.name, {
    dtype: "F32" as const,
    shape: p.shape,
    data: state.params.subarray(p.offset, p.offset + p.size),
  }]));
  const files: Record<(typeof CHECKPOINT_FILES)[number], Uint8Array> = {
    "model.safetensors": writeSafetensors(modelTensors, { format: "pt", recipe: recipe.name }),
    "config.json": enc.encode(JSON.stringify(hfConfig(config), null, 2) + "\n"),
    "optimizer.safetensors": optimizerFileBytes(layout, state.optimizer),
    "trainer_state.json": enc.encode(
      JSON.stringify(
        {
          format: "fp4lab-trainer-state",
          version: 1,
          step: state.step,
          settings,
          // Every random draw is uniformAt(seedKey(seed ...), counter(step, ...)): the step is
          // the whole RNG state, and batches are drawn by (seed, step): it is the data position.
          rng: { kind: "counter", seed: settings.seed, step: state.step },
          data: { source: settings.data, batchesConsumed: state.step },
          scaler: state.scaler,
          trainSeconds: state.trainSeconds,
          skippedSteps: state.skippedSteps,
          consecutiveSkips: state.consecutiveSkips,
          allReduceBytesPerStep: state.allReduceBytesPerStep,
          records: state.records,
          gemmStats: state.gemmStats,
        },
        null,
        1,
      ) + "\n",
    ),
    "recipe.json": enc.encode(JSON.stringify(recipe, null, 2) + "\n"),
    // tokenizer, generation config and model card: what pipeline() and AutoTokenizer need
    ...hfFiles(config, recipe, settings, state),
  };
  const manifest = enc.encode(
    JSON.stringify(
      {
        format: MANIFEST_FORMAT,
        version: 1,
        step: state.step,
        preset: settings.preset,
        recipe: settings.recipe,
        files: Object.fromEntries(
          CHECKPOINT_FILES.map((k) => [k, { bytes: files[k].length, sha256: sha256(files[k]) }]),
        ),
      },
      null,
      2,
    ) + "\n",
  );
  clearStaleTemporaries(recipeDir);
  const all = { ...files, [MANIFEST]: manifest };
  const final = writeFolderAtomic(recipeDir, stepName(state.step), all);
  copyIntoFolder(recipeDir, all);
  pruneStepDirs(recipeDir, keep);
  return final;
}
