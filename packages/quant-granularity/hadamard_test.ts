import assert from "node:assert/strict";
import { assertAllClose, assertBitsEqual } from "../../tests/_util/assert.ts";
import { hadamardSigns, randomHadamard } from "./hadamard.ts";
import { testMatrix } from "./testdata/reference.ts";

/** Sylvester Hadamard matrix entry: (−1)^popcount(i & j). */
function h(i: number, j: number): number {
  let bits = i & j;
  let parity = 0;
  while (bits) {
    parity ^= bits & 1;
    bits >>= 1;
  }
  return parity ? -1 : 1;
}

/** Dense f64 reference: y = H · D · x / √n per block. */
function denseReference(
  x: Float32Array,
  size: number,
  seed: number,
  inverse: boolean,
): Float64Array {
  const signs = hadamardSigns(size, seed);
  const y = new Float64Array(x.length);
  for (let start = 0; start < x.length; start += size) {
    for (let i = 0; i < size; i++) {
      let sum = 0;
      for (let j = 0; j < size; j++) {
        sum += h(i, j) * (inverse ? x[start + j] : signs[j] * x[start + j]);
      }
      y[start + i] = (inverse ? signs[i] : 1) * sum / Math.sqrt(size);
    }
  }
  return y;
}

Deno.test("RHT 16 on integers is exact against the dense matrix product", () => {
  const x = new Float32Array(4 * 32).map((_, i) => ((i * 7919) % 23) - 11);
  for (const seed of [0, 1, 99]) {
    assertBitsEqual(
      randomHadamard(x, 4, 32, { seed }),
      Float32Array.from(denseReference(x, 16, seed, false)),
    );
    assertBitsEqual(
      randomHadamard(x, 4, 32, { seed, inverse: true }),
      Float32Array.from(denseReference(x, 16, seed, true)),
    );
  }
});

Deno.test("RHT 16 and 32 match the dense reference and invert", () => {
  const x = testMatrix(6, 64, 9);
  // f32 butterflies: errors scale with the block's magnitude, not with each output.
  const atol = 1e-6 * x.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  for (const size of [16, 32] as const) {
    const y = randomHadamard(x, 6, 64, { size, seed: 5 });
    assertAllClose(y, denseReference(x, size, 5, false), { rtol: 1e-6, atol });
    const back = randomHadamard(y, 6, 64, { size, seed: 5, inverse: true });
    assertAllClose(back, x, { rtol: 1e-6, atol: 2 * atol });
    // Orthonormal: the energy of each block is kept.
    let ex = 0;
    let ey = 0;
    for (let i = 0; i < x.length; i++) {
      ex += x[i] * x[i];
      ey += y[i] * y[i];
    }
    assert.ok(Math.abs(ex - ey) / ex < 1e-5);
  }
});

Deno.test("RHT spreads an outlier over its block", () => {
  const x = new Float32Array(16);
  x[3] = 16;
  const y = randomHadamard(x, 1, 16, { seed: 2 });
  assert.ok(y.every((v) => Math.abs(v) === 4), `${y}`);
});

Deno.test("RHT signs are seeded and the transform runs in place", () => {
  assert.deepEqual(hadamardSigns(16, 4), hadamardSigns(16, 4));
  assert.notDeepEqual(hadamardSigns(32, 4), hadamardSigns(32, 5));
  const x = testMatrix(2, 32, 1);
  const expected = randomHadamard(x, 2, 32, { seed: 8 });
  const inPlace = x.slice();
  randomHadamard(inPlace, 2, 32, { seed: 8, out: inPlace });
  assertBitsEqual(inPlace, expected);
});

Deno.test("RHT rejects bad sizes and shapes", () => {
  const x = new Float32Array(48);
  assert.throws(
    () => randomHadamard(x, 2, 24),
    /cols must be a multiple of options.size = 16, got 24/,
  );
  assert.throws(() => randomHadamard(x, 1, 48, { size: 8 as 16 }), /size must be 16 or 32/);
  assert.throws(() => randomHadamard(x, 2, 16), /values.length must be rows \* cols/);
  assert.throws(() => hadamardSigns(16, 0.5), /seed must be an integer/);
});
