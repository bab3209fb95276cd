import assert from "node:assert/strict";
import { clipGradNorm, gradNorm } from "./clip.ts";
import { assertAllClose, assertClose } from "../../tests/_util/assert.ts";

Deno.test("the global norm covers every tensor", () => {
  assertClose(gradNorm([new Float32Array([1, 2]), new Float32Array([2]), new Float32Array(0)]), 3);
});

Deno.test("clipping scales every tensor by the same factor, only above the bound", () => {
  const g = [new Float32Array([3, 0]), new Float32Array([-4])];
  assert.equal(clipGradNorm(g, 10), 5);
  assertAllClose(g[0], [3, 0]);
  assert.equal(clipGradNorm(g, 2.5), 5);
  const f = 2.5 / (5 + 1e-6);
  assertAllClose(g[0], [3 * f, 0]);
  assertAllClose(g[1], [-4 * f]);
  assertClose(gradNorm(g), 2.5, { rtol: 1e-6 });
});

Deno.test("a non-finite norm is returned and the gradients are left alone", () => {
  const g = [new Float32Array([1, Infinity])];
  assert.equal(clipGradNorm(g, 1), Infinity);
  assert.deepEqual(Array.from(g[0]), [1, Infinity]);
  assert.ok(Number.isNaN(gradNorm([new Float32Array([NaN])])));
});

Deno.test("bad clipping input gets a clear error", () => {
  assert.throws(
    () => clipGradNorm([new Float32Array(1)], 0),
    /maxNorm must be a finite number in \(0/,
  );
  assert.throws(() => clipGradNorm([new Float32Array(1)], NaN), /maxNorm/);
  assert.throws(
    () => gradNorm([new Float64Array(1) as unknown as Float32Array]),
    /grads\[0\] must be a Float32Array, got Float64Array/,
  );
});
