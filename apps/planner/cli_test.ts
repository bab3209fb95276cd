// End-to-end: `deno task plan ...` spawned from the repository root, as a user runs it.
import assert from "node:assert/strict";
import { assertClose } from "../../tests/_util/assert.ts";
import { elements, groups, parseSvg } from "../../tests/_util/svg.ts";
import {
  computeOptimal,
  criticalTokens,
  fitConstants,
  formatRunsCsv,
  loss,
  paperGrid,
  simulateRuns,
} from "@fp4lab/scaling-law";

const ROOT = new URL("../../", import.meta.url).pathname;

interface Ran {
  code: number;
  stdout: string;
  /** stderr without the "Task plan ..." line that `deno task` itself prints. */
  stderr: string[];
}

async function plan(...argv: string[]): Promise<Ran> {
  const out = await new Deno.Command("deno", {
    args: ["task", "plan", ...argv],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  // deno-lint-ignore no-control-regex
  const strip = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, "");
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: strip(new TextDecoder().decode(out.stderr))
      .split("\n")
      .filter((l) => l.trim() !== "" && !/^Task plan /.test(l)),
  };
}

Deno.test("plan dcrit: human table with units, the paper's 1730T / 27.3T / 393B", async () => {
  const r = await plan("dcrit", "--params", "1e9", "--format", "bf16,e4m3,e2m1", "--block", "128");
  assert.equal(r.code, 0, r.stderr.join("\n"));
  assert.deepEqual(r.stderr, []);
  assert.match(r.stdout, /E8M7\s+1\.73e15 tokens \(1730T\)/);
  assert.match(r.stdout, /E4M3\s+2\.73e13 tokens \(27\.3T\)/);
  assert.match(r.stdout, /E2M1\s+3\.93e11 tokens \(393B\)/);
});

Deno.test("plan dcrit --json: criticalTokens as the package computes it", async () => {
  const r = await plan("dcrit", "--params", "1e9", "--format", "E4M3", "--block", "128", "--json");
  assert.equal(r.code, 0);
  const all = JSON.parse(r.stdout);
  assert.ok(Array.isArray(all) && all.length === 1, "one format: still an array");
  const json = all[0];
  const want = criticalTokens({ params: 1e9, exponentBits: 4, mantissaBits: 3, log2Block: 7 });
  assert.equal(json.criticalTokens, want);
  assert.equal(json.format, "E4M3");
  assertClose(
    json.loss,
    loss({ params: 1e9, tokens: want, exponentBits: 4, mantissaBits: 3, log2Block: 7 }),
  );
});

Deno.test("plan loss --json: loss, Chinchilla part and penalty (section 10 check 1 numbers)", async () => {
  const r = await plan(
    "loss",
    "--params",
    "1e9",
    "--tokens",
    "1T",
    "--format",
    "fp4",
    "--block",
    "128",
    "--json",
  );
  assert.equal(r.code, 0);
  const json = JSON.parse(r.stdout);
  assertClose(json.loss, 2.577674, { atol: 5e-7 });
  assertClose(json.chinchilla, 2.462009, { atol: 5e-7 });
  assertClose(json.penalty, json.loss - json.chinchilla, { rtol: 1e-12 });
  assert.equal(json.format, "E2M1");
});

Deno.test("plan loss: human output names each part", async () => {
  const r = await plan(
    "loss",
    "--params",
    "7B",
    "--tokens",
    "2e12",
    "--format",
    "e4m3",
    "--block",
    "channel",
  );
  assert.equal(r.code, 0);
  assert.match(
    r.stdout,
    /N = 7\.00e9 params \(7B\), D = 2\.00e12 tokens \(2T\), E4M3, channel-wise/,
  );
  const want = loss({
    params: 7e9,
    tokens: 2e12,
    exponentBits: 4,
    mantissaBits: 3,
    log2Block: 13.1567,
  });
  assert.match(r.stdout, new RegExp(`loss\\s+${want.toFixed(6)}`));
  assert.match(r.stdout, /precision penalty/);
});

Deno.test("plan format: one P as JSON, the 1-16 table as CSV", async () => {
  const one = await plan("format", "--bits", "4", "--json");
  assert.equal(one.code, 0);
  const [json, ...rest] = JSON.parse(one.stdout);
  assert.deepEqual(rest, [], "one P: an array of one");
  assert.equal(json.format, "E2M1");
  assert.equal(json.exponentBits, 2);
  assert.equal(json.mantissaBits, 1);
  const table = await plan("format", "--bits", "1-16", "--csv");
  assert.equal(table.code, 0);
  const rows = table.stdout.trim().split("\n");
  assert.equal(
    rows[0],
    "bits,format,exponent_bits,mantissa_bits,continuous_exponent_bits,continuous_mantissa_bits",
  );
  assert.deepEqual(rows.slice(1).map((r) => r.split(",")[1]), [
    "E0M0",
    "E1M0",
    "E1M1",
    "E2M1",
    "E2M2",
    "E3M2",
    "E3M3",
    "E4M3",
    "E4M4",
    "E5M4",
    "E5M5",
    "E6M5",
    "E6M6",
    "E7M6",
    "E7M7",
    "E8M7",
  ]);
});

Deno.test("plan budget --json: joint and constrained optima", async () => {
  const r = await plan("budget", "--compute", "1e21", "--block", "128", "--json");
  assert.equal(r.code, 0);
  const [json, ...rest] = JSON.parse(r.stdout);
  assert.deepEqual(rest, [], "one budget: an array of one");
  assertClose(json.precision, 4.190, { atol: 5e-4 });
  assert.equal(json.format, "E2M1");
  const want = computeOptimal(1e21, { log2Block: 7 });
  assertClose(json.params, want.params, { rtol: 1e-12 });
  assertClose(json.tokens, want.tokens, { rtol: 1e-12 });
  const [fixedN] = JSON.parse(
    (await plan("budget", "--compute", "1e23", "--params", "1e9", "--json")).stdout,
  );
  assertClose(fixedN.precision, 11.717, { atol: 5e-4 });
  assert.equal(fixedN.constraint, "params");
  const [fixedD] = JSON.parse(
    (await plan("budget", "--compute", "1e23", "--tokens", "1e11", "--json")).stdout,
  );
  assertClose(fixedD.precision, 4.268, { atol: 5e-4 });
});

Deno.test("plan budget --csv: one row per budget", async () => {
  const r = await plan("budget", "--compute", "1e21,1e24,1e27,1e31", "--csv");
  assert.equal(r.code, 0);
  const rows = r.stdout.trim().split("\n").map((l) => l.split(","));
  assert.equal(rows.length, 5);
  const p = rows.slice(1).map((row) => Number(row[1]));
  assert.ok(p.every((v, i) => v >= 4 && v <= 8 && (i === 0 || v > p[i - 1])), `P ${p}`);
});

Deno.test("plan tradeoff --json: the invariant holds on every row", async () => {
  const r = await plan("tradeoff", "--compute", "1e24", "--params", "1e9,1e10,1e11", "--json");
  assert.equal(r.code, 0);
  const json = JSON.parse(r.stdout);
  assert.equal(json.rows.length, 3);
  for (const row of json.rows) {
    assertClose(
      row.precision ** json.precisionExponent * row.params ** json.paramsExponent,
      json.constant,
      {
        rtol: 1e-9,
      },
    );
  }
  assert.ok(json.rows[0].precision > json.rows[2].precision);
});

Deno.test("plan dcrit --svg: valid XML with one line and one legend entry per format, D_crit labelled", async () => {
  const file = await Deno.makeTempFile({ suffix: ".svg" });
  try {
    const r = await plan("dcrit", "--params", "1e9", "--format", "bf16,e4m3,e2m1", "--svg", file);
    assert.equal(r.code, 0, r.stderr.join("\n"));
    assert.match(r.stdout, new RegExp(`plot: ${file}`));
    const svg = await parseSvg(await Deno.readTextFile(file));
    // The legend says what was typed (bf16), with the format it stands for.
    const names = ["bf16 (E8M7)", "E4M3", "E2M1", "D_crit 1730T", "D_crit 27.3T", "D_crit 393B"];
    for (const name of names) {
      assert.ok(svg.texts.includes(name), `missing text "${name}" in ${svg.texts.join("|")}`);
    }
    const paths = svg.lines.flatMap((g) => elements(g, "path"));
    assert.equal(paths.length, 3);
    assert.ok(svg.texts.includes("training tokens D"));
    assert.ok(svg.texts.includes("predicted loss (nats per token)"), "the y axis has its unit");
    // The Vega-Lite spec is saved beside the SVG.
    const spec = JSON.parse(await Deno.readTextFile(file.replace(/\.svg$/, ".vl.json")));
    assert.match(spec.$schema, /vega-lite/);
    assert.equal(spec.layer.length, 3);
    assert.match(r.stdout, /Vega-Lite spec: .*\.vl\.json\)/);
  } finally {
    await Deno.remove(file);
    await Deno.remove(file.replace(/\.svg$/, ".vl.json"));
  }
});

Deno.test("plan budget, format, tradeoff and loss --svg: the expected series", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const b = await plan("budget", "--compute", "1e24", "--svg", `${dir}/b.svg`, "--json");
    assert.equal(b.code, 0);
    JSON.parse(b.stdout); // --json keeps stdout pure even with a plot
    const budget = await parseSvg(await Deno.readTextFile(`${dir}/b.svg`));
    assert.ok(budget.texts.includes("optimal P (closed form)"));
    assert.ok(budget.texts.includes("best whole-bit format"));
    assert.ok(budget.texts.includes("1e20") && budget.texts.includes("1e32"));
    assert.ok(budget.texts.includes("C = 1.00e24: P = 5.01"), "the asked compute is marked");
    assert.equal(budget.lines.length, 1);
    const f = await plan("format", "--bits", "1-16", "--svg", `${dir}/f.svg`);
    assert.equal(f.code, 0);
    const heat = await parseSvg(await Deno.readTextFile(`${dir}/f.svg`));
    const rects = groups(heat.root, "mark-rect role-mark").flatMap((g) => elements(g, "path"));
    assert.equal(rects.length, 9 * 11); // E 0..8 x M 0..10
    for (const label of ["4b", "8b", "16b"]) assert.ok(heat.texts.includes(label));
    const t = await plan("tradeoff", "--compute", "1e24", "--svg", `${dir}/t.svg`, "--csv");
    assert.equal(t.code, 0);
    assert.equal(t.stdout.split("\n")[0], "params,precision,format,tokens,loss,params_per_bit");
    const trade = await parseSvg(await Deno.readTextFile(`${dir}/t.svg`));
    assert.ok(trade.texts.includes("best P(N)") && trade.texts.includes("parameters N"));
    assert.equal(trade.lines.length, 1);
    const l = await plan(
      "loss",
      "--params",
      "1e9",
      "--tokens",
      "1e12",
      "--format",
      "e2m1",
      "--svg",
      `${dir}/l.svg`,
    );
    assert.equal(l.code, 0);
    const curves = await parseSvg(await Deno.readTextFile(`${dir}/l.svg`));
    for (const name of ["E8M7", "E2M1", "D_crit 393B", "D_crit 1730T"]) {
      assert.ok(curves.texts.includes(name), name);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("plan fit: recovers synthetic constants; --save-constants feeds --constants of another command", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const truth = {
      n: 60,
      alpha: 0.25,
      d: 50000,
      beta: 0.5,
      epsilon: 2.0,
      gamma: 9000,
      delta: 3.0,
      nu: 3.1,
    };
    const runs = simulateRuns(paperGrid(), { noise: 0.0002, seed: 11, constants: truth });
    await Deno.writeTextFile(`${dir}/runs.csv`, formatRunsCsv(runs));
    const r = await plan(
      "fit",
      "--runs",
      `${dir}/runs.csv`,
      "--bootstrap",
      "20",
      "--json",
      "--save-constants",
      `${dir}/fit.json`,
    );
    assert.equal(r.code, 0, r.stderr.join("\n"));
    assert.deepEqual(r.stderr, []);
    const json = JSON.parse(r.stdout);
    assert.equal(json.runs, runs.length);
    assert.equal(json.residuals.length, runs.length);
    const direct = fitConstants(runs, { bootstrap: 20, seed: 0 });
    for (const [name, value] of Object.entries(truth)) {
      assertClose(json.constants[name], value, { rtol: 0.1, message: name });
      assertClose(json.constants[name], direct.constants[name as keyof typeof truth], {
        rtol: 1e-9,
      });
      assert.equal(json.intervals[name].length, 2);
    }
    const human = await plan("fit", "--runs", `${dir}/runs.csv`, "--bootstrap", "10");
    assert.match(human.stdout, /95% interval \(10 bootstrap fits\)/);
    assert.match(human.stdout, /gamma\s+\d/);
    // The old spelling --out still writes the file, with a deprecation note on stderr.
    const old = await plan(
      "fit",
      "--runs",
      `${dir}/runs.csv`,
      "--bootstrap",
      "0",
      "--out",
      `${dir}/old.json`,
    );
    assert.equal(old.code, 0);
    assert.deepEqual(old.stderr, ["plan fit: --out is deprecated, use --save-constants"]);
    assert.ok((await Deno.stat(`${dir}/old.json`)).size > 0);
    const csv = await plan("fit", "--runs", `${dir}/runs.csv`, "--bootstrap", "0", "--csv");
    assert.equal(csv.stdout.split("\n")[0], "constant,value,ci_low,ci_high,paper");
    // The fitted constants drive another command.
    const l = await plan(
      "loss",
      "--params",
      "1e9",
      "--tokens",
      "1e12",
      "--format",
      "e2m1",
      "--json",
      "--constants",
      `${dir}/fit.json`,
    );
    assert.equal(l.code, 0, l.stderr.join("\n"));
    const want = loss(
      { params: 1e9, tokens: 1e12, exponentBits: 2, mantissaBits: 1, log2Block: 7 },
      json.constants,
    );
    assertClose(JSON.parse(l.stdout).loss, want, { rtol: 1e-12 });
    // fit's svg: predicted vs observed.
    const s = await plan(
      "fit",
      "--runs",
      `${dir}/runs.csv`,
      "--bootstrap",
      "0",
      "--svg",
      `${dir}/fit.svg`,
    );
    assert.equal(s.code, 0);
    const svg = await parseSvg(await Deno.readTextFile(`${dir}/fit.svg`));
    assert.ok(svg.texts.includes("observed loss (the runs' unit)") && svg.texts.includes("runs"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bad input: exit 2 and one clear line on stderr, nothing on stdout", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const header = "params,tokens,exponent_bits,mantissa_bits,block,loss";
    await Deno.writeTextFile(
      `${dir}/nocol.csv`,
      "params,tokens,exponent_bits,mantissa_bits,loss\n1,2,3,4,5\n",
    );
    await Deno.writeTextFile(
      `${dir}/cell.csv`,
      `${header}\n1e8,1e10,2,1,128,3.5\n1e8,1e10,2,1,128,oops\n`,
    );
    const cases: [string[], RegExp][] = [
      [["dcrit", "--format", "e4m3"], /--params is required/],
      [
        ["loss", "--params", "-1e9", "--tokens", "1e12", "--format", "e2m1"],
        /--params must be a positive number.*"-1e9"/,
      ],
      [
        ["loss", "--params", "1e9", "--tokens", "1e12", "--format", "e3m9x"],
        /unknown format "e3m9x"/,
      ],
      [["format", "--bits", "0"], /--bits must be an integer in \[1, 64\], got "0"/],
      [["fit", "--runs", `${dir}/nocol.csv`], /missing column "block"/],
      [["fit", "--runs", `${dir}/cell.csv`], /line 3: column "loss" is not a number: "oops"/],
      [["fit", "--runs", `${dir}/none.csv`], /cannot read/],
      [["budget", "--compute", "1e21", "--block", "none"], /no precision penalty/],
      [["budget", "--compute", "1e21", "--wat"], /Unknown option '--wat'/],
      [
        ["dcrit", "--params", "1e9", "--format", "e4m3", "--json", "--csv"],
        /one of --json and --csv/,
      ],
      [["nope"], /unknown command "nope"/],
    ];
    for (const [argv, pattern] of cases) {
      const r = await plan(...argv);
      assert.equal(r.code, 2, `${argv.join(" ")}: exit ${r.code}`);
      assert.equal(r.stdout, "", argv.join(" "));
      assert.equal(r.stderr.length, 1, `${argv.join(" ")}: ${r.stderr.join(" / ")}`);
      assert.match(r.stderr[0], pattern);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--help: top level and per command", async () => {
  const top = await plan("--help");
  assert.equal(top.code, 0);
  for (const c of ["loss", "dcrit", "format", "budget", "tradeoff", "fit"]) {
    assert.match(top.stdout, new RegExp(`\\n  ${c}\\s`));
  }
  const one = await plan("budget", "--help");
  assert.equal(one.code, 0);
  assert.match(one.stdout, /--compute C/);
  assert.match(one.stdout, /--constants FILE/);
});
