/**
 * Loading a checkpoint folder without trusting it: the manifest may name only the checkpoint's
 * own files (never a path) and must list every one of them; each file is read only if it is a
 * regular file of exactly the size the manifest states, then its SHA-256 is checked; config.json
 * is checked against the safetensors header before the model is laid out; every tensor's name,
 * dtype and shape is checked, and weights that are not finite are refused naming the tensor.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { readSafetensors, type SafetensorsFile, tensorToFloat32 } from "@fp4lab/safetensors";
import { paramLayout, parseRecipe, type Recipe } from "@fp4lab/train";
import type { TrainState } from "./state.ts";
import {
  type Checkpoint,
  CHECKPOINT_FILES,
  CheckpointError,
  type CheckpointSettings,
  MANIFEST,
  MANIFEST_FORMAT,
} from "./checkpoint_types.ts";
import { checkConfigAgainstTensors, modelConfigFromHf } from "./hf_config.ts";
import { readOptimizerFile, tensorOf } from "./optimizer_file.ts";
import { listStepDirs } from "./checkpoint_folder.ts";

/** The most a JSON file of a checkpoint may hold (the trainer state of a long run included). */
const MAX_JSON_BYTES = 256 * 2 ** 20;
/** The most a safetensors file of a checkpoint may hold when no manifest states its size. */
const MAX_TENSOR_BYTES = 2 ** 31;

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
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
 * Reads `dir/file` only if it is a regular file (not a device, a pipe or a folder) of the size
 * wanted (`exact`) or at most `max` bytes, and reads no more than that: a file named
 * `/dev/zero` or growing while read can not make the reader run away.
 */
function readBounded(
  dir: string,
  file: string,
  limit: { exact?: number; max: number },
): Uint8Array {
  const path = join(dir, file);
  let f: Deno.FsFile;
  try {
    f = Deno.openSync(path, { read: true });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new CheckpointError(`${dir} is not a checkpoint: ${file} is missing`);
    }
    throw new CheckpointError(`${path}: cannot read (${(e as Error).message.split("\n")[0]})`);
  }
  try {
    const info = f.statSync();
    if (!info.isFile) throw new CheckpointError(`${path} is not a regular file`);
    if (limit.exact !== undefined && info.size !== limit.exact) {
      throw new CheckpointError(
        `${path} is ${info.size} bytes, the manifest says ${limit.exact} (truncated or overwritten)`,
      );
    }
    if (info.size > limit.max) {
      throw new CheckpointError(
        `${path} is ${info.size} bytes, more than the ${limit.max} allowed`,
      );
    }
    const out = new Uint8Array(info.size);
    let off = 0;
    while (off < out.length) {
      const n = f.readSync(out.subarray(off));
      if (n === null || n === 0) {
        throw new CheckpointError(`${path} ended after ${off} of ${out.length} bytes`);
      }
      off += n;
    }
    return out;
  } finally {
    f.close();
  }
}

function parseJson(dir: string, file: string, bytes: Uint8Array): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new CheckpointError(
      `${join(dir, file)} is not valid JSON (${(e as Error).message.split("\n")[0]})`,
    );
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new CheckpointError(`${join(dir, file)} must hold a JSON object`);
  }
  return value as Record<string, unknown>;
}

interface Manifest {
  step: unknown;
  /** the sizes and hashes of every checkpoint file */
  files: Map<string, { bytes: number; sha256: string }>;
}

/** Reads and checks the manifest's shape; the files themselves are checked as they are read. */
function readManifest(dir: string, required: boolean): Manifest | null {
  if (!exists(join(dir, MANIFEST))) {
    if (!required) return null;
    throw new CheckpointError(`${dir} is not a checkpoint: ${MANIFEST} is missing`);
  }
  const where = join(dir, MANIFEST);
  const m = parseJson(dir, MANIFEST, readBounded(dir, MANIFEST, { max: 2 ** 20 }));
  if (m.format !== MANIFEST_FORMAT) {
    throw new CheckpointError(`${where}: format must be "${MANIFEST_FORMAT}"`);
  }
  const listed = m.files;
  if (listed === null || typeof listed !== "object" || Array.isArray(listed)) {
    throw new CheckpointError(`${where}: no file list`);
  }
  const files = new Map<string, { bytes: number; sha256: string }>();
  const known: readonly string[] = CHECKPOINT_FILES;
  for (const [name, entry] of Object.entries(listed as Record<string, unknown>)) {
    if (!known.includes(name)) {
      throw new CheckpointError(
        `${where} lists ${JSON.stringify(name)}, which is not a checkpoint file (${
          known.join(", ")
        })`,
      );
    }
    const e = entry as { bytes?: unknown; sha256?: unknown } | null;
    if (
      e === null || typeof e !== "object" || !Number.isSafeInteger(e.bytes) ||
      (e.bytes as number) < 0 || typeof e.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(e.sha256)
    ) {
      throw new CheckpointError(`${where}: ${name} needs a byte count and a SHA-256`);
    }
    files.set(name, { bytes: e.bytes as number, sha256: e.sha256 });
  }
  const missing = known.find((name) => !files.has(name));
  if (missing !== undefined) {
    throw new CheckpointError(`${where} does not list ${missing}: every checkpoint file must be`);
  }
  return { step: m.step, files };
}

/** Reads a checkpoint file: size and hash checked against the manifest when there is one. */
function readFile(dir: string, file: string, manifest: Manifest | null, max: number): Uint8Array {
  const want = manifest?.files.get(file);
  const bytes = readBounded(dir, file, { exact: want?.bytes, max: want ? Infinity : max });
  if (want && sha256(bytes) !== want.sha256) {
    throw new CheckpointError(
      `${join(dir, file)} does not match its SHA-256 in ${MANIFEST} (corrupt or from another save)`,
    );
  }
  return bytes;
}

function parseSafetensors(dir: string, file: string, bytes: Uint8Array): SafetensorsFile {
  try {
    return readSafetensors(bytes);
  } catch (e) {
    throw new CheckpointError(`${join(dir, file)}: ${(e as Error).message}`);
  }
}

const SETTING_TYPES: Record<keyof CheckpointSettings, "string" | "integer" | "number"> = {
  preset: "string",
  recipe: "string",
  steps: "integer",
  scheduleSteps: "integer",
  batch: "integer",
  ranks: "integer",
  lr: "number",
  seed: "integer",
  data: "string",
};

function checkSettings(value: unknown, where: string): CheckpointSettings {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new CheckpointError(`${where}: settings must be an object`);
  }
  const s = value as Record<string, unknown>;
  for (const [key, type] of Object.entries(SETTING_TYPES)) {
    const v = s[key];
    if (key === "scheduleSteps" && v === undefined) continue;
    const ok = type === "string"
      ? typeof v === "string"
      : type === "integer"
      ? Number.isSafeInteger(v)
      : typeof v === "number" && Number.isFinite(v);
    if (!ok) {
      throw new CheckpointError(
        `${where}: settings.${key} must be ${
          type === "integer" ? "an integer" : `a ${type}`
        }, got ${JSON.stringify(v)}`,
      );
    }
  }
  return s as unknown as CheckpointSettings;
}

/**
 * Loads a checkpoint folder: verifies the manifest (every checkpoint file listed, sizes and
 * SHA-256) when there is one, parses config.json and model.safetensors, checks the config against
 * the tensors before laying the model out, then every tensor, and refuses weights that are not
 * finite; with a trainer state also the settings and, when asked, the optimizer state.
 *
 * @param dir a checkpoint folder (`runs/<name>/<recipe>` or one of its `step-NNNNNN`)
 * @param options `requireState`: refuse a weights-only folder (resume needs the optimizer)
 * @returns the checkpoint
 * @throws {CheckpointError} with one line naming the file and what is wrong
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeSafetensors } from "@fp4lab/safetensors";
 * import { hfConfig, initialParams, paramLayout, PRESETS } from "@fp4lab/train";
 * import { loadCheckpoint } from "./checkpoint_load.ts";
 * // a weights-only folder, as Hugging Face saves one: model.safetensors and config.json
 * const dir = await Deno.makeTempDir();
 * const layout = paramLayout(PRESETS.smoke), params = initialParams(layout, 1);
 * const tensors = Object.fromEntries(layout.params.map((p) => [p.name, {
 *   dtype: "F32" as const, shape: p.shape, data: params.subarray(p.offset, p.offset + p.size),
 * }]));
 * await Deno.writeFile(`${dir}/model.safetensors`, writeSafetensors(tensors));
 * await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(hfConfig(PRESETS.smoke)));
 * const ckpt = loadCheckpoint(dir);
 * assert.equal(ckpt.config.name, "smoke");
 * assert.equal(ckpt.step, null); // no trainer state in the folder
 * assert.deepEqual(ckpt.params, params);
 * await Deno.remove(dir, { recursive: true });
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
  const manifest = readManifest(dir, options.requireState ?? false);
  const config = modelConfigFromHf(
    parseJson(dir, "config.json", readFile(dir, "config.json", manifest, 2 ** 20)),
    join(dir, "config.json"),
  );
  const modelWhere = join(dir, "model.safetensors");
  const st = parseSafetensors(
    dir,
    "model.safetensors",
    readFile(dir, "model.safetensors", manifest, MAX_TENSOR_BYTES),
  );
  // Before anything is sized by config.json: its numbers must match the tensors in the file.
  checkConfigAgainstTensors(config, st, modelWhere);
  const layout = paramLayout(config);
  const params = new Float32Array(layout.total);
  for (const p of layout.params) {
    const t = tensorOf(st, p.name, p.shape, modelWhere, "config.json");
    if (t.dtype !== "F32" && t.dtype !== "F16" && t.dtype !== "BF16") {
      throw new CheckpointError(`${modelWhere}: ${p.name} is ${t.dtype}, expected a float type`);
    }
    const values = tensorToFloat32(t);
    const bad = values.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) {
      throw new CheckpointError(
        `${modelWhere}: ${p.name} holds ${
          values[bad]
        } (element ${bad}): the weights are not finite`,
      );
    }
    params.set(values, p.offset);
  }
  let recipe: Recipe | null = null;
  if (manifest || exists(join(dir, "recipe.json"))) {
    const raw = parseJson(dir, "recipe.json", readFile(dir, "recipe.json", manifest, 2 ** 20));
    try {
      recipe = parseRecipe(raw);
    } catch (e) {
      throw new CheckpointError(`${join(dir, "recipe.json")}: ${(e as Error).message}`);
    }
  }
  const hasState = manifest !== null || exists(join(dir, "trainer_state.json"));
  if (!hasState) {
    if (options.requireState) {
      throw new CheckpointError(`${dir} has no trainer_state.json: weights only, cannot resume`);
    }
    return { dir, config, params, step: null, recipe, settings: null, state: null };
  }
  const stateWhere = join(dir, "trainer_state.json");
  const ts = parseJson(
    dir,
    "trainer_state.json",
    readFile(dir, "trainer_state.json", manifest, MAX_JSON_BYTES),
  );
  const step = ts.step;
  if (typeof step !== "number" || !Number.isSafeInteger(step) || step < 0) {
    throw new CheckpointError(`${stateWhere}: step must be an integer`);
  }
  if (manifest && manifest.step !== step) {
    throw new CheckpointError(
      `${stateWhere}: step ${step}, but ${MANIFEST} says ${JSON.stringify(manifest.step)}`,
    );
  }
  const settings = checkSettings(ts.settings, stateWhere);
  if (settings.preset !== config.name) {
    throw new CheckpointError(
      `${join(dir, "config.json")} does not match the run's preset "${settings.preset}"`,
    );
  }
  if (!options.requireState) {
    return { dir, config, params, step, recipe, settings, state: null };
  }
  const optWhere = join(dir, "optimizer.safetensors");
  const ost = parseSafetensors(
    dir,
    "optimizer.safetensors",
    readFile(dir, "optimizer.safetensors", manifest, MAX_TENSOR_BYTES),
  );
  const optimizer = readOptimizerFile(ost, layout, optWhere);
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
      `${stateWhere}: ${state.records?.length} loss records for step ${step}`,
    );
  }
  for (const key of ["trainSeconds", "skippedSteps", "consecutiveSkips", "allReduceBytesPerStep"]) {
    const v = ts[key];
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
      throw new CheckpointError(`${stateWhere}: ${key} must be a number, got ${JSON.stringify(v)}`);
    }
  }
  const scaler = ts.scaler as Record<string, unknown> | null;
  if (scaler === null || typeof scaler !== "object" || typeof scaler.scale !== "number") {
    throw new CheckpointError(`${stateWhere}: scaler must be an object with a scale`);
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
