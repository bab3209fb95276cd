import assert from "node:assert/strict";
import { E2M1, quantize } from "@fp4lab/fp4-format";
import { assertClose } from "../../tests/_util/assert.ts";
import { fidelityMetrics, fidelityTable, formatFidelityTable } from "./fidelity.ts";
import { syntheticActivations } from "./synthetic.ts";

Deno.test("fidelityMetrics: closed forms", () => {
  const x = new Float32Array([3, -4, 0, 12]);
  // x̂ = 0.5·x: cosine 1, error = 0.5·x, SNR = 10·log10(4) dB.
  const half = fidelityMetrics(x, x.map((v) => v / 2));
  assertClose(half.cosine, 1, { rtol: 1e-15 });
  assertClose(half.mse, (1.5 ** 2 + 2 ** 2 + 0 + 6 ** 2) / 4, { rtol: 1e-15 });
  assertClose(half.snrDb, 10 * Math.log10(4), { rtol: 1e-12 });
  // Orthogonal approximation: cosine 0.
  assertClose(fidelityMetrics([1, 0], [0, 1]).cosine, 0, { atol: 0 });
  assert.equal(fidelityMetrics(x, x).snrDb, Infinity);
  assert.throws(() => fidelityMetrics([1], [1, 2]), /same non-zero length/);
});

Deno.test("fidelityTable orders as the FP4 paper's Table 1 on heavy-tailed activations", () => {
  const [rows, cols] = [64, 2048];
  const a = syntheticActivations(rows, cols, { seed: 1 });
  for (const scope of ["row", "tensor"] as const) {
    const table = fidelityTable(a, rows, cols, { scope });
    assert.equal(table.length, 7);
    const none = table[0];
    const clampOnly = table.find((r) => r.clamp && !r.compensation && r.alpha === 0.999)!;
    const comp = [0.999, 0.99, 0.97].map((alpha) =>
      table.find((r) => r.compensation && r.alpha === alpha)!
    );
    // Table 1's rows, in order: no clamp, clamp only (0.999), clamp + comp at 0.999, 0.99, 0.97.
    const ordered = [none, clampOnly, ...comp];
    for (let i = 1; i < ordered.length; i++) {
      const [worse, better] = [ordered[i - 1], ordered[i]];
      const where = `${scope}: row ${i}`;
      assert.ok(better.cosine > worse.cosine, `${where} cosine`);
      assert.ok(better.mse < worse.mse, `${where} MSE`);
      assert.ok(better.snrDb > worse.snrDb, `${where} SNR`);
    }
    // Sparsity ≈ 2(1 − α): the paper's 0.2% / 2% / 6%.
    for (const r of comp) assertClose(r.sparsity, 2 * (1 - r.alpha!), { atol: 0.001 });
    assert.equal(none.sparsity, 0);
  }
});

Deno.test("fidelityTable: the no-clamp row is plain per-token E2M1 absmax quantization", () => {
  const [rows, cols] = [3, 64];
  const a = syntheticActivations(rows, cols, { seed: 2 });
  const q = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) {
    const row = a.subarray(r * cols, (r + 1) * cols);
    const absmax = row.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    // Independent path, by hand in f32: the dequantization scale is absmax / 6 (DESIGN.md),
    // elements are divided by it, rounded, and multiplied back.
    const scale = Math.fround(absmax / 6);
    const scaled = row.map((v) => Math.fround(v / scale));
    const rounded = quantize(scaled, E2M1);
    for (let c = 0; c < cols; c++) q[r * cols + c] = Math.fround(rounded[c] * scale);
  }
  const [none] = fidelityTable(a, rows, cols, { alphas: [] });
  const want = fidelityMetrics(a, q);
  assert.deepEqual(none, { clamp: false, compensation: false, alpha: null, sparsity: 0, ...want });
});

Deno.test("formatFidelityTable prints one line per row after the header; bad input", () => {
  const a = syntheticActivations(4, 256, { seed: 3 });
  const text = formatFidelityTable(fidelityTable(a, 4, 256, { alphas: [0.99] }));
  const lines = text.split("\n");
  assert.equal(lines.length, 2 + 3);
  assert.match(lines[0], /cosine sim \| MSE \| SNR \(dB\)/);
  assert.match(lines[4], /^\| yes \| yes \| 0\.99 \| \d+\.\d\d% \|/);
  assert.throws(() => fidelityTable(a, 4, 256, { alphas: [0.4] }), /options\.alphas\[0\]/);
  a[5] = NaN;
  assert.throws(() => fidelityTable(a, 4, 256), /values\[5\] is NaN/);
  assert.throws(() => fidelityTable(a, 4, 256, { alphas: [] }), /values\[5\] is NaN/);
});
