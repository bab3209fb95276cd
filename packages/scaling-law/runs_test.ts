import assert from "node:assert/strict";
import { assertClose } from "../../tests/_util/assert.ts";
import { formatRunsCsv, loss, paperGrid, parseRunsCsv, simulateRuns } from "./mod.ts";

const HEADER = "params,tokens,exponent_bits,mantissa_bits,block,loss";

Deno.test("runs CSV: round trip through format and parse", () => {
  const runs = simulateRuns(paperGrid().filter((_, i) => i % 17 === 0), { noise: 0.01, seed: 2 });
  const back = parseRunsCsv(formatRunsCsv(runs));
  assert.equal(back.length, runs.length);
  for (let i = 0; i < runs.length; i++) {
    assert.deepEqual({ ...back[i] }, { ...runs[i] });
  }
});

Deno.test("runs CSV: columns in any order, extras ignored, comments and blanks skipped", () => {
  const text =
    `# sweep of 2 runs\nseed,loss,block,mantissa_bits,exponent_bits,tokens,params\n\n1,3.5,none,1,2,1e10,1e8\n2,3.6,64,3,4,2e10,1e8\n`;
  const runs = parseRunsCsv(text);
  assert.equal(runs.length, 2);
  assert.deepEqual(runs[0], {
    params: 1e8,
    tokens: 1e10,
    exponentBits: 2,
    mantissaBits: 1,
    log2Block: 0,
    loss: 3.5,
  });
  assert.equal(runs[1].log2Block, 6);
});

Deno.test("runs CSV: errors name the column, or the line and the cell", () => {
  assert.throws(
    () => parseRunsCsv("params,tokens,exponent_bits,mantissa_bits,loss\n1,2,3,4,5\n"),
    /missing column "block"/,
  );
  assert.throws(
    () => parseRunsCsv(`${HEADER}\n1e8,1e10,2,1,128,3.5\n1e8,1e10,2,1,128,abc\n`),
    /line 3: column "loss" is not a number: "abc"/,
  );
  assert.throws(
    () => parseRunsCsv(`${HEADER}\n1e8,1e10,2.5,1,128,3.5\n`),
    /line 2: column "exponent_bits" must be an integer/,
  );
  assert.throws(
    () => parseRunsCsv(`${HEADER}\n-1e8,1e10,2,1,128,3.5\n`),
    /line 2: column "params" must be a positive/,
  );
  assert.throws(() => parseRunsCsv(`${HEADER}\n1e8,1e10,2,1,tensor,3.5\n`), /line 2: block tensor/);
  assert.throws(() => parseRunsCsv(`${HEADER}\n1e8,1e10,2,1\n`), /line 2: column "block" is empty/);
  assert.throws(() => parseRunsCsv(`${HEADER}\n`), /no runs/);
  assert.throws(() => parseRunsCsv(""), /empty/);
});

Deno.test("simulateRuns: noise is log-normal with the asked spread and reproducible", () => {
  const grid = paperGrid();
  const a = simulateRuns(grid, { noise: 0.02, seed: 4 });
  const b = simulateRuns(grid, { noise: 0.02, seed: 4 });
  assert.deepEqual(a, b);
  const logs = a.map((r, i) => Math.log(r.loss / loss(grid[i])));
  const mean = logs.reduce((s, v) => s + v, 0) / logs.length;
  const sd = Math.sqrt(logs.reduce((s, v) => s + (v - mean) ** 2, 0) / logs.length);
  assertClose(sd, 0.02, { rtol: 0.12 });
  assert.ok(Math.abs(mean) < 0.004);
});
