import assert from "node:assert/strict";
import { adamwStep, createAdamW } from "./adamw.ts";
import { createLossScaler, type LossScaler, lossScaleUpdate, unscaleGrads } from "./loss_scale.ts";
import { assertBitsEqual } from "../../tests/_util/assert.ts";

/** One training iteration as a trainer runs it; returns whether the optimizer stepped. */
function iteration(
  opt: ReturnType<typeof createAdamW>,
  scaler: LossScaler,
  scaledGrads: Float32Array[],
) {
  const finite = unscaleGrads(scaledGrads, scaler);
  if (!lossScaleUpdate(scaler, finite)) return false;
  adamwStep(opt, scaledGrads, 1e-2);
  return true;
}

Deno.test("a planted Inf skips the step, halves the scale, and leaves weights and moments untouched", () => {
  const w = new Float32Array([0.5, -1, 2]);
  const opt = createAdamW([w]);
  const scaler = createLossScaler({ scale: 1024, growthInterval: 100 });
  assert.ok(iteration(opt, scaler, [new Float32Array([1024, -512, 256])]));
  const before = {
    w: w.slice(),
    m1: opt.m1[0].slice(),
    m2: opt.m2[0].slice(),
    s1: opt.m1Scales.slice(),
    s2: opt.m2Scales.slice(),
  };
  for (const bad of [Infinity, -Infinity, NaN]) {
    const scale = scaler.scale;
    assert.equal(iteration(opt, scaler, [new Float32Array([1, bad, 1])]), false);
    assert.equal(scaler.scale, scale / 2);
    assertBitsEqual(w, before.w);
    assertBitsEqual(opt.m1[0], before.m1);
    assertBitsEqual(opt.m2[0], before.m2);
    assertBitsEqual(opt.m1Scales, before.s1);
    assertBitsEqual(opt.m2Scales, before.s2);
    assert.equal(opt.step, 1);
  }
  assert.equal(scaler.skippedSteps, 3);
  assert.equal(scaler.cleanSteps, 0);
  // The next clean step goes through.
  assert.ok(iteration(opt, scaler, [new Float32Array([128, 128, 128])]));
  assert.equal(opt.step, 2);
});

Deno.test("the scale grows after growthInterval clean steps and stays in its bounds", () => {
  const scaler = createLossScaler({ scale: 4, growthInterval: 3, maxScale: 16, minScale: 1 });
  const trace: number[] = [];
  for (let i = 0; i < 9; i++) {
    assert.ok(lossScaleUpdate(scaler, true));
    trace.push(scaler.scale);
  }
  assert.deepEqual(trace, [4, 4, 8, 8, 8, 16, 16, 16, 16]);
  for (let i = 0; i < 6; i++) lossScaleUpdate(scaler, false);
  assert.equal(scaler.scale, 1);
});

Deno.test("unscaling divides by the scale and flags overflow", () => {
  const scaler = createLossScaler({ scale: 2 ** 10 });
  const g = [new Float32Array([2 ** 10, -(2 ** 5)]), new Float32Array([0])];
  assert.equal(unscaleGrads(g, scaler), true);
  assert.deepEqual(Array.from(g[0]), [1, -(2 ** -5)]);
  assert.equal(
    unscaleGrads([new Float32Array([3.4e38 * 10])], createLossScaler({ scale: 1 })),
    false,
  );
});

Deno.test("the scaler state is plain data that survives JSON", () => {
  const scaler = createLossScaler({ scale: 256, growthInterval: 2 });
  lossScaleUpdate(scaler, true);
  lossScaleUpdate(scaler, false);
  const back = JSON.parse(JSON.stringify(scaler)) as LossScaler;
  assert.deepEqual(back, scaler);
  lossScaleUpdate(back, true);
  lossScaleUpdate(scaler, true);
  assert.deepEqual(back, scaler);
});

Deno.test("bad scaler options get a clear error", () => {
  assert.throws(() => createLossScaler({ scale: NaN }), /options.scale must be a finite number/);
  assert.throws(() => createLossScaler({ backoffFactor: 1 }), /options.backoffFactor/);
  assert.throws(
    () => createLossScaler({ growthInterval: 0 }),
    /options.growthInterval must be an integer/,
  );
  assert.throws(
    () => createLossScaler({ scale: 2 ** 30 }),
    /options.scale must be a finite number in/,
  );
  const corrupt = { ...createLossScaler(), scale: -1 };
  assert.throws(() => lossScaleUpdate(corrupt, true), /scaler.scale/);
});
