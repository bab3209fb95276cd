// The package READMEs are what jsr.io shows first: their TypeScript examples run here (deno test
// --doc evaluates a Markdown file's ts blocks when it is named) and assert what they show, so a
// README cannot drift from the code. The guides with runnable blocks are run the same way.
// gemm-webgpu's README needs a WebGPU adapter: skipped without one, except in CI (as the GPU
// kernel tests are). train's README trains a model for 20 steps and runs with its package.
import assert from "node:assert/strict";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const ROOT = join(import.meta.dirname!, "..");
const READMES = [
  "packages/fp4-format/README.md",
  "packages/quant-granularity/README.md",
  "packages/safetensors/README.md",
  "packages/dge/README.md",
  "packages/outlier-comp/README.md",
  "packages/mixed-optim/README.md",
  "packages/scaling-law/README.md",
  "packages/planner/README.md",
  "kernels/README.md",
  "docs/checkpoint-layouts.md",
  "docs/recipes.md",
  "README.md",
];

async function docTest(files: string[]): Promise<void> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["test", "-A", "--doc", ...files],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
  assert.equal(r.code, 0, out);
  for (const file of files) {
    const url = pathToFileURL(join(ROOT, file)).href;
    assert.ok(out.includes(`${url}#`), `${file} has a ts example`);
  }
}

Deno.test("package READMEs and guides: every ts example runs and its assertions hold", async () => {
  await docTest(READMES);
});

const hasAdapter = await (async () => {
  try {
    return (await navigator.gpu?.requestAdapter()) != null;
  } catch {
    return false;
  }
})();
Deno.test({
  name: "gemm-webgpu README: its ts example runs on a WebGPU adapter and its assertions hold",
  ignore: !hasAdapter && Deno.env.get("CI") !== "true",
  fn: () => docTest(["packages/gemm-webgpu/README.md"]),
});

// outlier-comp's README asserts the Markdown formatFidelityTable returns, then shows it rendered:
// the rendered table must hold the same cells.
Deno.test("outlier-comp README: the rendered fidelity table is the one its example asserts", async () => {
  const readme = await Deno.readTextFile(join(ROOT, "packages/outlier-comp/README.md"));
  const cells = (lines: string[]) =>
    lines.filter((l) => l.startsWith("|") && !/^\|[\s|-]+\|$/.test(l)).map((l) =>
      l.split("|").slice(1, -1).map((c) => c.trim())
    );
  const asserted =
    /formatFidelityTable\(fidelityTable\(a, 64, 2048\)\),\n {2}`\n([\s\S]*?)`\.trim\(\)/
      .exec(readme);
  assert.ok(asserted, "the example asserts the table");
  const rendered = /renders as\n\n((?:\|.*\n)+)/.exec(readme);
  assert.ok(rendered, "the README shows the table rendered");
  const want = cells(asserted[1].split("\n"));
  assert.equal(want.length, 8);
  assert.deepEqual(cells(rendered[1].split("\n")), want);
});
