/**
 * Checkpoints that Hugging Face `transformers` loads as `LlamaForCausalLM` with no conversion,
 * and that resume a run exactly (issue 10).
 *
 * A checkpoint folder holds `model.safetensors` (f32 master weights under Hugging Face names),
 * `config.json` (LlamaConfig fields), `optimizer.safetensors` (AdamW moments as their storage
 * codes: F8_E4M3 / F16 / F32, plus per-tensor scales; hyperparameters in the metadata),
 * `trainer_state.json` (step = RNG counter and data position, loss scaler, loss curve, settings),
 * `recipe.json`, and last `checkpoint.json`: the manifest with each file's size and SHA-256.
 *
 * One job per module, re-exported here:
 * - `checkpoint_types.ts`: the file names, the settings, the loaded form, {@link CheckpointError};
 * - `checkpoint_folder.ts`: atomic folder writes (a temporary folder renamed into place), pruning,
 *   clearing what killed saves left;
 * - `hf_config.ts`: config.json to a model configuration, and its check against the tensors;
 * - `optimizer_file.ts`: the format of optimizer.safetensors;
 * - `checkpoint_save.ts`: {@link saveCheckpoint}, the only writer of these files;
 * - `checkpoint_load.ts`: {@link loadCheckpoint} and {@link latestCheckpoint}, which verify
 *   before they trust.
 *
 * @module
 */
export {
  type Checkpoint,
  CHECKPOINT_FILES,
  CheckpointError,
  type CheckpointSettings,
  MANIFEST,
} from "./checkpoint_types.ts";
export { clearStaleTemporaries, listStepDirs, stepName } from "./checkpoint_folder.ts";
export { modelConfigFromHf } from "./hf_config.ts";
export { saveCheckpoint } from "./checkpoint_save.ts";
export { latestCheckpoint, loadCheckpoint } from "./checkpoint_load.ts";
