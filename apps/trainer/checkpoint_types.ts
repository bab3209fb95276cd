/**
 * What a checkpoint folder holds, named once: its files, its manifest, the settings it records,
 * the loaded form, and the one error every checkpoint problem becomes.
 *
 * @module
 */
import type { ModelConfig, Recipe } from "@fp4lab/train";
import type { TrainState } from "./state.ts";
import { HF_FILES } from "./hf_files.ts";

/** A checkpoint that cannot be used: missing, corrupt, or not matching. One line. */
export class CheckpointError extends Error {
  override name = "CheckpointError";
}

/** Run settings stored with every checkpoint; resume refuses a checkpoint that differs. */
export interface CheckpointSettings {
  /** preset name */
  readonly preset: string;
  /** recipe name */
  readonly recipe: string;
  /** total steps of the run */
  readonly steps: number;
  /**
   * steps the learning-rate schedule (warm-up, cosine to 10%) is laid out over: the first run's
   * `steps`; a run extended past it continues at the schedule's final rate. Absent in checkpoints
   * saved before extension existed, where it equals `steps`.
   */
  readonly scheduleSteps?: number;
  /** sequences per step */
  readonly batch: number;
  /** data-parallel ranks */
  readonly ranks: number;
  /** peak learning rate */
  readonly lr: number;
  /** seed */
  readonly seed: number;
  /** data source as given (`brown`, `markov` or a path) */
  readonly data: string;
}

/** A loaded checkpoint. `state` is null for a weights-only folder (e.g. one saved by HF). */
export interface Checkpoint {
  /** the folder */
  readonly dir: string;
  /** the model configuration from config.json */
  readonly config: ModelConfig;
  /** f32 weights, flat in Hugging Face order (see config.ts) */
  readonly params: Float32Array;
  /** steps done, when the folder has a trainer state */
  readonly step: number | null;
  /** the recipe it was trained with, when recipe.json is there */
  readonly recipe: Recipe | null;
  /** run settings, when the folder has a trainer state */
  readonly settings: CheckpointSettings | null;
  /** everything needed to resume, when the folder has optimizer and trainer state */
  readonly state: TrainState | null;
}

/**
 * Files of a full checkpoint, in writing order; the manifest comes last and lists every one of
 * them. These are the only names a manifest may hold: never a path.
 */
export const CHECKPOINT_FILES = [
  "model.safetensors",
  "config.json",
  "optimizer.safetensors",
  "trainer_state.json",
  "recipe.json",
  ...HF_FILES,
] as const;

/** The manifest's file name. */
export const MANIFEST = "checkpoint.json";

/** The manifest's `format` value. */
export const MANIFEST_FORMAT = "fp4lab-checkpoint";
