import assert from "node:assert/strict";
import { join } from "node:path";
import { parseRunsCsv } from "@fp4lab/scaling-law";
import { fp4Variants } from "./variants.ts";

const MAIN = new URL("./main.ts", import.meta.url).pathname;

async function reproduce(
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

function csvRows(text: string): Record<string, string>[] {
  const [head, ...lines] = text.trim().split("\n");
  const cols = head.split(",");
  return lines.map((l) => {
    const cells = l.split(",");
    return Object.fromEntries(cols.map((c, i) => [c, cells[i]]));
  });
}

// The cells of the Markdown table row whose first cell is `first`.
function tableRow(md: string, first: string): string[] {
  const line = md.split("\n").find((l) => l.startsWith(`| ${first} |`));
  assert.ok(line, `no table row for ${first}`);
  return line.slice(2, -2).split(" | ");
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

Deno.test("reproduce fp4 --quick: report structure, numbers from the runs, resume", async () => {
  const dir = await Deno.makeTempDir();
  const r = await reproduce(["fp4", "--quick", "--out", dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /ETA/);
  const md = await Deno.readTextFile(join(dir, "reproduce-fp4.md"));
  for (
    const heading of [
      "### (a) precision",
      "### (b) weights only",
      "### (c) activations only",
      "### (d) scaling granularity",
      "## Against the paper's directions",
      "**One learning rate.**",
    ]
  ) assert.ok(md.includes(heading), heading);
  assert.match(md, /- machine: .+/);
  assert.match(md, /- commands: `deno task reproduce fp4 --quick/);
  for (const f of ["loss.svg", "gap.svg"]) {
    const svg = await Deno.readTextFile(join(dir, "reproduce-fp4", f));
    assert.ok(svg.includes("<svg"), f);
    assert.ok(md.includes(`reproduce-fp4/${f}`), f);
    // The Vega-Lite spec it was rendered from, beside it, to restyle it.
    const spec = JSON.parse(
      await Deno.readTextFile(join(dir, "reproduce-fp4", f.replace(".svg", ".vl.json"))),
    );
    assert.match(spec.$schema, /vega-lite/, f);
    assert.ok(spec.data.values.length > 0, f);
  }
  const lossSpec = JSON.parse(
    await Deno.readTextFile(join(dir, "reproduce-fp4", "loss.vl.json")),
  );
  assert.deepEqual(
    lossSpec.data.values.map((v: { recipe: string }) => v.recipe).sort(),
    fp4Variants().map((v) => v.recipe.name).filter((n) => n !== "bf16").sort(),
    "one point per recipe but bf16",
  );
  // Every variant has a row whose loss, spread and gap equal the per-run CSV's.
  const runs = csvRows(await Deno.readTextFile(join(dir, "reproduce-fp4", "runs.csv")));
  assert.equal(runs.length, 2 * fp4Variants().length);
  const val = (recipe: string) =>
    runs.filter((x) => x.recipe === recipe).sort((a, b) => +a.seed - +b.seed).map((x) =>
      Number(x.val_loss)
    );
  const bf16 = val("bf16");
  for (const v of fp4Variants()) {
    const name = v.recipe.name;
    const xs = val(name);
    assert.equal(xs.length, 2);
    const m = mean(xs);
    const sd = Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
    const cells = tableRow(md, `\`${name}\``);
    assert.equal(cells[2], "0.003", name);
    assert.equal(cells[3], `${m.toFixed(4)} ± ${sd.toFixed(4)}`, name);
    if (name !== "bf16") {
      const g = mean(xs.map((x, i) => x - bf16[i]));
      assert.ok(cells[4].startsWith(`${g >= 0 ? "+" : ""}${g.toFixed(4)} ± `), `${name} gap`);
    }
    const speed = mean(runs.filter((x) => x.recipe === name).map((x) => Number(x.tokens_per_s)));
    assert.ok(Math.abs(Number(cells[6]) - speed) <= 1, `${name} tokens/s`);
  }
  // The per-run files are the CSV's source.
  const one = JSON.parse(await Deno.readTextFile(join(dir, "runs", "fp4-s1.json")));
  assert.equal(String(one.valLoss), runs.find((x) => x.id === "fp4-s1")!.val_loss);

  // Resume: remove one result; only that run is redone, the others are read back unchanged.
  const keep = await Deno.readTextFile(join(dir, "runs", "bf16-s2.json"));
  await Deno.remove(join(dir, "runs", "nvfp4-s2.json"));
  const again = await reproduce(["fp4", "--quick", "--out", dir, "--budget-minutes", "99"]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /resuming: 37 of 38 runs already finished/);
  assert.match(again.stderr, /nvfp4-s2: val/);
  assert.doesNotMatch(again.stderr, /bf16-s2: val/);
  assert.equal(await Deno.readTextFile(join(dir, "runs", "bf16-s2.json")), keep);
  await Deno.stat(join(dir, "runs", "nvfp4-s2.json"));
  const md2 = await Deno.readTextFile(join(dir, "reproduce-fp4.md"));
  assert.match(
    md2,
    /fp4 --quick --out \S+`, then `deno task reproduce fp4 --quick .*--budget-minutes 99/,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("reproduce scaling-law --quick: runs CSV for plan fit, table equals the runs", async () => {
  const dir = await Deno.makeTempDir();
  const r = await reproduce(["scaling-law", "--quick", "--out", dir, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout);
  // 2 models x 2 lengths x 4 configurations x 2 seeds
  assert.equal(summary.runs.finished, 32);
  const sub = join(dir, "reproduce-scaling-law");
  const runs = parseRunsCsv(await Deno.readTextFile(join(sub, "runs.csv")));
  assert.equal(runs.length, 32);
  assert.equal(new Set(runs.map((x) => x.params)).size, 2);
  assert.equal(runs.filter((x) => x.log2Block === 0).length, 8, "bf16 rows are block none");
  assert.equal(runs.filter((x) => Math.abs(x.log2Block - 13.1567) < 1e-9).length, 8, "channel");
  const md = await Deno.readTextFile(join(dir, "reproduce-scaling-law.md"));
  for (
    const heading of [
      "## Measured validation loss",
      "## Fitted constants",
      "## Critical data size",
      "## Directions the law implies",
      "## Power: the smallest penalty this sweep can see",
      "## The law's signature: does the E1M1-Bch penalty grow as D^β?",
    ]
  ) assert.ok(md.includes(heading), heading);
  // the detectable size follows from the measured noise: (t.975 + t.8; 1 df) · sd / √2
  const sd = summary.power.measuredSd;
  assert.ok(sd > 0);
  assert.ok(Math.abs(summary.power.mde - (12.706 + 1.376) * sd / Math.sqrt(2)) < 1e-3 * sd);
  assert.ok(md.includes(`**${summary.power.mde.toFixed(3)} nats**`));
  assert.match(md, /R² = /);
  assert.match(md, /the precision term alone .* gets R² = /);
  const results = csvRows(await Deno.readTextFile(join(sub, "results.csv")));
  const head = tableRow(md, "model");
  for (const x of results) {
    const cells = tableRow(md, `${x.model} | ${x.params} | ${x.steps}`);
    // the cells line up with the header's: model, N, steps, D, then one per configuration,
    // each the mean over seeds
    const col = head.indexOf(x.label);
    assert.ok(col >= 4, x.label);
    const same = results.filter((o) =>
      o.model === x.model && o.steps === x.steps && o.label === x.label
    );
    assert.equal(same.length, 2);
    assert.equal(cells[col], mean(same.map((o) => Number(o.val_loss))).toFixed(4), x.id);
    const matching = runs.filter((o) => o.loss === Number(x.val_loss));
    assert.equal(matching.length, 1, `${x.id} is in runs.csv`);
  }
  for (const f of ["predicted-vs-measured", "loss-vs-tokens", "penalty"]) {
    assert.ok((await Deno.readTextFile(join(sub, `${f}.svg`))).includes("<svg"), f);
    const spec = JSON.parse(await Deno.readTextFile(join(sub, `${f}.vl.json`)));
    assert.match(spec.$schema, /vega-lite/, f);
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("reproduce: bad input exits 2 with one line", async () => {
  for (
    const args of [
      ["nonsense"],
      [],
      ["fp4", "--budget-minutes", "-3"],
      ["fp4", "--preset", "huge"],
      ["scaling-law", "--seeds", "2"],
      ["fp4", "--recipes", "bf16,nope"],
      ["fp4", "--bogus"],
      ["fp4", "--lr-grid", "1e-3,zero"],
      ["fp4", "--lr-grid", ","],
      ["fp4", "--quick", "--ranks", "3"],
      ["fp4", "--shard", "2/2"],
      ["fp4", "--shard", "a"],
      ["fp4", "--shard", "0/2", "--report-only"],
      ["scaling-law", "--lr-grid", "1e-3"],
    ]
  ) {
    const r = await reproduce(args);
    assert.equal(r.code, 2, args.join(" "));
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  }
});

Deno.test("reproduce fp4 --lr-grid: each recipe at its best rate, the gap at every rate, lr checked on reuse", async () => {
  const dir = await Deno.makeTempDir();
  const args = [
    "fp4",
    "--quick",
    "--out",
    dir,
    "--recipes",
    "bf16,fp4",
    "--lr-grid",
    "4e-3,1e-3",
    "--ranks",
    "2",
  ];
  const r = await reproduce([...args, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout);
  assert.deepEqual(summary.lrs, [1e-3, 4e-3]);
  const runs = csvRows(await Deno.readTextFile(join(dir, "reproduce-fp4", "runs.csv")));
  assert.equal(runs.length, 2 * 2 * 2, "recipes x rates x seeds");
  assert.deepEqual(
    runs.filter((x) => x.recipe === "fp4").map((x) => x.ranks),
    ["2", "2", "2", "2"],
    "the fp4 rows exercise the FP8 all-reduce",
  );
  assert.ok(runs.filter((x) => x.recipe === "bf16").every((x) => x.ranks === "1"));
  const md = await Deno.readTextFile(join(dir, "reproduce-fp4.md"));
  assert.ok(md.indexOf("## Tuned: each recipe at its own best learning rate") > 0);
  assert.ok(
    md.indexOf("## Tuned") < md.indexOf("## The gap at every learning rate"),
    "the page leads with best-vs-best",
  );
  assert.doesNotMatch(md, /\*\*One learning rate\.\*\*/);
  assert.match(md, /This page makes 1 comparison/);
  // The best rate is the one with the lowest mean over seeds, and the row shows its numbers.
  const meanAt = (recipe: string, lr: string) =>
    mean(runs.filter((x) => x.recipe === recipe && x.lr === lr).map((x) => Number(x.val_loss)));
  const best: Record<string, string> = {};
  for (const recipe of ["bf16", "fp4"]) {
    best[recipe] = meanAt(recipe, "0.001") <= meanAt(recipe, "0.004") ? "0.001" : "0.004";
    const row = summary.rows.find((x: { recipe: string }) => x.recipe === recipe);
    assert.equal(String(row.bestLr), best[recipe], recipe);
    const cells = tableRow(md, `\`${recipe}\``);
    assert.ok(cells[2].startsWith(best[recipe]), `${recipe} best lr cell ${cells[2]}`);
    assert.ok(cells[3].startsWith(meanAt(recipe, best[recipe]).toFixed(4)), `${recipe} val`);
  }
  // best against best, paired by seed
  const at = (recipe: string, lr: string) =>
    runs.filter((x) => x.recipe === recipe && x.lr === lr).sort((a, b) => +a.seed - +b.seed)
      .map((x) => Number(x.val_loss));
  const f = at("fp4", best.fp4), b = at("bf16", best.bf16);
  const check = summary.checks[0];
  assert.equal(check.worse, "fp4");
  assert.ok(Math.abs(check.diff - mean(f.map((x, i) => x - b[i]))) < 1e-12);
  // The gap at every rate: fp4 minus bf16 at the same rate.
  const gapLine = md.split("\n").find((l) => l.startsWith("| `fp4` | ") && l.includes("["));
  assert.ok(gapLine, "gap row");
  const g1 = mean(at("fp4", "0.001").map((x, i) => x - at("bf16", "0.001")[i]));
  assert.ok(gapLine!.includes(`${g1 >= 0 ? "+" : "−"}${Math.abs(g1).toFixed(3)} [`), gapLine);
  // A result file records its rate; one trained at another rate is refused with exit 2.
  const file = join(dir, "runs", "fp4-lr1e-3-s1.json");
  const saved = JSON.parse(await Deno.readTextFile(file));
  assert.equal(saved.settings.lr, 1e-3);
  assert.equal(saved.settings.ranks, 2);
  saved.settings.lr = 2e-3;
  await Deno.writeTextFile(file, JSON.stringify(saved));
  const bad = await reproduce([...args]);
  assert.equal(bad.code, 2);
  assert.match(
    bad.stderr,
    /fp4-lr1e-3-s1\.json was trained with lr 0\.002, but the plan says 0\.001/,
  );
  // A resume with another grid is refused, not silently merged.
  const other = await reproduce(["fp4", "--quick", "--out", dir, "--lr-grid", "1e-3"]);
  assert.equal(other.code, 2);
  assert.match(other.stderr, /planned with --lr-grid 0\.001,0\.004, not 0\.001/);
  await Deno.remove(dir, { recursive: true });
});

// The page with what depends on the wall clock taken out (commands, timings, tokens/s).
function steadyPage(md: string): string {
  return md.split("\n").filter((l) => !/^- (commands|runs):|s per run|^ {2}`deno task/.test(l))
    .map((l) => {
      if (!l.startsWith("| `")) return l;
      const cells = l.split(" | ");
      return cells.length === 8 ? cells.filter((_c, i) => i !== 6).join(" | ") : l;
    }).join("\n");
}

Deno.test("reproduce --shard: two shards in two processes give the one-process page", async () => {
  const one = await Deno.makeTempDir(), two = await Deno.makeTempDir();
  const base = ["fp4", "--quick", "--recipes", "bf16,fp4,fp4-direct"];
  const single = await reproduce([...base, "--out", one]);
  assert.equal(single.code, 0, single.stderr);
  const [a, b] = await Promise.all([
    reproduce([...base, "--out", two, "--shard", "0/2"]),
    reproduce([...base, "--out", two, "--shard", "1/2"]),
  ]);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(b.code, 0, b.stderr);
  // Each shard ran only its own runs; exactly the last one to finish wrote the page (or both,
  // when they finished together: the same page, written atomically).
  assert.match(a.stderr + b.stderr, /wrote /);
  const ids = (text: string) => [...text.matchAll(/^(\S+): val /gm)].map((m) => m[1]).sort();
  const ranA = ids(a.stderr), ranB = ids(b.stderr);
  assert.equal(ranA.length + ranB.length, 6);
  assert.ok(!ranA.some((id) => ranB.includes(id)), "no run trained twice");
  const page1 = await Deno.readTextFile(join(one, "reproduce-fp4.md"));
  const page2 = await Deno.readTextFile(join(two, "reproduce-fp4.md"));
  assert.equal(steadyPage(page2), steadyPage(page1));
  assert.match(page2, /--shard i\/2/);
  const val = async (d: string) =>
    csvRows(await Deno.readTextFile(join(d, "reproduce-fp4", "runs.csv"))).map((x) =>
      `${x.id}=${x.val_loss}`
    );
  assert.deepEqual(await val(two), await val(one), "the same runs, bit for bit");
  // A budgeted plan is saved once before sharding (machines would time their own steps).
  const three = await Deno.makeTempDir();
  const refused = await reproduce([
    ...base,
    "--out",
    three,
    "--budget-minutes",
    "1",
    "--shard",
    "0/2",
  ]);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /--plan-only/);
  for (const d of [one, two, three]) await Deno.remove(d, { recursive: true });
});

Deno.test("reproduce outliers --quick: injected gains raise the crest; page, figures, per-step crest", async () => {
  const dir = await Deno.makeTempDir();
  const r = await reproduce(["outliers", "--quick", "--out", dir, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout);
  assert.equal(summary.runs.finished, 2 * 2 * 3, "seeds x gains x recipes");
  const md = await Deno.readTextFile(join(dir, "reproduce-outliers.md"));
  for (const h of ["## Injected outliers", "## OCC against the direct cast", "√32 = 5.7"]) {
    assert.ok(md.includes(h), h);
  }
  assert.match(md, /Direct W4A4 casting (did not fail|fails from a crest)/);
  for (const f of ["loss.svg", "crest.svg"]) {
    assert.ok((await Deno.readTextFile(join(dir, "reproduce-outliers", f))).includes("<svg"), f);
  }
  const runs = csvRows(await Deno.readTextFile(join(dir, "reproduce-outliers", "runs.csv")));
  const crest = (gain: string) =>
    mean(runs.filter((x) => x.gain === gain).map((x) => Number(x.crest_gate_up)));
  assert.ok(crest("16") > 1.5 * crest("1"), `crest ${crest("1")} -> ${crest("16")}`);
  assert.ok(crest("16") < Math.sqrt(32), "bounded by the row width");
  const one = JSON.parse(await Deno.readTextFile(join(dir, "runs", "fp4-direct-g16-s1.json")));
  assert.ok(one.statsHistory.length >= 2, "crest over training, not only at the end");
  assert.equal(one.settings.frozen.length, 2 * 2, "the frozen gains are part of the settings");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("reproduce --plan-only saves the plan and trains nothing; shards then share it", async () => {
  const dir = await Deno.makeTempDir();
  const base = ["fp4", "--quick", "--recipes", "bf16,fp4", "--budget-minutes", "1", "--out", dir];
  const planned = await reproduce([...base, "--plan-only"]);
  assert.equal(planned.code, 0, planned.stderr);
  const plan = JSON.parse(await Deno.readTextFile(join(dir, "plan.json")));
  assert.ok(plan.calibration.bf16 > 0, "the budget was timed once, here");
  await assert.rejects(() => Deno.stat(join(dir, "runs")), Deno.errors.NotFound);
  const shard = await reproduce([...base, "--shard", "1/2"]);
  assert.equal(shard.code, 0, shard.stderr);
  assert.match(shard.stderr, /resuming the sweep .* with its saved plan/);
  assert.match(shard.stderr, /other shards' and not finished yet/);
  const ran = (await Array.fromAsync(Deno.readDir(join(dir, "runs")))).map((e) => e.name).sort();
  // plan order bf16-s1, fp4-s1, bf16-s2, fp4-s2: every second run, starting at run 1
  assert.deepEqual(ran, ["fp4-s1.json", "fp4-s2.json"]);
  assert.deepEqual(JSON.parse(await Deno.readTextFile(join(dir, "plan.json"))), plan);
  await Deno.remove(dir, { recursive: true });
});
