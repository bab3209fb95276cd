import assert from "node:assert/strict";
import { count, ratio, renderCsv, renderTable, sci, short } from "./format.ts";
import { positive, UsageError } from "./args.ts";

Deno.test("units: scientific with a K/M/B/T suffix", () => {
  assert.equal(count(1.72955e15, "tokens"), "1.73e15 tokens (1730T)");
  assert.equal(count(3.928e11, "tokens"), "3.93e11 tokens (393B)");
  assert.equal(short(7e9), "7B");
  assert.equal(short(950), "950");
  assert.equal(sci(2.7329e13), "2.73e13");
  assert.equal(count(Infinity, "tokens"), "infinite tokens");
  assert.equal(ratio(22758.3), "2.28e4");
  assert.equal(ratio(0.833), "0.833");
  assert.equal(ratio(0.00246), "2.46e-3");
});

Deno.test("numbers with suffixes, and what is refused", () => {
  assert.equal(positive("params", "7B"), 7e9);
  assert.equal(positive("tokens", "1.5T"), 1.5e12);
  assert.equal(positive("params", "300M"), 3e8);
  assert.equal(positive("compute", "1e24"), 1e24);
  assert.throws(() => positive("params", "-1"), UsageError);
  assert.throws(() => positive("params", "0"), /--params must be a positive number/);
  assert.throws(() => positive("params", "7X"), /got "7X"/);
  assert.throws(() => positive("params", undefined), /--params is required/);
});

Deno.test("tables align and CSV quotes what needs quoting", () => {
  const t = { columns: ["a", "bRow"], rows: [["1", "x,y"], ["long", "z"]] };
  assert.equal(renderTable(t), "a     bRow\n----  ----\n1     x,y\nlong  z");
  assert.equal(renderCsv(t), 'a,b_row\n1,"x,y"\nlong,z\n');
});
