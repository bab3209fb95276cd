/**
 * Test helpers that stand in for `@std/assert`'s `assertAlmostEquals` while JSR is unreachable
 * (see docs/dependencies.md). Everything else comes from `node:assert/strict`.
 *
 * @module
 */
import assert from "node:assert/strict";

/**
 * Asserts `|actual - expected| <= atol + rtol * |expected|`; NaN equals only NaN and an infinity
 * only the same infinity.
 */
export function assertClose(
  actual: number,
  expected: number,
  { rtol = 1e-7, atol = 0, message = "" }: { rtol?: number; atol?: number; message?: string } = {},
): void {
  if (Number.isNaN(expected) || Number.isNaN(actual)) {
    assert.ok(
      Number.isNaN(expected) && Number.isNaN(actual),
      `${message} expected ${expected}, got ${actual}`,
    );
    return;
  }
  if (!Number.isFinite(expected) || !Number.isFinite(actual)) {
    assert.equal(actual, expected, message);
    return;
  }
  const diff = Math.abs(actual - expected);
  assert.ok(
    diff <= atol + rtol * Math.abs(expected),
    `${message} expected ${expected}, got ${actual} (|diff| ${diff} > atol ${atol} + rtol ${rtol})`,
  );
}

/** {@link assertClose} element by element, naming the first index that differs. */
export function assertAllClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  options: { rtol?: number; atol?: number; message?: string } = {},
): void {
  assert.equal(actual.length, expected.length, `${options.message ?? ""} length`);
  for (let i = 0; i < expected.length; i++) {
    assertClose(actual[i], expected[i], { ...options, message: `${options.message ?? ""} [${i}]` });
  }
}

/** Asserts two float arrays hold the same bits (so +0 and -0 differ, and NaN equals NaN). */
export function assertBitsEqual(
  actual: Float32Array,
  expected: Float32Array,
  message = "",
): void {
  assert.equal(actual.length, expected.length, `${message} length`);
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const e = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  for (let i = 0; i < e.length; i++) {
    if (a[i] !== e[i] && !(Number.isNaN(actual[i]) && Number.isNaN(expected[i]))) {
      assert.fail(`${message} [${i}]: expected ${expected[i]}, got ${actual[i]}`);
    }
  }
}
