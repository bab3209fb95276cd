/**
 * Atomic folder writes for checkpoints: a step folder appears complete or not at all (its files
 * go into a temporary folder that is renamed into place), the folder-level copy is refreshed file
 * by file with the manifest last, old step folders are pruned, and what a killed or failed save
 * left behind (temporary folders and `*.tmp-<pid>` files) is cleared.
 *
 * @module
 */
import { join } from "node:path";
import { outputError, syncDir, writeFileAtomic } from "../_shared/files.ts";

/**
 * The folder name of a step: `step-` and the step zero-padded to six digits.
 *
 * @param step steps done
 * @returns e.g. `step-000040`
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { stepName } from "./checkpoint_folder.ts";
 * assert.equal(stepName(40), "step-000040");
 * ```
 */
export function stepName(step: number): string {
  return `step-${String(step).padStart(6, "0")}`;
}

/**
 * Step folders of a recipe folder, oldest first.
 *
 * @param recipeDir `runs/<name>/<recipe>`
 * @returns names like `step-000020`
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { listStepDirs } from "./checkpoint_folder.ts";
 * const dir = Deno.makeTempDirSync();
 * for (const name of ["step-000020", "step-000010"]) Deno.mkdirSync(`${dir}/${name}`);
 * Deno.writeTextFileSync(`${dir}/config.json`, "{}");
 * assert.deepEqual(listStepDirs(dir), ["step-000010", "step-000020"]);
 * Deno.removeSync(dir, { recursive: true });
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

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Writes `files` (in order) as the folder `<parent>/<name>`, atomically: into a temporary folder
 * first, renamed into place when every file is written and synced. A folder of that name already
 * there is replaced (moved aside, then removed). On failure the temporary folder is removed, so
 * a full disk leaves the previous folders as they were.
 *
 * @param parent the folder to write into (created if missing)
 * @param name the new folder's name
 * @param files file name to bytes, in writing order
 * @returns the new folder's path
 * @throws {OutputError} for a full disk or a missing permission, naming the file
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeFolderAtomic } from "./checkpoint_folder.ts";
 * const dir = Deno.makeTempDirSync();
 * const path = writeFolderAtomic(dir, "step-000001", { "a.json": new TextEncoder().encode("{}") });
 * assert.equal(Deno.readTextFileSync(`${path}/a.json`), "{}");
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export function writeFolderAtomic(
  parent: string,
  name: string,
  files: Readonly<Record<string, Uint8Array>>,
): string {
  Deno.mkdirSync(parent, { recursive: true });
  const tmp = join(parent, `.tmp-${name}-${Deno.pid}`);
  const final = join(parent, name);
  try {
    if (exists(tmp)) Deno.removeSync(tmp, { recursive: true });
    Deno.mkdirSync(tmp);
    for (const [file, bytes] of Object.entries(files)) {
      try {
        writeFileAtomic(join(tmp, file), bytes);
      } catch (e) {
        // Name the file by where it was going, not by the temporary folder.
        throw outputError(e, join(final, file));
      }
    }
    syncDir(tmp);
    if (exists(final)) {
      // Same step saved again (a resumed run): move the old one aside first, drop it after.
      const old = join(parent, `.old-${name}-${Deno.pid}`);
      Deno.renameSync(final, old);
      Deno.renameSync(tmp, final);
      Deno.removeSync(old, { recursive: true });
    } else {
      Deno.renameSync(tmp, final);
    }
    syncDir(parent);
  } catch (e) {
    try {
      Deno.removeSync(tmp, { recursive: true });
    } catch {
      // already renamed, or never created
    }
    throw outputError(e, final);
  }
  return final;
}

/**
 * Copies `files` into `dir` itself, each atomically, in order (write the manifest last: a crash
 * in between leaves hashes that do not match, refused on load, never half-read).
 *
 * @param dir the folder
 * @param files file name to bytes, in writing order
 * @throws {OutputError} for a full disk or a missing permission, naming the file
 * @example
 * ```ts ignore
 * copyIntoFolder("runs/x/fp4", { "model.safetensors": bytes, "checkpoint.json": manifest });
 * ```
 */
export function copyIntoFolder(dir: string, files: Readonly<Record<string, Uint8Array>>): void {
  for (const [file, bytes] of Object.entries(files)) writeFileAtomic(join(dir, file), bytes);
}

/**
 * Removes all but the newest `keep` step folders.
 *
 * @param recipeDir the recipe folder
 * @param keep step folders to keep (at least 1)
 * @example
 * ```ts ignore
 * pruneStepDirs("runs/x/fp4", 2);
 * ```
 */
export function pruneStepDirs(recipeDir: string, keep: number): void {
  const steps = listStepDirs(recipeDir);
  for (const old of steps.slice(0, Math.max(0, steps.length - Math.max(1, keep)))) {
    Deno.removeSync(join(recipeDir, old), { recursive: true });
  }
}

/**
 * Clears what killed or failed saves left in a folder: temporary and moved-aside step folders
 * (`.tmp-step-*`, `.old-step-*`) and temporary files (`<name>.tmp-<pid>`, `<name>.tmp`). Only the
 * process holding the run's lock calls it, so nothing else is writing there.
 *
 * @param dir the folder
 * @returns the names removed
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { clearStaleTemporaries } from "./checkpoint_folder.ts";
 * const dir = Deno.makeTempDirSync();
 * Deno.writeTextFileSync(`${dir}/model.safetensors.tmp-4242`, "partial");
 * assert.deepEqual(clearStaleTemporaries(dir), ["model.safetensors.tmp-4242"]);
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export function clearStaleTemporaries(dir: string): string[] {
  const removed: string[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(dir)];
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return removed;
    throw e;
  }
  for (const e of entries) {
    const stale = e.isDirectory
      ? /^\.(tmp|old)-step-\d+-\d+$/.test(e.name)
      : e.isFile && /\.tmp(-\d+)?$/.test(e.name);
    if (!stale) continue;
    Deno.removeSync(join(dir, e.name), { recursive: true });
    removed.push(e.name);
  }
  return removed;
}
