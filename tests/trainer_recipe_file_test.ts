/**
 * `deno task train --recipes NAME,FILE.json`: a recipe file trains beside a built-in recipe and
 * its checkpoint's recipe.json reads back through parseRecipe; a malformed file exits 2 with one
 * line naming the field.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT, task } from "./_util/task.ts";
import { parseRecipe } from "@fp4lab/train";

const train = (args: string[]) => task("train", args);

Deno.test("e2e: a recipe file trains beside a built-in recipe", async () => {
  const out = await Deno.makeTempDir({ prefix: "trainer_recipe_" });
  try {
    const file = join(ROOT, "docs/examples/fp4-occ97.recipe.json");
    const run = join(out, "run");
    const r = await train([
      "--preset",
      "smoke",
      "--recipes",
      `fp4,${file}`,
      "--steps",
      "4",
      "--data",
      "markov",
      "--out",
      run,
      "--json",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.deepEqual(report.recipes.map((x: { recipe: string }) => x.recipe), ["fp4", "fp4-occ97"]);
    const saved = parseRecipe(await Deno.readTextFile(join(run, "fp4-occ97", "recipe.json")));
    assert.deepEqual(saved, parseRecipe(await Deno.readTextFile(file)));
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("e2e: a malformed recipe file exits 2 with one line naming the field", async () => {
  const out = await Deno.makeTempDir({ prefix: "trainer_recipe_" });
  try {
    const recipe = JSON.parse(
      await Deno.readTextFile(join(ROOT, "docs/examples/fp4-occ97.recipe.json")),
    );
    recipe.linear.forward.a.format = "E9M9";
    const bad = join(out, "bad.json");
    await Deno.writeTextFile(bad, JSON.stringify(recipe));
    const r = await train([
      "--preset",
      "smoke",
      "--recipes",
      `fp4,${bad}`,
      "--out",
      join(out, "r"),
    ]);
    assert.equal(r.code, 2);
    const lines = r.stderr.trim().split("\n");
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /bad\.json: linear\.forward\.a\.format: unknown format "E9M9"/);
    const missing = await train(["--preset", "smoke", "--recipes", join(out, "nope.json")]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /nope\.json: cannot read/);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
