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
 * Saving is atomic: the files go into a temporary folder that is renamed to
 * `<recipe>/step-NNNNNN/` only when complete (a rename onto a new name is atomic), so a crash
 * leaves at most a stray temporary folder, never a partial step folder. The newest checkpoint is
 * then copied to the recipe folder itself (file by file, temp + rename, manifest last) so that
 * `from_pretrained("runs/<name>/<recipe>")` works; the last `keep` step folders stay as the good
 * checkpoints to fall back on. Loading checks sizes and hashes before parsing, then every
 * tensor's name, dtype and shape against config.json.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import {
  readSafetensors,
  type SafetensorsDtype,
  type SafetensorsFile,
  type SafetensorsInput,
  type SafetensorsTensor,
  tensorToFloat32,
  writeSafetensors,
} from "@fp4lab/quant-granularity";
import type { AdamWCheckpoint, MomentFormat } from "@fp4lab/mixed-optim";
import {
  hfConfig,
  type ModelConfig,
  type ParamLayout,
  paramLayout,
  parseRecipe,
  PRESETS,
  type Recipe,
} from "@fp4lab/train";
import type { TrainState } from "./state.ts";

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

/** Files of a full checkpoint, in writing order; the manifest comes last. */
export const CHECKPOINT_FILES = [
  "model.safetensors",
  "config.json",
  "optimizer.safetensors",
  "trainer_state.json",
  "recipe.json",
] as const;

const MANIFEST = "checkpoint.json";
const FORMAT = "fp4lab-checkpoint";
const enc = new TextEncoder();

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Writes a file durably: temp file, fsync, rename over the target. */
function writeAtomic(path: string, bytes: Uint8Array): void {
  const tmp = `${path}.tmp-${Deno.pid}`;
  const file = Deno.openSync(tmp, { write: true, create: true, truncate: true });
  try {
    let off = 0;
    while (off < bytes.length) off += file.writeSync(bytes.subarray(off));
    file.syncSync();
  } finally {
    file.close();
  }
  Deno.renameSync(tmp, path);
}

function syncDir(path: string): void {
  try {
    const dir = Deno.openSync(path, { read: true });
    try {
      dir.syncSync();
    } finally {
      dir.close();
    }
  } catch {
    // Not every platform can fsync a directory; the rename is still atomic there.
  }
}

function stepName(step: number): string {
  return `step-${String(step).padStart(6, "0")}`;
}

const MOMENT_DTYPE: Record<MomentFormat, SafetensorsDtype> = {
  f32: "F32",
  FP16: "F16",
  BF16: "BF16",
  E4M3: "F8_E4M3",
};

function modelTensors(layout: ParamLayout, params: Float32Array): Record<string, SafetensorsInput> {
  const out: Record<string, SafetensorsInput> = {};
  for (const p of layout.params) {
    out[p.name] = {
      dtype: "F32",
      shape: p.shape,
      data: params.subarray(p.offset, p.offset + p.size),
    };
  }
  return out;
}

function optimizerFile(layout: ParamLayout, opt: AdamWCheckpoint): Uint8Array {
  const tensors: Record<string, SafetensorsInput> = {};
  layout.params.forEach((p, i) => {
    tensors[`m1.${p.name}`] = {
      dtype: MOMENT_DTYPE[opt.m1Format],
      shape: p.shape,
      data: opt.m1[i],
    };
    tensors[`m2.${p.name}`] = {
      dtype: MOMENT_DTYPE[opt.m2Format],
      shape: p.shape,
      data: opt.m2[i],
    };
  });
  const n = layout.params.length;
  tensors.m1_scales = { dtype: "F32", shape: [n], data: opt.m1Scales };
  tensors.m2_scales = { dtype: "F32", shape: [n], data: opt.m2Scales };
  const hyper = {
    step: opt.step,
    beta1: opt.beta1,
    beta2: opt.beta2,
    eps: opt.eps,
    weightDecay: opt.weightDecay,
    m1Format: opt.m1Format,
    m2Format: opt.m2Format,
    momentScaling: opt.momentScaling,
  };
  return writeSafetensors(tensors, { format: "fp4lab-adamw", adamw: JSON.stringify(hyper) });
}

/**
 * Writes a full checkpoint of `state` as `<recipeDir>/step-NNNNNN/` (atomically), refreshes the
 * copy in `recipeDir` itself, and keeps only the newest `keep` step folders.
 *
 * @param recipeDir the recipe's folder, `runs/<name>/<recipe>`
 * @param config model configuration
 * @param recipe the recipe
 * @param settings run settings
 * @param state the snapshot
 * @param keep step folders to keep (at least 1; default 2, so a previous good one survives)
 * @returns the step folder written
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
  const files: Record<string, Uint8Array> = {
    // The same metadata as report.ts's end-of-run copy, so that rewrite is byte-identical and
    // the manifest's hash still holds.
    "model.safetensors": writeSafetensors(modelTensors(layout, state.params), {
      format: "pt",
      recipe: recipe.name,
    }),
    "config.json": enc.encode(JSON.stringify(hfConfig(config), null, 2) + "\n"),
    "optimizer.safetensors": optimizerFile(layout, state.optimizer),
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
  };
  const manifest = enc.encode(
    JSON.stringify(
      {
        format: FORMAT,
        version: 1,
        step: state.step,
        preset: settings.preset,
        recipe: settings.recipe,
        files: Object.fromEntries(
          Object.entries(files).map(([k, v]) => [k, { bytes: v.length, sha256: sha256(v) }]),
        ),
      },
      null,
      2,
    ) + "\n",
  );
  Deno.mkdirSync(recipeDir, { recursive: true });
  const name = stepName(state.step);
  const tmp = join(recipeDir, `.tmp-${name}-${Deno.pid}`);
  if (exists(tmp)) Deno.removeSync(tmp, { recursive: true });
  Deno.mkdirSync(tmp);
  for (const [file, bytes] of Object.entries(files)) writeAtomic(join(tmp, file), bytes);
  writeAtomic(join(tmp, MANIFEST), manifest);
  syncDir(tmp);
  const final = join(recipeDir, name);
  if (exists(final)) {
    // Same step saved again (a resumed run): move the old one aside first, drop it after.
    const old = join(recipeDir, `.old-${name}-${Deno.pid}`);
    Deno.renameSync(final, old);
    Deno.renameSync(tmp, final);
    Deno.removeSync(old, { recursive: true });
  } else {
    Deno.renameSync(tmp, final);
  }
  syncDir(recipeDir);
  // The folder-level copy (what from_pretrained and eval read); the manifest goes last, so a
  // crash in between leaves a copy whose hashes do not match: refused on load, never half-read.
  for (const [file, bytes] of Object.entries(files)) writeAtomic(join(recipeDir, file), bytes);
  writeAtomic(join(recipeDir, MANIFEST), manifest);
  const steps = listStepDirs(recipeDir);
  for (const old of steps.slice(0, Math.max(0, steps.length - Math.max(1, keep)))) {
    Deno.removeSync(join(recipeDir, old), { recursive: true });
  }
  for (const e of Deno.readDirSync(recipeDir)) {
    // Temporary folders of a killed save are never read; clear them.
    if (e.isDirectory && e.name.startsWith(".tmp-step-") && join(recipeDir, e.name) !== tmp) {
      Deno.removeSync(join(recipeDir, e.name), { recursive: true });
    }
  }
  return final;
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Step folders of a recipe folder, oldest first.
 *
 * @param recipeDir `runs/<name>/<recipe>`
 * @returns names like `step-000020`
 * @example
 * ```ts ignore
 * listStepDirs("runs/x/fp4"); // ["step-000010", "step-000020"]
 * ```
 */
export function listStepDirs(recipeDir: string): string[] {
  const out: string[] = [];
  try {
    for (const e of Deno.readDirSync(recipeDir)) {
      if (e.isDirectory && /^step-\d{6,}$/.test(e.name)) out.push(e.name);
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return out.sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)));
}

function readBytes(dir: string, file: string): Uint8Array {
  try {
    return Deno.readFileSync(join(dir, file));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new CheckpointError(`${dir} is not a checkpoint: ${file} is missing`);
    }
    throw new CheckpointError(`${join(dir, file)}: cannot read (${(e as Error).message})`);
  }
}

function parseJson(dir: string, file: string, bytes: Uint8Array): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new CheckpointError(`${join(dir, file)} is not valid JSON (${(e as Error).message})`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new CheckpointError(`${join(dir, file)} must hold a JSON object`);
  }
  return value as Record<string, unknown>;
}

/**
 * A {@link ModelConfig} from Hugging Face `config.json` fields, checked against what this
 * trainer's LLaMA computes (no grouped-query attention, no biases, untied head, SiLU).
 *
 * @param hf the parsed config.json
 * @param where the file, for messages
 * @returns the configuration, named after the preset it equals (else `custom`)
 * @throws {CheckpointError} naming the first field that is missing or unsupported
 * @example
 * ```ts
 * import { modelConfigFromHf } from "./checkpoint.ts";
 * import { hfConfig, PRESETS } from "@fp4lab/train";
 * console.log(modelConfigFromHf(hfConfig(PRESETS.tiny), "config.json").name); // "tiny"
 * ```
 */
export function modelConfigFromHf(hf: Record<string, unknown>, where: string): ModelConfig {
  const archs = hf.architectures;
  if (!Array.isArray(archs) || !archs.includes("LlamaForCausalLM")) {
    throw new CheckpointError(
      `${where}: architectures must include "LlamaForCausalLM", got ${JSON.stringify(archs)}`,
    );
  }
  const int = (key: string, fallback?: number): number => {
    const v = hf[key] ?? fallback;
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 1) {
      throw new CheckpointError(
        `${where}: ${key} must be a positive integer, got ${JSON.stringify(v)}`,
      );
    }
    return v;
  };
  const num = (key: string, fallback: number): number => {
    const v = hf[key] ?? fallback;
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) {
      throw new CheckpointError(
        `${where}: ${key} must be a positive number, got ${JSON.stringify(v)}`,
      );
    }
    return v;
  };
  const same = (key: string, want: unknown, fallback: unknown) => {
    const v = hf[key] ?? fallback;
    if (v !== want) {
      throw new CheckpointError(
        `${where}: ${key} = ${JSON.stringify(v)} is not supported (this LLaMA needs ${
          JSON.stringify(want)
        })`,
      );
    }
  };
  const heads = int("num_attention_heads");
  if (int("num_key_value_heads", heads) !== heads) {
    throw new CheckpointError(
      `${where}: num_key_value_heads must equal num_attention_heads (${heads})`,
    );
  }
  same("hidden_act", "silu", "silu");
  same("tie_word_embeddings", false, false);
  same("attention_bias", false, false);
  same("mlp_bias", false, false);
  if (hf.rope_scaling !== undefined && hf.rope_scaling !== null) {
    throw new CheckpointError(`${where}: rope_scaling is not supported`);
  }
  const hidden = int("hidden_size");
  if (hidden % heads !== 0 || (hidden / heads) % 2 !== 0) {
    throw new CheckpointError(
      `${where}: hidden_size ${hidden} must split into ${heads} heads of an even size`,
    );
  }
  const fields = {
    vocabSize: int("vocab_size"),
    hiddenSize: hidden,
    intermediateSize: int("intermediate_size"),
    numLayers: int("num_hidden_layers"),
    numHeads: heads,
    contextLength: int("max_position_embeddings"),
    rmsNormEps: num("rms_norm_eps", 1e-6),
    ropeTheta: num("rope_theta", 10000),
  };
  const preset = Object.values(PRESETS).find((p) =>
    (Object.keys(fields) as (keyof typeof fields)[]).every((k) => p[k] === fields[k])
  );
  return { name: preset?.name ?? "custom", ...fields };
}

function verifyManifest(dir: string, required: boolean): Record<string, unknown> | null {
  let bytes: Uint8Array;
  try {
    bytes = Deno.readFileSync(join(dir, MANIFEST));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound && !required) return null;
    if (e instanceof Deno.errors.NotFound) {
      throw new CheckpointError(`${dir} is not a checkpoint: ${MANIFEST} is missing`);
    }
    throw new CheckpointError(`${join(dir, MANIFEST)}: cannot read (${(e as Error).message})`);
  }
  const manifest = parseJson(dir, MANIFEST, bytes);
  if (manifest.format !== FORMAT) {
    throw new CheckpointError(`${join(dir, MANIFEST)}: format must be "${FORMAT}"`);
  }
  const files = manifest.files as Record<string, { bytes: number; sha256: string }> | undefined;
  if (!files || typeof files !== "object") {
    throw new CheckpointError(`${join(dir, MANIFEST)}: no file list`);
  }
  for (const [file, want] of Object.entries(files)) {
    const got = readBytes(dir, file);
    if (got.length !== want.bytes) {
      throw new CheckpointError(
        `${
          join(dir, file)
        } is ${got.length} bytes, the manifest says ${want.bytes} (truncated or overwritten)`,
      );
    }
    if (sha256(got) !== want.sha256) {
      throw new CheckpointError(
        `${
          join(dir, file)
        } does not match its SHA-256 in ${MANIFEST} (corrupt or from another save)`,
      );
    }
  }
  return manifest;
}

function parseSafetensors(dir: string, file: string, bytes: Uint8Array): SafetensorsFile {
  try {
    return readSafetensors(bytes);
  } catch (e) {
    throw new CheckpointError(`${join(dir, file)}: ${(e as Error).message}`);
  }
}

function tensorOf(
  st: SafetensorsFile,
  name: string,
  shape: readonly number[],
  where: string,
  what: string,
): SafetensorsTensor {
  const t = Object.hasOwn(st.tensors, name) ? st.tensors[name] : undefined;
  if (!t) throw new CheckpointError(`${where}: missing tensor ${name}`);
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new CheckpointError(
      `${where}: ${name} has shape [${t.shape}], but ${what} says [${shape}]`,
    );
  }
  return t;
}

function readMoments(
  st: SafetensorsFile,
  layout: ParamLayout,
  prefix: string,
  format: MomentFormat,
  where: string,
): AdamWCheckpoint["m1"] {
  return layout.params.map((p) => {
    const t = tensorOf(st, `${prefix}.${p.name}`, p.shape, where, "the model");
    if (t.dtype !== MOMENT_DTYPE[format]) {
      throw new CheckpointError(
        `${where}: ${prefix}.${p.name} is ${t.dtype}, expected ${MOMENT_DTYPE[format]} (${format})`,
      );
    }
    if (format === "f32") return tensorToFloat32(t);
    if (format === "E4M3") return t.data.slice();
    const view = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    const out = new Uint16Array(p.size);
    for (let i = 0; i < p.size; i++) out[i] = view.getUint16(2 * i, true);
    return out;
  });
}

/**
 * Loads a checkpoint folder: verifies the manifest (sizes and SHA-256 of every file) when there
 * is one, parses config.json and model.safetensors and checks every tensor against the config;
 * with a trainer state also the optimizer state.
 *
 * @param dir a checkpoint folder (`runs/<name>/<recipe>` or one of its `step-NNNNNN`)
 * @param options `requireState`: refuse a weights-only folder (resume needs the optimizer)
 * @returns the checkpoint
 * @throws {CheckpointError} with one line naming the file and what is wrong
 * @example
 * ```ts ignore
 * const ckpt = loadCheckpoint("runs/x/fp4");
 * console.log(ckpt.config.name, ckpt.step);
 * ```
 */
export function loadCheckpoint(dir: string, options: { requireState?: boolean } = {}): Checkpoint {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(dir);
  } catch {
    throw new CheckpointError(`${dir} does not exist`);
  }
  if (!info.isDirectory) throw new CheckpointError(`${dir} is not a checkpoint folder`);
  if (!exists(join(dir, "model.safetensors"))) {
    const steps = listStepDirs(dir);
    throw new CheckpointError(
      `${dir} is not a checkpoint: model.safetensors is missing` +
        (steps.length ? "" : exists(join(dir, "config.json")) ? " (no step saved yet?)" : ""),
    );
  }
  const manifest = verifyManifest(dir, options.requireState ?? false);
  const configBytes = readBytes(dir, "config.json");
  const config = modelConfigFromHf(
    parseJson(dir, "config.json", configBytes),
    join(dir, "config.json"),
  );
  const layout = paramLayout(config);
  const modelWhere = join(dir, "model.safetensors");
  const st = parseSafetensors(dir, "model.safetensors", readBytes(dir, "model.safetensors"));
  const params = new Float32Array(layout.total);
  for (const p of layout.params) {
    const t = tensorOf(st, p.name, p.shape, modelWhere, "config.json");
    if (t.dtype !== "F32" && t.dtype !== "F16" && t.dtype !== "BF16") {
      throw new CheckpointError(`${modelWhere}: ${p.name} is ${t.dtype}, expected a float type`);
    }
    params.set(tensorToFloat32(t), p.offset);
  }
  const known = new Set(layout.params.map((p) => p.name));
  const extra = Object.keys(st.tensors).find((n) => !known.has(n));
  if (extra !== undefined) {
    throw new CheckpointError(
      `${modelWhere}: tensor ${extra} is not part of the model config.json describes`,
    );
  }
  let recipe: Recipe | null = null;
  if (exists(join(dir, "recipe.json"))) {
    const raw = parseJson(dir, "recipe.json", readBytes(dir, "recipe.json"));
    try {
      recipe = parseRecipe(raw);
    } catch (e) {
      throw new CheckpointError(`${join(dir, "recipe.json")}: ${(e as Error).message}`);
    }
  }
  const hasState = exists(join(dir, "trainer_state.json"));
  if (!hasState) {
    if (options.requireState) {
      throw new CheckpointError(`${dir} has no trainer_state.json: weights only, cannot resume`);
    }
    return { dir, config, params, step: null, recipe, settings: null, state: null };
  }
  const ts = parseJson(dir, "trainer_state.json", readBytes(dir, "trainer_state.json"));
  const step = ts.step;
  if (typeof step !== "number" || !Number.isSafeInteger(step) || step < 0) {
    throw new CheckpointError(`${join(dir, "trainer_state.json")}: step must be an integer`);
  }
  if (manifest && manifest.step !== step) {
    throw new CheckpointError(
      `${join(dir, "trainer_state.json")}: step ${step}, but ${MANIFEST} says ${manifest.step}`,
    );
  }
  const settings = ts.settings as CheckpointSettings;
  if (!settings || settings.preset !== config.name) {
    throw new CheckpointError(
      `${join(dir, "config.json")} does not match the run's preset "${settings?.preset}"`,
    );
  }
  if (!options.requireState) {
    return { dir, config, params, step, recipe, settings, state: null };
  }
  const optWhere = join(dir, "optimizer.safetensors");
  const ost = parseSafetensors(
    dir,
    "optimizer.safetensors",
    readBytes(dir, "optimizer.safetensors"),
  );
  let hyper: Omit<AdamWCheckpoint, "m1" | "m2" | "m1Scales" | "m2Scales">;
  try {
    hyper = JSON.parse(ost.metadata.adamw ?? "");
  } catch {
    throw new CheckpointError(`${optWhere}: no AdamW hyperparameters in its metadata`);
  }
  const n = layout.params.length;
  const optimizer: AdamWCheckpoint = {
    ...hyper,
    m1: readMoments(ost, layout, "m1", hyper.m1Format, optWhere),
    m2: readMoments(ost, layout, "m2", hyper.m2Format, optWhere),
    m1Scales: tensorToFloat32(tensorOf(ost, "m1_scales", [n], optWhere, "the model")),
    m2Scales: tensorToFloat32(tensorOf(ost, "m2_scales", [n], optWhere, "the model")),
  };
  const state: TrainState = {
    step,
    params,
    optimizer,
    scaler: ts.scaler as TrainState["scaler"],
    records: ts.records as TrainState["records"],
    trainSeconds: ts.trainSeconds as number,
    skippedSteps: ts.skippedSteps as number,
    consecutiveSkips: ts.consecutiveSkips as number,
    allReduceBytesPerStep: ts.allReduceBytesPerStep as number,
    gemmStats: ts.gemmStats as TrainState["gemmStats"],
  };
  if (!Array.isArray(state.records) || state.records.length !== step) {
    throw new CheckpointError(
      `${join(dir, "trainer_state.json")}: ${state.records?.length} loss records for step ${step}`,
    );
  }
  return { dir, config, params, step, recipe, settings, state };
}

/**
 * The newest loadable step folder of a recipe, for resuming; corrupt newer ones are skipped and
 * reported.
 *
 * @param recipeDir `runs/<name>/<recipe>`
 * @returns the checkpoint (null when no step was saved) and the errors of skipped folders
 * @throws {CheckpointError} when step folders exist but none loads
 * @example
 * ```ts ignore
 * const { checkpoint, skipped } = latestCheckpoint("runs/x/fp4");
 * ```
 */
export function latestCheckpoint(
  recipeDir: string,
): { checkpoint: Checkpoint | null; skipped: string[] } {
  const steps = listStepDirs(recipeDir).reverse();
  const skipped: string[] = [];
  for (const s of steps) {
    try {
      return { checkpoint: loadCheckpoint(join(recipeDir, s), { requireState: true }), skipped };
    } catch (e) {
      if (!(e instanceof CheckpointError)) throw e;
      skipped.push(e.message);
    }
  }
  if (steps.length > 0) {
    throw new CheckpointError(`no loadable checkpoint in ${recipeDir}: ${skipped[0]}`);
  }
  return { checkpoint: null, skipped };
}
