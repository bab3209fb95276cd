// Runs an app as a user runs it (`deno task --quiet <name> ...` from the repository root) and
// reads what it printed; shared by the end-to-end tests.
import { join } from "node:path";

/** The repository root. */
export const ROOT = join(import.meta.dirname!, "..", "..");

/** What a command printed and how it ended. */
export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

const dec = new TextDecoder();

/** Runs `deno task --quiet name ...args` in the repository root. */
export async function task(name: string, args: string[]): Promise<Run> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", name, ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: r.code, stdout: dec.decode(r.stdout), stderr: dec.decode(r.stderr) };
}

/** stderr lines that are the CLI's (Deno may print lock or download notes in parallel runs). */
export function cliLines(stderr: string): string[] {
  const note = new RegExp(
    `^(${String.fromCharCode(27)}\\[[0-9;]*m)*(Blocking|Download|Initialize|Warning)\\b`,
  );
  return stderr.trim().split("\n").filter((l) => l.length > 0 && !note.test(l));
}
