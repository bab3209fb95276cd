/**
 * One trainer per run folder: `<run>/train.lock` holds the pid, host and start time of the
 * process that writes there. A second trainer on the same folder is refused naming that pid; a
 * lock whose process is gone (killed, crashed) is taken over with a note.
 *
 * @module
 */
import { join } from "node:path";
import { UsageError } from "../_shared/cli.ts";

/** The lock file's name inside a run folder. */
export const LOCK_FILE = "train.lock";

interface LockBody {
  pid: number;
  host: string;
  started: string;
}

function hostname(): string {
  try {
    return Deno.hostname();
  } catch {
    return "unknown";
  }
}

/** Whether a process with this pid runs on this machine. */
function alive(pid: number): boolean {
  if (pid === Deno.pid) return true;
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) return true; // cannot tell: assume it runs
    try {
      Deno.statSync("/proc/self");
      return false; // /proc exists and has no such pid
    } catch {
      // No /proc (macOS, Windows): ask `kill -0`.
      try {
        return new Deno.Command("kill", { args: ["-0", String(pid)], stderr: "null" })
          .outputSync().success;
      } catch {
        return true;
      }
    }
  }
}

function readLock(path: string): LockBody | null {
  try {
    const body = JSON.parse(Deno.readTextFileSync(path));
    return Number.isSafeInteger(body?.pid) ? body as LockBody : null;
  } catch {
    return null;
  }
}

/**
 * Takes the lock of a run folder (creating the folder), or refuses.
 *
 * @param dir the run folder
 * @param note where a taken-over stale lock is reported (default stderr)
 * @returns a function that releases the lock (only if it is still this process's)
 * @throws {UsageError} `runs/x is in use by pid N` when a live process holds it
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lockRun } from "./lock.ts";
 * const dir = Deno.makeTempDirSync();
 * const release = lockRun(dir);
 * assert.throws(() => lockRun(dir), /already locked by this process/);
 * release();
 * lockRun(dir)();
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export function lockRun(
  dir: string,
  note: (line: string) => void = (line) => console.error(line),
): () => void {
  Deno.mkdirSync(dir, { recursive: true });
  const path = join(dir, LOCK_FILE);
  const body: LockBody = { pid: Deno.pid, host: hostname(), started: new Date().toISOString() };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const f = Deno.openSync(path, { write: true, createNew: true });
      try {
        f.writeSync(new TextEncoder().encode(JSON.stringify(body) + "\n"));
      } finally {
        f.close();
      }
      return () => {
        if (readLock(path)?.pid === Deno.pid) {
          try {
            Deno.removeSync(path);
          } catch {
            // already gone
          }
        }
      };
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
    }
    let held = readLock(path);
    if (!held) {
      // Perhaps another trainer created it a moment ago and is still writing its pid.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
      held = readLock(path);
    }
    if (held && held.pid === Deno.pid) {
      throw new UsageError(`${dir} is already locked by this process`);
    }
    if (held && held.host !== body.host) {
      throw new UsageError(
        `${dir} is in use by pid ${held.pid} on ${held.host} (delete ${path} if that run is gone)`,
      );
    }
    if (held && alive(held.pid)) {
      throw new UsageError(`${dir} is in use by pid ${held.pid}`);
    }
    note(
      `train: taking over the lock of ${dir}: ${
        held ? `pid ${held.pid} (started ${held.started}) is gone` : "its lock file was unreadable"
      }`,
    );
    try {
      Deno.removeSync(path);
    } catch {
      // another process took it over first: the next attempt sees its lock
    }
  }
  throw new UsageError(`${dir}: could not take ${path}`);
}
