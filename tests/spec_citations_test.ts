// SPEC.md and spec/*.md are the maintainers' notes and are not in the repository: what a user
// reads (the trainer's README, the reports the reproductions write, the docs they produced) states
// each decision in words instead of citing "SPEC.md 17".
import assert from "node:assert/strict";
import { join } from "node:path";

const ROOT = join(import.meta.dirname!, "..");

const USER_FACING = [
  "apps/trainer/README.md",
  "apps/trainer/train.ts",
  "apps/trainer/reproduce/fp4.ts",
  "apps/trainer/reproduce/scaling.ts",
  "docs/reproduce-fp4.md",
  "docs/reproduce-fp4-250/reproduce-fp4.md",
  "docs/reproduce-fp4-600/reproduce-fp4.md",
  "docs/reproduce-scaling-law.md",
];

Deno.test("docs: the trainer's README, the reproduction reports and their generators cite no SPEC.md", async () => {
  for (const path of USER_FACING) {
    const text = await Deno.readTextFile(join(ROOT, path));
    for (const bad of [/SPEC\.md/, /\bSPEC \d/, /\bspec\/[a-z-]+\.md/]) {
      const hit = text.match(bad);
      assert.equal(hit, null, `${path}: "${hit?.[0]}" is not a document a user can open`);
    }
  }
});
