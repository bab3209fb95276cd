// The checkpoint-layouts guide is executable documentation: `deno test --doc` runs its TypeScript
// blocks. This test makes sure those blocks stay there (a block turned into ```text would silently
// stop being checked) and that the end-to-end one still decodes both layouts from a file.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const doc = await Deno.readTextFile(
  fileURLToPath(new URL("../docs/checkpoint-layouts.md", import.meta.url)),
);
const readme = await Deno.readTextFile(
  fileURLToPath(new URL("../packages/quant-granularity/README.md", import.meta.url)),
);

function tsBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
}

Deno.test("docs/checkpoint-layouts.md keeps a runnable end-to-end decoding example", () => {
  const blocks = tsBlocks(doc);
  const e2e = blocks.find((b) => b.includes("readSafetensors"));
  assert.ok(e2e, "a ts block reads a safetensors file");
  for (
    const call of [
      "writeSafetensors",
      "Deno.writeFile",
      "decodeGptOssMxfp4",
      "decodeModelOptNvfp4",
      "throw new Error",
    ]
  ) {
    assert.ok(e2e.includes(call), `the end-to-end block uses ${call}`);
  }
});

Deno.test("the package README keeps its runnable error-table example, asserting the table it shows", () => {
  const table = tsBlocks(readme).find((b) => b.includes("formatErrorTable"));
  assert.ok(table && table.includes("heavyTailedActivations"));
  assert.match(table, /assert\.equal\(\s*formatErrorTable\(table\),\s*`\n\| scheme /);
});
