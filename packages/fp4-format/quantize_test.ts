import assert from "node:assert/strict";
import {
  BF16,
  E2M1,
  E2M3,
  E3M2,
  E4M3,
  E5M2,
  type FloatFormat,
  floatFormat,
  FP16,
} from "./format.ts";
import { quantize } from "./quantize.ts";
import { referenceGrid, referenceRound } from "./_reference_test_util.ts";
import { assertBitsEqual, assertClose } from "../../tests/_util/assert.ts";
import { normal, randomBitPatterns, seededRandom } from "../../tests/_util/random.ts";

const SMALL_FORMATS: FloatFormat[] = [
  E2M1,
  E2M3,
  E3M2,
  E4M3,
  E5M2,
  floatFormat(3, 4), // IEEE-like FP8 E3M4
  floatFormat(3, 1, { ieeeSpecials: false }), // the scaling-law paper's style
  floatFormat(0, 7), // MXINT8's grid
  floatFormat(1, 2),
];

function referenceArray(x: Float32Array, f: FloatFormat, saturate = true): Float32Array {
  const grid = referenceGrid(f);
  return Float32Array.from(x, (v) => referenceRound(v, f, grid, saturate));
}

Deno.test("nearest-even equals the slow reference on 10^6 random values per format", () => {
  const random = seededRandom(1);
  for (const f of SMALL_FORMATS) {
    // Half random bit patterns (every f32 class), half values spread over the format's range.
    const n = 500_000;
    const x = new Float32Array(2 * n);
    x.set(randomBitPatterns(n, random));
    const span = Math.log2(f.maxNormal / f.minSubnormal) + 4;
    for (let i = n; i < 2 * n; i++) {
      x[i] = (random() < 0.5 ? -1 : 1) * f.minSubnormal * 2 ** (random() * span - 2);
    }
    assertBitsEqual(quantize(x, f), referenceArray(x, f), `${f.name} saturating`);
    assertBitsEqual(
      quantize(x, f, { saturate: false }),
      referenceArray(x, f, false),
      `${f.name} non-saturating`,
    );
  }
});

Deno.test("every midpoint rounds to even and its f32 neighbours to the nearer value", () => {
  for (const f of SMALL_FORMATS) {
    const grid = referenceGrid(f);
    const probes: number[] = [];
    for (let i = 0; i + 1 < grid.length; i++) {
      const mid = (grid[i] + grid[i + 1]) / 2;
      const below = Math.fround(mid) === mid ? nextDown(mid) : NaN;
      probes.push(mid, below, nextUp(mid), grid[i], (grid[i] + mid) / 2);
    }
    const x = Float32Array.from(probes.flatMap((v) => [v, -v]).filter((v) => !Number.isNaN(v)));
    assertBitsEqual(quantize(x, f), referenceArray(x, f), f.name);
    // Ties go to the even code: check the first tie explicitly.
    const tie = new Float32Array([(grid[1] + grid[2]) / 2]);
    assert.equal(quantize(tie, f)[0], grid[2], `${f.name} tie between codes 1 and 2`);
  }
});

function nextUp(v: number): number {
  const b = new Float32Array([v]);
  const u = new Uint32Array(b.buffer);
  u[0] += v >= 0 ? 1 : -1;
  return b[0];
}
function nextDown(v: number): number {
  const b = new Float32Array([v]);
  const u = new Uint32Array(b.buffer);
  u[0] -= v > 0 ? 1 : -1;
  return b[0];
}

Deno.test("specials: NaN, ±Inf, ±0, subnormals, just above max", () => {
  const x = new Float32Array([NaN, Infinity, -Infinity, 0, -0, 1e-45, -1e-45, 6.0001, 7, 1e30]);
  const e2m1 = quantize(x, E2M1);
  assert.ok(Number.isNaN(e2m1[0]));
  assert.deepEqual([...e2m1.slice(1)], [6, -6, 0, -0, 0, -0, 6, 6, 6]);
  assert.ok(Object.is(e2m1[4], -0) && Object.is(e2m1[6], -0));
  const e4m3 = quantize(x, E4M3, { saturate: false });
  assert.ok([0, 1, 2, 9].every((i) => Number.isNaN(e4m3[i])), "E4M3 overflow is NaN");
  const e5m2 = quantize(x, E5M2, { saturate: false });
  assert.equal(e5m2[1], Infinity);
  assert.equal(e5m2[2], -Infinity);
  assert.equal(e5m2[9], Infinity);
  // 57344 + 4096 is the E5M2 overflow tie: it rounds to Inf without saturation, to max with.
  const tie = new Float32Array([61440, 61439.996]);
  assert.deepEqual([...quantize(tie, E5M2, { saturate: false })], [Infinity, 57344]);
  assert.deepEqual([...quantize(tie, E5M2)], [57344, 57344]);
  // E4M3: 464 is the midpoint of 448 and the would-be 480: saturates either way.
  assert.deepEqual([...quantize(new Float32Array([464, 463.9]), E4M3)], [448, 448]);
});

Deno.test("FP16 rounding equals Math.f16round on random values", () => {
  const random = seededRandom(2);
  const x = randomBitPatterns(300_000, random);
  for (let i = 0; i < 100_000; i++) x[i] = normal(random) * 2 ** (random() * 40 - 25);
  const ours = quantize(x, FP16, { saturate: false });
  const platform = Float32Array.from(x, (v) => Math.f16round(v));
  assertBitsEqual(ours, platform, "FP16");
});

Deno.test("BF16 rounding equals integer round-to-nearest-even on the f32 bits", () => {
  const random = seededRandom(3);
  const x = randomBitPatterns(300_000, random);
  const bits = new Uint32Array(x.buffer);
  const expected = new Float32Array(x.length);
  const eb = new Uint32Array(expected.buffer);
  for (let i = 0; i < x.length; i++) {
    const b = bits[i];
    if (Number.isNaN(x[i])) {
      expected[i] = NaN;
      continue;
    }
    const lsb = (b >>> 16) & 1;
    eb[i] = (((b + 0x7fff + lsb) >>> 16) << 16) >>> 0;
  }
  assertBitsEqual(quantize(x, BF16, { saturate: false }), expected, "BF16");
});

Deno.test("nearest-up reproduces the FP4 paper's look-up table", () => {
  // The paper's chain of strict comparisons (Appendix A), written out.
  const lut = (v: number) =>
    v < -5
      ? -6
      : v < -3.5
      ? -4
      : v < -2.5
      ? -3
      : v < -1.75
      ? -2
      : v < -1.25
      ? -1.5
      : v < -0.75
      ? -1
      : v < -0.25
      ? -0.5
      : v < 0.25
      ? 0
      : v < 0.75
      ? 0.5
      : v < 1.25
      ? 1
      : v < 1.75
      ? 1.5
      : v < 2.5
      ? 2
      : v < 3.5
      ? 3
      : v < 5
      ? 4
      : 6;
  const random = seededRandom(4);
  const x = new Float32Array(200_000);
  for (let i = 0; i < x.length; i++) x[i] = (random() - 0.5) * 16;
  const ties = [-5, -3.5, -2.5, -1.75, -1.25, -0.75, -0.25, 0.25, 0.75, 1.25, 1.75, 2.5, 3.5, 5];
  x.set(ties);
  const ours = quantize(x, E2M1, { rounding: "nearest-up" });
  for (let i = 0; i < x.length; i++) {
    assert.ok(ours[i] === lut(x[i]), `x = ${x[i]}: ${ours[i]} vs ${lut(x[i])}`);
  }
  assert.deepEqual(
    [...quantize(new Float32Array([0.25, 1.25, 2.5, 5, -0.75]), E2M1, { rounding: "nearest-up" })],
    [0.5, 1.5, 3, 6, -0.5],
  );
});

Deno.test("stochastic rounding is unbiased, reproducible and lands on neighbours", () => {
  const value = 2.3; // between 2 and 3 in E2M1
  const n = 200_000;
  const x = new Float32Array(n).fill(value);
  const a = quantize(x, E2M1, { rounding: "stochastic", seed: 0 });
  const b = quantize(x, E2M1, { rounding: "stochastic", seed: 0 });
  const c = quantize(x, E2M1, { rounding: "stochastic", seed: 1 });
  assertBitsEqual(a, b, "same seed");
  assert.ok(a.some((v, i) => v !== c[i]), "different seeds differ");
  assert.ok(a.every((v) => v === 2 || v === 3));
  const mean = a.reduce((s, v) => s + v, 0) / n;
  // Bernoulli(0.3) on a unit step: standard error sqrt(0.21 / n) ≈ 0.001.
  assertClose(mean, Math.fround(value), { atol: 0.005 });
  // Splitting the work with `offset` gives the same stream as one call.
  const head = quantize(x.subarray(0, 1000), E2M1, { rounding: "stochastic", seed: 9 });
  const tail = quantize(x.subarray(1000, 2000), E2M1, {
    rounding: "stochastic",
    seed: 9,
    offset: 1000,
  });
  const whole = quantize(x.subarray(0, 2000), E2M1, { rounding: "stochastic", seed: 9 });
  assertBitsEqual(whole, Float32Array.of(...head, ...tail), "offset");
});

Deno.test("stochastic rounding is unbiased across formats and signs", () => {
  const random = seededRandom(5);
  for (const f of [E2M1, E4M3, E5M2, BF16]) {
    for (let trial = 0; trial < 5; trial++) {
      const v = Math.fround((random() - 0.5) * f.maxNormal * 0.9);
      const x = new Float32Array(50_000).fill(v);
      const q = quantize(x, f, { rounding: "stochastic", seed: trial });
      const mean = q.reduce((s, y) => s + y, 0) / x.length;
      const grid = quantize(new Float32Array([v]), f)[0];
      const step = Math.abs(v - grid) * 2 + Math.abs(v) * 2 ** -f.mantissaBits;
      assertClose(mean, v, { atol: 6 * step / Math.sqrt(x.length) + 1e-30, message: f.name });
    }
  }
});

Deno.test("scale option fake-quantizes with f32 products", () => {
  const x = new Float32Array([0.01, -0.02, 0.03]);
  const scale = 6 / 0.03;
  const manual = new Float32Array(3);
  for (let i = 0; i < 3; i++) manual[i] = x[i] * Math.fround(scale);
  quantize(manual, E2M1, { out: manual });
  for (let i = 0; i < 3; i++) manual[i] = manual[i] / Math.fround(scale);
  assertBitsEqual(quantize(x, E2M1, { inverseScale: scale }), manual);
});

Deno.test("out buffer, in place, and bad input", () => {
  const x = new Float32Array([1.2, 3.3]);
  const out = new Float32Array(2);
  assert.equal(quantize(x, E2M1, { out }), out);
  quantize(x, E2M1, { out: x });
  assert.deepEqual([...x], [1, 3]);
  assert.throws(
    () => quantize(x, E2M1, { out: new Float32Array(3) }),
    /options.out must have length 2/,
  );
  assert.throws(() => quantize(x, E2M1, { inverseScale: Infinity }), /options.inverseScale/);
  assert.throws(() => quantize(x, E2M1, { inverseScale: 0 }), /options.inverseScale/);
  assert.throws(() => quantize([1, 2] as unknown as Float32Array, E2M1), TypeError);
  assert.throws(
    () => quantize(x, E2M1, { rounding: "up" as "nearest-even" }),
    /options.rounding/,
  );
  assert.throws(() => quantize(x, E2M1, { rounding: "stochastic", seed: 0.5 }), /options.seed/);
});

Deno.test("quantize: the old option name `scale` is refused, naming its new name", () => {
  assert.throws(
    () => quantize(new Float32Array([1]), E2M1, { scale: 2 } as never),
    /options\.scale is now options\.inverseScale/,
  );
});
