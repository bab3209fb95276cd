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
      "## (a) precision",
      "## (b) weights only",
      "## (c) activations only",
      "## (d) scaling granularity",
      "## Against the paper's directions",
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
    assert.equal(cells[2], `${m.toFixed(4)} ± ${sd.toFixed(4)}`, name);
    if (name !== "bf16") {
      const g = mean(xs.map((x, i) => x - bf16[i]));
      assert.ok(cells[3].startsWith(`${g >= 0 ? "+" : ""}${g.toFixed(4)} ± `), `${name} gap`);
    }
    const speed = mean(runs.filter((x) => x.recipe === name).map((x) => Number(x.tokens_per_s)));
    assert.ok(Math.abs(Number(cells[5]) - speed) <= 1, `${name} tokens/s`);
  }
  // The per-run files are the CSV's source.
  const one = JSON.parse(await Deno.readTextFile(join(dir, "runs", "fp4-s1.json")));
  assert.equal(String(one.valLoss), runs.find((x) => x.id === "fp4-s1")!.val_loss);

  // Resume: remove one result; only that run is redone, the others are read back unchanged.
  const keep = await Deno.readTextFile(join(dir, "runs", "bf16-s2.json"));
  await Deno.remove(join(dir, "runs", "nvfp4-s2.json"));
  const again = await reproduce(["fp4", "--quick", "--out", dir, "--budget-minutes", "99"]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /resuming: 33 of 34 runs already finished/);
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
  assert.equal(summary.runs.finished, 20);
  const sub = join(dir, "reproduce-scaling-law");
  const runs = parseRunsCsv(await Deno.readTextFile(join(sub, "runs.csv")));
  assert.equal(runs.length, 20);
  assert.equal(new Set(runs.map((x) => x.params)).size, 2);
  assert.equal(runs.filter((x) => x.log2Block === 0).length, 4, "bf16 rows are block none");
  const md = await Deno.readTextFile(join(dir, "reproduce-scaling-law.md"));
  for (
    const heading of [
      "## Measured validation loss",
      "## Fitted constants",
      "## Critical data size",
      "## Directions the law implies",
    ]
  ) assert.ok(md.includes(heading), heading);
  assert.match(md, /R² = /);
  assert.match(md, /the precision term alone .* gets R² = /);
  const results = csvRows(await Deno.readTextFile(join(sub, "results.csv")));
  const head = tableRow(md, "model");
  for (const x of results) {
    const cells = tableRow(md, `${x.model} | ${x.params} | ${x.steps}`);
    // the cells line up with the header's: model, N, steps, D, then one per configuration
    const col = head.indexOf(x.label);
    assert.ok(col >= 4, x.label);
    assert.equal(cells[col], Number(x.val_loss).toFixed(4), x.id);
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
    ]
  ) {
    const r = await reproduce(args);
    assert.equal(r.code, 2, args.join(" "));
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  }
});
