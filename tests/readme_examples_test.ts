// The package READMEs are what jsr.io shows first: their TypeScript examples run here (deno test
// --doc evaluates a Markdown file's ts blocks when it is named) and assert what they show, so a
// README cannot drift from the code. gemm-webgpu's needs a GPU; train's and kernels' are run by
// their owners' tests.
import assert from "node:assert/strict";
import { join } from "node:path";

const ROOT = join(import.meta.dirname!, "..");
const READMES = [
  "packages/fp4-format/README.md",
  "packages/quant-granularity/README.md",
  "packages/safetensors/README.md",
  "packages/dge/README.md",
  "packages/outlier-comp/README.md",
  "packages/mixed-optim/README.md",
];

Deno.test("package READMEs: every ts example runs and its assertions hold", async () => {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["test", "--doc", ...READMES],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
  assert.equal(r.code, 0, out);
  for (const readme of READMES) assert.ok(out.includes(`${readme}#`), `${readme} has a ts example`);
});
