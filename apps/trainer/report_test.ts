import assert from "node:assert/strict";
import { join } from "node:path";
import { PRESETS, RECIPES } from "@fp4lab/train";
import { markovSource } from "./data.ts";
import { writeReport } from "./report.ts";
import { trainRecipe } from "./train.ts";

Deno.test("report: writes the run's reports only; the recipe folders are the checkpoints' (one writer per file)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "report_test_" });
  try {
    const config = PRESETS.smoke;
    const result = await trainRecipe(RECIPES.fp32, markovSource(20000), {
      config,
      steps: 2,
      batch: 2,
      ranks: 1,
      lr: 1e-3,
      seed: 1,
      evalPoints: 1,
      valWindows: 2,
    });
    await writeReport(
      dir,
      {
        name: "x",
        command: "deno task train",
        machine: "test",
        config,
        settings: { steps: 2, batch: 2, ranks: 1, lr: 1e-3, seed: 1 },
        data: { source: "markov", trainBytes: 1, valBytes: 1, entropyRate: null },
        seconds: 1,
      },
      [RECIPES.fp32],
      [result],
    );
    const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assert.deepEqual(names, [
      "events.jsonl",
      "loss.svg",
      "loss.vl.json",
      "metrics.csv",
      "report.json",
      "report.md",
    ]);
    assert.ok(!names.includes("fp32"), "no recipe folder written by the report");
    assert.equal(JSON.parse(await Deno.readTextFile(join(dir, "report.json"))).name, "x");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
