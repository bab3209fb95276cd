import assert from "node:assert/strict";
import { E2M1, E2M3, E3M2, E4M3, E5M2, floatFormat } from "@fp4lab/fp4-format";
import { gridPoints } from "./grid.ts";

Deno.test("gridPoints: E2M1 is the FP4 paper's 15 points (14 intervals)", () => {
  assert.deepEqual(
    Array.from(gridPoints(E2M1)),
    [-6, -4, -3, -2, -1.5, -1, -0.5, 0, 0.5, 1, 1.5, 2, 3, 4, 6],
  );
});

Deno.test("gridPoints: any ExMy, sorted, symmetric, specials dropped, ends at ±maxNormal", () => {
  // Expected counts: 2 * (finite magnitudes) - 1, zero counted once.
  const cases = [
    { format: E2M3, points: 2 * 32 - 1 },
    { format: E3M2, points: 2 * 32 - 1 },
    { format: E4M3, points: 2 * 127 - 1 }, // S.1111.111 is NaN
    { format: E5M2, points: 2 * 124 - 1 }, // exponent 11111: Inf and 3 NaN
    { format: floatFormat(3, 1, { ieeeSpecials: false }), points: 2 * 16 - 1 },
  ];
  for (const { format, points } of cases) {
    const grid = gridPoints(format);
    assert.equal(grid.length, points, format.name);
    assert.equal(grid[0], -format.maxNormal, format.name);
    assert.equal(grid[grid.length - 1], format.maxNormal, format.name);
    for (let i = 1; i < grid.length; i++) assert.ok(grid[i] > grid[i - 1], `${format.name} ${i}`);
    for (let i = 0; i < grid.length; i++) assert.equal(grid[i] + grid[grid.length - 1 - i], 0);
  }
});

Deno.test("gridPoints: cached per format object", () => {
  assert.equal(gridPoints(E3M2), gridPoints(E3M2));
});
