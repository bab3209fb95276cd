import assert from "node:assert/strict";
import { join } from "node:path";
import { parsePlan, UsageError } from "./cli.ts";
import { recipeSettings, resumePlan, RUN_FILE, writeRunFile } from "./resume.ts";

Deno.test("resume: --save-every and --resume are read; --resume is the run folder", () => {
  const p = parsePlan(["--save-every", "7", "--resume", "runs/x"]);
  assert.equal(p.saveEvery, 7);
  assert.equal(p.resume, "runs/x");
  assert.equal(p.out, "runs/x");
  assert.equal(parsePlan([]).saveEvery, 100);
  assert.equal(parsePlan([]).resume, null);
  assert.throws(() => parsePlan(["--save-every", "0"]), UsageError);
  assert.throws(() => parsePlan(["--resume", ""]), UsageError);
});

Deno.test("resume: the run's recorded flags come back; a differing flag is refused", async () => {
  const dir = await Deno.makeTempDir({ prefix: "resume_test_" });
  try {
    const out = join(dir, "run");
    const args = ["--preset", "smoke", "--recipes=fp4,bf16", "--steps", "12", "--lr", "1e-3"];
    writeRunFile(parsePlan([...args, "--out", out, "--json", "--save-every", "3"]), [
      ...args,
      "--out",
      out,
      "--json",
      "--save-every",
      "3",
    ]);
    const saved = JSON.parse(Deno.readTextFileSync(join(out, RUN_FILE)));
    assert.deepEqual(saved.args, args, "free flags are not recorded");
    assert.equal(saved.settings.preset, "smoke");

    const resumeArgs = ["--resume", out, "--save-every=5"];
    const plan = resumePlan(parsePlan(resumeArgs), resumeArgs);
    assert.equal(plan.config.name, "smoke");
    assert.deepEqual(plan.recipes.map((r) => r.name), ["fp4", "bf16"]);
    assert.deepEqual([plan.steps, plan.lr, plan.out, plan.saveEvery, plan.json], [
      12,
      1e-3,
      out,
      5,
      false,
    ]);
    assert.deepEqual(recipeSettings(plan, plan.recipes[1]), {
      preset: "smoke",
      recipe: "bf16",
      steps: 12,
      batch: 4,
      ranks: 1,
      lr: 1e-3,
      seed: 1,
      data: "brown",
    });
    // Repeating a flag with the run's value is fine; another value is not.
    const same = ["--resume", out, "--steps", "12"];
    assert.equal(resumePlan(parsePlan(same), same).steps, 12);
    for (
      const [extra, message] of [
        [["--preset", "tiny"], /trained with --preset smoke, not tiny/],
        [["--recipes", "fp4"], /--recipes fp4,bf16, not fp4/],
        [["--seed", "2"], /--seed 1, not 2/],
        [["--out", "elsewhere"], /cannot be given together/],
      ] as const
    ) {
      const a = ["--resume", out, ...extra];
      assert.throws(() => resumePlan(parsePlan(a), a), (e) => {
        assert.ok(e instanceof UsageError);
        assert.match(e.message, message);
        return true;
      });
    }
    const none = ["--resume", dir];
    assert.throws(() => resumePlan(parsePlan(none), none), /not a training run folder/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
