/**
 * `deno task train` run as a user runs it, on the smoke preset: the report files exist and agree
 * with each other, bad flags and bad data exit 2 with one line, a diverging run exits 1 naming
 * the step and the layer.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { task } from "./_util/task.ts";
import { readSafetensors } from "@fp4lab/quant-granularity";

const train = (args: string[]) => task("train", args);

Deno.test("e2e: deno task train --preset smoke writes a consistent run folder", async () => {
  const out = await Deno.makeTempDir({ prefix: "trainer_e2e_" });
  try {
    const run = join(out, "smoke-run");
    const steps = 8;
    const r = await train([
      "--preset",
      "smoke",
      "--recipes",
      "bf16,fp4,fp4-direct",
      "--steps",
      String(steps),
      "--data",
      "markov",
      "--ranks",
      "2",
      "--out",
      run,
      "--json",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const printed = JSON.parse(r.stdout); // --json: only JSON on stdout
    assert.ok(r.stderr.includes("tok/s") && r.stderr.includes("ETA"), "progress on stderr");
    for (const f of ["metrics.csv", "events.jsonl", "report.json", "report.md", "loss.svg"]) {
      assert.ok((await Deno.stat(join(run, f))).size > 0, f);
    }
    for (const recipe of ["bf16", "fp4", "fp4-direct"]) {
      assert.ok((await Deno.stat(join(run, recipe))).isDirectory);
      const cfg = JSON.parse(await Deno.readTextFile(join(run, recipe, "config.json")));
      assert.deepEqual(cfg.architectures, ["LlamaForCausalLM"]);
      const st = readSafetensors(await Deno.readFile(join(run, recipe, "model.safetensors")));
      const names = Object.keys(st.tensors);
      assert.equal(names.length, 3 + 9 * cfg.num_hidden_layers);
      for (
        const n of [
          "model.embed_tokens.weight",
          "model.layers.1.mlp.down_proj.weight",
          "lm_head.weight",
        ]
      ) assert.ok(names.includes(n), n);
      assert.deepEqual(st.tensors["model.layers.0.mlp.down_proj.weight"].shape, [
        cfg.hidden_size,
        cfg.intermediate_size,
      ]);
      assert.equal(st.metadata.recipe, recipe);
    }
    const report = JSON.parse(await Deno.readTextFile(join(run, "report.json")));
    assert.deepEqual(printed.recipes.map((x: { recipe: string }) => x.recipe), [
      "bf16",
      "fp4",
      "fp4-direct",
    ]);
    // The report's numbers come from the metrics: last val_loss and last-10% train mean.
    const rows = (await Deno.readTextFile(join(run, "metrics.csv"))).trim().split("\n").slice(1)
      .map((l) => l.split(","));
    assert.equal(rows.length, 3 * steps);
    // events.jsonl: one JSON line per recipe and step, the same numbers as metrics.csv.
    const events = (await Deno.readTextFile(join(run, "events.jsonl"))).trim().split("\n")
      .map((l) => JSON.parse(l));
    assert.equal(events.length, rows.length);
    events.forEach((e, i) => {
      assert.equal(e.recipe, rows[i][0]);
      assert.equal(e.step, Number(rows[i][1]));
      assert.equal(e.train_loss, Number(rows[i][3]));
      assert.equal(e.val_loss, rows[i][4] === "" ? undefined : Number(rows[i][4]));
    });
    // The chart's Vega-Lite spec beside it; every recipe has its own dash pattern.
    const spec = JSON.parse(await Deno.readTextFile(join(run, "loss.vl.json")));
    assert.equal(spec.hconcat[0].layer[0].encoding.strokeDash.scale.range.length, 3);
    for (const rec of report.recipes) {
      const mine = rows.filter((x) => x[0] === rec.recipe);
      assert.equal(Number(mine[steps - 1][4]), rec.valLoss);
      assert.equal(Number(mine[steps - 1][3]), rec.finalTrainLoss); // 10% of 8 steps = 1 step
      assert.ok(rec.valLoss < Math.log(256), "it learned something");
      assert.ok(rec.allReduceBytesPerStep > 2 * report.parameters, "2(R−1) FP8 bytes per weight");
      assert.equal(rec.allReduceBytesTotal, rec.allReduceBytesPerStep * steps);
      assert.ok(rec.memoryBytes > 4 * report.parameters);
    }
    const bf16 = report.recipes[0].valLoss;
    assert.equal(report.recipes[1].gapToBf16, report.recipes[1].valLoss - bf16);
    const fp4Stats = report.recipes[1].gemmStats["model.layers.0.mlp.down_proj"];
    assert.ok(fp4Stats.a.crestMean > 1 && fp4Stats.dge.meanFactor > 0);
    const svg = await Deno.readTextFile(join(run, "loss.svg"));
    assert.ok(svg.startsWith("<svg") && svg.includes("fp4-direct") && svg.includes("bf16"));
    const md = await Deno.readTextFile(join(run, "report.md"));
    assert.ok(md.includes("| fp4 |") && md.includes("loss.svg"));
    assert.ok(md.includes("FP8 ring all-reduce over 2 ranks"));
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("e2e: the terminal summary is an aligned table with units; report.md keeps the Markdown", async () => {
  const out = await Deno.makeTempDir({ prefix: "trainer_table_" });
  try {
    const run = join(out, "run");
    const r = await train([
      "--preset",
      "smoke",
      "--recipes",
      "bf16,fp4",
      "--steps",
      "2",
      "--data",
      "markov",
      "--out",
      run,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!r.stdout.includes("|"), `no Markdown on the terminal:\n${r.stdout}`);
    const lines = r.stdout.split("\n");
    const names = [
      "final train loss",
      "val loss",
      "± s.e.",
      "val bits",
      "gap to bf16",
      "throughput",
      "weights+optimizer",
    ];
    assert.ok(lines[0].startsWith("recipe"), lines[0]);
    for (const n of names) assert.ok(lines[0].includes(n), n);
    assert.match(
      lines[1],
      /^ +\(nats per byte\) +\(nats per byte\) +\(nats per byte\) +\(per byte\) +\(nats per byte\) +\(tokens\/s\) +\(MB\)$/,
    );
    assert.match(lines[2], /^-+( +-+){7}$/);
    const report = JSON.parse(await Deno.readTextFile(join(run, "report.json")));
    for (const [i, rec] of report.recipes.entries()) {
      const row = lines[3 + i];
      // Every number ends where its column's header ends (right-aligned under it).
      const ends = [...row.matchAll(/\S+/g)].map((m) => m.index! + m[0].length);
      assert.deepEqual(ends.slice(1), names.map((n) => lines[0].indexOf(n) + n.length), row);
      const cells = row.trim().split(/ +/);
      assert.deepEqual(cells.slice(0, 3), [
        rec.recipe,
        rec.finalTrainLoss.toFixed(4),
        rec.valLoss.toFixed(4),
      ]);
      assert.equal(cells[3], rec.valStandardError.toFixed(4));
      assert.equal(cells[5], (rec.gapToBf16 >= 0 ? "+" : "") + rec.gapToBf16.toFixed(4));
      assert.equal(cells[6], String(Math.round(rec.tokensPerSec)));
      assert.equal(cells[7], (rec.memoryBytes / 1e6).toFixed(2));
    }
    assert.match(r.stdout, /wrote .*run\/ \(report\.md/);
    const md = await Deno.readTextFile(join(run, "report.md"));
    assert.ok(md.includes("| recipe | final train loss |") && md.includes("| fp4 |"));
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("e2e: bad flags and bad data exit 2 with one line on stderr", async () => {
  const dir = await Deno.makeTempDir({ prefix: "trainer_bad_" });
  try {
    const small = join(dir, "small.txt");
    await Deno.writeTextFile(small, "too short");
    const empty = join(dir, "empty.txt");
    await Deno.writeTextFile(empty, "");
    const cases: [string[], RegExp][] = [
      [["--recipes", "fp5"], /unknown recipe "fp5"/],
      [["--preset", "huge"], /unknown preset "huge"/],
      [["--steps", "0"], /--steps must be a positive integer/],
      [["--batch", "3", "--ranks", "2"], /not divisible/],
      [["--lr=-1"], /--lr must be a positive number/],
      [["--lr", "-1"], /--lr/],
      [["--frobnicate"], /frobnicate/],
      [["--preset", "smoke", "--data", join(dir, "missing.txt")], /cannot read/],
      [["--preset", "smoke", "--data", empty], /empty/],
      [["--preset", "smoke", "--data", small], /fewer than one batch/],
    ];
    for (const [args, pattern] of cases) {
      const r = await train([...args, "--out", join(dir, "run")]);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      // Deno itself may print lock-wait or download notes when other processes share
      // node_modules (parallel test runs); everything else on stderr is the CLI's.
      const lines = r.stderr.trim().split("\n").filter((l) =>
        // deno-lint-ignore no-control-regex -- ANSI colour codes start with ESC
        !/^(\x1b\[[0-9;]*m)*(Blocking|Download|Initialize|Warning)\b/.test(l)
      );
      assert.equal(lines.length, 1, `${args.join(" ")}: ${r.stderr}`);
      assert.match(lines[0], pattern);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("e2e: a diverging run exits 1 naming the step and the layer", async () => {
  const dir = await Deno.makeTempDir({ prefix: "trainer_nan_" });
  try {
    const r = await train([
      "--preset",
      "smoke",
      "--recipes",
      "fp32",
      "--lr",
      "1e30",
      "--steps",
      "10",
      "--data",
      "markov",
      "--out",
      join(dir, "run"),
    ]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /non-finite loss .* at step \d+ .*first non-finite values in model\./);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("e2e: --help exits 0 and names every flag", async () => {
  const r = await train(["--help"]);
  assert.equal(r.code, 0);
  for (const f of ["--recipes", "--preset", "--steps", "--ranks", "--data", "--seed", "--lr"]) {
    assert.ok(r.stdout.includes(f), f);
  }
});

Deno.test("e2e: --data trains on a user's text file (last 10% held out)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "trainer_file_" });
  try {
    const file = join(dir, "my.txt");
    const text = "The jury said it did not. ".repeat(800);
    await Deno.writeTextFile(file, text);
    const r = await train([
      "--preset",
      "smoke",
      "--recipes",
      "fp32",
      "--steps",
      "3",
      "--data",
      file,
      "--out",
      join(dir, "run"),
      "--json",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.ok(report.data.source.includes("my.txt"));
    assert.equal(report.data.trainBytes, Math.floor(text.length * 0.9));
    assert.equal(report.data.trainBytes + report.data.valBytes, text.length);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
