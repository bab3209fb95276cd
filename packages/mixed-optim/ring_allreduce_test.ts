import assert from "node:assert/strict";
import { E4M3_UNIT_ROUNDOFF, fp8GradScale } from "./fp8_codec.ts";
import { fp8AllReduce, ringAllReduce } from "./ring_allreduce.ts";
import { assertAllClose, assertBitsEqual } from "../../tests/_util/assert.ts";
import { normal, seededRandom } from "../../tests/_util/random.ts";

function rankGradients(seed: number, ranks: number, n: number): Float32Array[] {
  const random = seededRandom(seed);
  // Per-rank magnitudes differ (one rank's gradient 30x larger), entries span several binades.
  return Array.from(
    { length: ranks },
    (_, r) =>
      Float32Array.from(
        { length: n },
        (_, i) => normal(random) * 1e-3 * (r === 1 ? 30 : 1) * 2 ** -(i % 12),
      ),
  );
}

for (const ranks of [2, 3, 4, 7, 8]) {
  Deno.test(`FP8 ring all-reduce over ${ranks} ranks stays within the documented bound`, () => {
    const n = 1003; // not a multiple of the rank count: uneven chunks
    const inputs = rankGradients(ranks, ranks, n);
    // Exact mean in f64 of the contributions each rank sends (g/R rounded to f32, as the ring does).
    const contributions = inputs.map((g) => g.map((x) => x / ranks));
    const exact = new Float64Array(n), absSum = new Float64Array(n);
    for (const c of contributions) {
      for (let i = 0; i < n; i++) exact[i] += c[i], absSum[i] += Math.abs(c[i]);
    }
    const amax = contributions.reduce((a, c) => c.reduce((b, x) => Math.max(b, Math.abs(x)), a), 0);
    const buffers = inputs.map((g) => g.slice());
    const stats = ringAllReduce(buffers);
    const scale = stats.scales[0];
    assert.equal(scale, fp8GradScale(amax, ranks));
    const u = E4M3_UNIT_ROUNDOFF;
    let worst = 0, errSum = 0, magSum = 0;
    for (let i = 0; i < n; i++) {
      const err = Math.abs(buffers[0][i] - exact[i]);
      const bound = (absSum[i] + 2 ** -6 * scale) * ((1 + u) ** ranks - 1) * (1 + 1e-6) +
        ranks * 2 ** -23 * (absSum[i] + 448 * scale);
      assert.ok(err <= bound, `element ${i}: |error| ${err} > bound ${bound}`);
      worst = Math.max(worst, err / bound);
      errSum += err, magSum += Math.abs(exact[i]);
    }
    // The bound is not vacuous: the codec does lose precision, a few percent overall.
    assert.ok(
      errSum / magSum > 1e-3 && errSum / magSum < 0.1,
      `relative L1 error ${errSum / magSum}`,
    );
    assert.ok(worst > 0.05, `worst error uses ${worst} of the bound`);
    // Every rank holds the same bits.
    for (let r = 1; r < ranks; r++) assertBitsEqual(buffers[r], buffers[0], `rank ${r}`);
    // Bytes: 2(R − 1)·n, one byte each: a quarter of the f32 ring.
    const f32 = inputs.map((g) => g.slice());
    const f32Stats = ringAllReduce(f32, { codec: "f32" });
    assert.equal(stats.payloadBytes, 2 * (ranks - 1) * n);
    assert.equal(f32Stats.payloadBytes, 4 * stats.payloadBytes);
    assert.equal(stats.scaleBytes, 4 * ranks * (ranks - 1));
    assert.equal(f32Stats.scaleBytes, 0);
    // The f32 ring is the exact mean up to f32 additions.
    assertAllClose(f32[ranks - 1], exact, { rtol: ranks * 2 ** -22, atol: 1e-12 });
  });
}

Deno.test("one rank: nothing is sent and the gradient is unchanged", () => {
  const g = rankGradients(1, 1, 100)[0];
  const buffer = g.slice();
  for (const codec of ["fp8", "f32"] as const) {
    const stats = ringAllReduce([buffer], { codec });
    assertBitsEqual(buffer, g);
    assert.equal(stats.totalBytes, 0);
  }
});

Deno.test("sum of exactly representable gradients is exact, and op sum scales the scale", () => {
  const a = new Float32Array([1, -2, 0.5, 0]), b = new Float32Array([3, 2, 0.25, -0]);
  const stats = ringAllReduce([a, b], { op: "sum" });
  assert.deepEqual(Array.from(a), [4, 0, 0.75, 0]);
  assert.deepEqual(Array.from(b), [4, 0, 0.75, 0]);
  assert.equal(stats.scales[0], fp8GradScale(3, 2));
});

Deno.test("a non-finite gradient on one rank makes every rank's result NaN", () => {
  const ranks = [
    new Float32Array([1, 2]),
    new Float32Array([Infinity, 0]),
    new Float32Array([0, 0]),
  ];
  ringAllReduce(ranks);
  for (const r of ranks) assert.ok(r.every(Number.isNaN));
});

Deno.test("fp8AllReduce reduces every tensor with its own scale and sums the bytes", () => {
  const random = seededRandom(9);
  const sizes = [10, 1, 37];
  const ranks = 3;
  const grads = Array.from(
    { length: ranks },
    (_, r) =>
      sizes.map((n, t) =>
        Float32Array.from({ length: n }, () => normal(random) * 10 ** -t * (r + 1))
      ),
  );
  const copies = grads.map((g) => g.map((x) => x.slice()));
  const stats = fp8AllReduce(grads);
  assert.equal(stats.elements, 48);
  assert.equal(stats.payloadBytes, 2 * (ranks - 1) * 48);
  assert.equal(stats.scaleBytes, 3 * 4 * ranks * (ranks - 1));
  for (let t = 0; t < sizes.length; t++) {
    const single = ringAllReduce(copies.map((g) => g[t]));
    assert.equal(stats.scales[t], single.scales[0]);
    assertBitsEqual(grads[2][t], copies[0][t]);
  }
  assert.ok(stats.scales[0] > stats.scales[2]);
});

Deno.test("bad all-reduce input gets a clear error", () => {
  assert.throws(() => ringAllReduce([]), /at least one rank/);
  assert.throws(
    () => ringAllReduce([new Float32Array(2), new Float32Array(3)]),
    /buffers\[1\] must have length 2/,
  );
  assert.throws(
    () => ringAllReduce([new Float32Array(2)], { codec: "fp4" as "fp8" }),
    /options.codec/,
  );
  assert.throws(() => ringAllReduce([new Float32Array(2)], { op: "max" as "sum" }), /options.op/);
  assert.throws(
    () => fp8AllReduce([[new Float32Array(1)], []]),
    /rankGrads\[1\] must hold 1 tensors/,
  );
  assert.throws(() => fp8AllReduce([[new Uint8Array(1) as unknown as Float32Array]]), TypeError);
});
