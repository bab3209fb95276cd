import assert from "node:assert/strict";
import { assertClose } from "../../tests/_util/assert.ts";
import {
  compareSchemes,
  errorMetrics,
  formatErrorTable,
  FP4_PAPER_ACT,
  heavyTailedActivations,
  MXFP4,
  NVFP4,
  type QuantScheme,
} from "./mod.ts";
import { E2M1 } from "@fp4lab/fp4-format";

Deno.test("errorMetrics matches closed forms", () => {
  const x = new Float32Array([3, -4, 0, 1]);
  const y = new Float32Array([3, -3, 0, 0]);
  const m = errorMetrics(x, y, { clipped: 1 });
  assert.equal(m.count, 4);
  assertClose(m.mse, 2 / 4);
  assertClose(m.sqnrDb, 10 * Math.log10(26 / 2));
  assertClose(m.cosine, 21 / Math.sqrt(26 * 18));
  assert.equal(m.maxAbsError, 1);
  assert.equal(m.clippedFraction, 0.25);
  assert.equal(m.zeroFlushedFraction, 0.25, "only x = 1 became 0; x = 0 does not count");
  const exact = errorMetrics(x, x);
  assert.equal(exact.sqnrDb, Infinity);
  assert.equal(exact.cosine, 1);
  assert.ok(Number.isNaN(exact.clippedFraction), "no clip count given");
  assert.equal(errorMetrics(new Float32Array(2), new Float32Array(2)).cosine, 1);
  assert.throws(() => errorMetrics(x, y.subarray(1)), /approx must have the reference's length 4/);
  assert.throws(() => errorMetrics(x, new Float32Array([NaN, 0, 0, 0])), /approx\[0\] is NaN/);
});

Deno.test("heavy-tailed activations: per-token beats per-tensor, as the FP4 paper says", () => {
  const rows = 256;
  const cols = 512;
  const a = heavyTailedActivations(rows, cols, { df: 3, hotChannels: 4, hotScale: 20, seed: 1 });
  const perTensor: QuantScheme = { name: "E2M1 per-tensor", format: E2M1, granularity: "tensor" };
  const table = compareSchemes(a, rows, cols, [perTensor, FP4_PAPER_ACT, MXFP4, NVFP4]);
  console.log(formatErrorTable(table));
  const [tensor, token] = table;
  assert.ok(
    token.sqnrDb > tensor.sqnrDb + 1,
    `per-token ${token.sqnrDb} dB vs per-tensor ${tensor.sqnrDb} dB`,
  );
  assert.ok(token.mse < tensor.mse);
  assert.ok(token.cosine > tensor.cosine);
  assert.ok(
    token.zeroFlushedFraction < tensor.zeroFlushedFraction,
    "per-tensor flushes more to zero",
  );
  // Finer blocks help further.
  assert.ok(table[2].sqnrDb > token.sqnrDb && table[3].sqnrDb > token.sqnrDb);
  assert.equal(tensor.clippedFraction, 0, "absmax never clips");
  assert.ok(table[2].clippedFraction > 0, "MXFP4's floor rule clips some elements");
});

Deno.test("formatErrorTable lays out one aligned Markdown row per scheme", () => {
  const x = heavyTailedActivations(8, 64, { seed: 2 });
  const text = formatErrorTable(compareSchemes(x, 8, 64, { a: FP4_PAPER_ACT, b: MXFP4 }));
  const lines = text.split("\n");
  assert.equal(lines.length, 4);
  assert.match(
    lines[0],
    /^\| scheme \| +MSE \| SQNR dB \| +cosine \| max abs err \| clipped % \| zero % \|$/,
  );
  assert.match(lines[2], /^\| a /);
  assert.match(lines[3], /^\| b /);
  assert.ok(lines.every((l) => l.length === lines[0].length));
});

Deno.test("heavyTailedActivations is seeded, heavy-tailed and has hot channels", () => {
  const a = heavyTailedActivations(512, 64, { seed: 3, hotChannels: 2, hotScale: 50 });
  assert.deepEqual(a, heavyTailedActivations(512, 64, { seed: 3, hotChannels: 2, hotScale: 50 }));
  const colRms = new Float64Array(64);
  for (let i = 0; i < a.length; i++) colRms[i % 64] += a[i] * a[i];
  const sorted = Array.from(colRms).sort((p, q) => q - p);
  assert.ok(sorted[1] > 100 * sorted[2], "two channels dominate");
  // Student-t(3) has excess kurtosis: |x| > 5 is far likelier than for a normal (~6e-7).
  let cold = 0;
  let tail = 0;
  for (let i = 0; i < a.length; i++) {
    if (colRms[i % 64] < sorted[1]) {
      cold++;
      if (Math.abs(a[i]) > 5) tail++;
    }
  }
  assert.ok(tail / cold > 1e-3, `tail fraction ${tail / cold}`);
  assert.throws(() => heavyTailedActivations(4, 4, { hotChannels: 5 }), /options.hotChannels/);
});
