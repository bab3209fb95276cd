/**
 * Writing what the apps produce: atomic file writes (temp file, fsync, rename), output paths
 * checked before any work starts, and file-system errors turned into one line that names the path
 * (a full disk, a file where a folder should be, a folder that cannot be written).
 *
 * @module
 */
import { dirname, join } from "node:path";
import { UsageError } from "./cli.ts";

/** A write that failed for a reason the user can fix (disk full, no permission): exit 2. */
export class OutputError extends Error {
  override name = "OutputError";
  /** the errno code, e.g. `ENOSPC` */
  readonly code: string;
  /**
   * @param message one line naming the path and the problem
   * @param code the errno code
   */
  constructor(message: string, code: string) {
    super(message);
    this.code = code;
  }
}

const REASONS: Record<string, string> = {
  ENOSPC: "no space left on device",
  EDQUOT: "disk quota exceeded",
  EFBIG: "file too large for this file system",
  EROFS: "read-only file system",
  EACCES: "permission denied",
  EPERM: "permission denied",
  ENOTDIR: "a path component is a file, not a folder",
  EISDIR: "is a folder",
};

/**
 * Turns a file-system error met while writing `path` into an {@link OutputError} (one line,
 * the path named) when it is one the user can act on; other errors are returned unchanged.
 *
 * @param error what was thrown
 * @param path the path being written
 * @returns the error to throw
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { outputError } from "./files.ts";
 * const e = Object.assign(new Error("No space left on device (os error 28)"), { code: "ENOSPC" });
 * assert.equal((outputError(e, "runs/x/a") as Error).message, "no space left on device writing runs/x/a");
 * ```
 */
export function outputError(error: unknown, path: string): unknown {
  const code = (error as { code?: unknown })?.code;
  if (typeof code === "string" && Object.hasOwn(REASONS, code)) {
    return new OutputError(`${REASONS[code]} writing ${path}`, code);
  }
  return error;
}

/**
 * Writes a file durably: a temporary file `<path>.tmp-<pid>` beside it, fsync, then a rename over
 * the target, so a reader sees the old file or the new one, never a part. The temporary file is
 * removed when the write fails.
 *
 * @param path the target
 * @param bytes the content (text is UTF-8 encoded)
 * @throws {OutputError} for a full disk, a missing permission or a file in the way
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeFileAtomic } from "./files.ts";
 * const dir = Deno.makeTempDirSync();
 * writeFileAtomic(`${dir}/a.txt`, "hello\n");
 * assert.equal(Deno.readTextFileSync(`${dir}/a.txt`), "hello\n");
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export function writeFileAtomic(path: string, bytes: Uint8Array | string): void {
  const data = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
  const tmp = `${path}.tmp-${Deno.pid}`;
  try {
    const file = Deno.openSync(tmp, { write: true, create: true, truncate: true });
    try {
      let off = 0;
      while (off < data.length) off += file.writeSync(data.subarray(off));
      file.syncSync();
    } finally {
      file.close();
    }
    Deno.renameSync(tmp, path);
  } catch (e) {
    try {
      Deno.removeSync(tmp);
    } catch {
      // never created, or already renamed
    }
    throw outputError(e, path);
  }
}

/**
 * fsyncs a folder so the renames inside it survive a power loss (where the platform can).
 *
 * @param path the folder
 * @example
 * ```ts
 * import { syncDir } from "./files.ts";
 * syncDir(Deno.cwd());
 * ```
 */
export function syncDir(path: string): void {
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

function statOrNull(path: string): Deno.FileInfo | null {
  try {
    return Deno.statSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    if (e instanceof Deno.errors.NotADirectory) return null;
    throw e;
  }
}

/** The nearest existing ancestor of `path` (itself when it exists). */
function nearestExisting(path: string): { path: string; info: Deno.FileInfo } {
  let p = path;
  for (;;) {
    const info = statOrNull(p);
    if (info) return { path: p, info };
    const up = dirname(p);
    if (up === p) return { path: p, info: Deno.statSync(p) };
    p = up;
  }
}

/**
 * Checks, before any work starts, that `path` is a folder the app can create and write: not a
 * file, not below a file, not in a folder without write permission. Creates nothing.
 *
 * @param flag the flag that named it (`--out`), for the message
 * @param path the folder
 * @throws {UsageError} one line naming the path and the problem
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkOutputDir } from "./files.ts";
 * const dir = Deno.makeTempDirSync();
 * Deno.writeTextFileSync(`${dir}/f`, "");
 * checkOutputDir("--out", `${dir}/run`);
 * assert.throws(() => checkOutputDir("--out", `${dir}/f`), /--out .*f is a file, not a folder/);
 * assert.throws(() => checkOutputDir("--out", `${dir}/f/run`), /is below the file/);
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export function checkOutputDir(flag: string, path: string): void {
  const { path: found, info } = nearestExisting(path);
  if (!info.isDirectory) {
    throw new UsageError(
      found === path
        ? `${flag} ${path} is a file, not a folder`
        : `${flag} ${path} is below the file ${found}`,
    );
  }
  checkWritable(flag, path, found);
}

/**
 * Checks, before any work starts, that the file `path` can be written: its folder exists (or can
 * be created), is not a file, is writable, and `path` is not a folder.
 *
 * @param flag the flag that named it (`--svg`), for the message
 * @param path the file
 * @throws {UsageError} one line naming the path and the problem
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkOutputFile } from "./files.ts";
 * const dir = Deno.makeTempDirSync();
 * checkOutputFile("--svg", `${dir}/a.svg`);
 * assert.throws(() => checkOutputFile("--svg", dir), /is a folder/);
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export function checkOutputFile(flag: string, path: string): void {
  const info = statOrNull(path);
  if (info?.isDirectory) throw new UsageError(`${flag} ${path} is a folder, not a file`);
  const parent = dirname(path);
  const { path: found, info: up } = nearestExisting(parent);
  if (!up.isDirectory) {
    throw new UsageError(
      `${flag} ${path}: ${
        found === parent ? `${found} is a file, not a folder` : `${found} is a file`
      }`,
    );
  }
  checkWritable(flag, path, found);
}

/** Probes the nearest existing folder for write permission with a file created and removed. */
function checkWritable(flag: string, path: string, folder: string): void {
  const probe = join(folder, `.write-probe-${Deno.pid}`);
  try {
    Deno.writeFileSync(probe, new Uint8Array(0));
    Deno.removeSync(probe);
  } catch (e) {
    const reason = e instanceof Deno.errors.PermissionDenied
      ? "permission denied"
      : (REASONS[(e as { code?: string }).code ?? ""] ?? (e as Error).message.split("\n")[0]);
    throw new UsageError(`${flag} ${path}: cannot write in ${folder} (${reason})`);
  }
}
