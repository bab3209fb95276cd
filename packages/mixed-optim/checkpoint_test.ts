import assert from "node:assert/strict";
import { adamwStep, createAdamW } from "./adamw.ts";
import { exportAdamWState, importAdamWState } from "./checkpoint.ts";
import { MOMENT_FORMATS } from "./moment_format.ts";
import { assertBitsEqual } from "../../tests/_util/assert.ts";
import { normal, seededRandom } from "../../tests/_util/random.ts";

function randomGrads(random: () => number, sizes: number[]): Float32Array[] {
  return sizes.map((n) => Float32Array.from({ length: n }, () => normal(random) * 1e-3));
}

for (const m1Format of MOMENT_FORMATS) {
  for (const m2Format of MOMENT_FORMATS) {
    Deno.test(`checkpoint round-trips bit for bit: m1 ${m1Format}, m2 ${m2Format}`, () => {
      const random = seededRandom(5);
      const sizes = [33, 7];
      const params = sizes.map((n) => Float32Array.from({ length: n }, () => normal(random)));
      const opt = createAdamW(params, { m1Format, m2Format, weightDecay: [0.1, 0] });
      for (let t = 0; t < 3; t++) adamwStep(opt, randomGrads(random, sizes), 1e-3);
      // A step with zero gradients: the moments only decay.
      adamwStep(opt, [new Float32Array(33), new Float32Array(7)], 1e-3);
      const checkpoint = exportAdamWState(opt);
      const restoredParams = params.map((p) => p.slice());
      const restored = importAdamWState(restoredParams, checkpoint);
      assert.equal(restored.step, opt.step);
      assert.deepEqual(restored.weightDecay, [0.1, 0]);
      for (let k = 0; k < sizes.length; k++) {
        assertBitsEqual(restored.m1[k], opt.m1[k], `m1[${k}]`);
        assertBitsEqual(restored.m2[k], opt.m2[k], `m2[${k}]`);
      }
      assertBitsEqual(restored.m1Scales, opt.m1Scales);
      assertBitsEqual(restored.m2Scales, opt.m2Scales);
      // Training on from the copy and from the original gives the same bits.
      const grads = randomGrads(random, sizes);
      adamwStep(opt, grads, 1e-3);
      adamwStep(restored, grads, 1e-3);
      params.forEach((p, k) => assertBitsEqual(restoredParams[k], p, `params[${k}]`));
      // The checkpoint is as small as the storage.
      const bytes = { f32: 4, FP16: 2, BF16: 2, E4M3: 1 };
      assert.equal(checkpoint.m1[0].byteLength, 33 * bytes[m1Format]);
      assert.equal(checkpoint.m2[1].byteLength, 7 * bytes[m2Format]);
    });
  }
}

Deno.test("a checkpoint shares no memory with the optimizer", () => {
  const opt = createAdamW([new Float32Array(4)], { m1Format: "f32" });
  adamwStep(opt, [new Float32Array([1, 2, 3, 4])], 0.1);
  const checkpoint = exportAdamWState(opt);
  const before = Array.from(checkpoint.m1[0]);
  adamwStep(opt, [new Float32Array([1, 2, 3, 4])], 0.1);
  assert.deepEqual(Array.from(checkpoint.m1[0]), before);
});

Deno.test("a checkpoint that does not fit the parameters is refused", () => {
  const opt = createAdamW([new Float32Array(4)]);
  const checkpoint = exportAdamWState(opt);
  assert.throws(
    () => importAdamWState([new Float32Array(5)], checkpoint),
    /m1\[0\] must be a Uint8Array of length 5/,
  );
  assert.throws(
    () => importAdamWState([new Float32Array(4), new Float32Array(1)], checkpoint),
    /weightDecay must hold 2/,
  );
  assert.throws(
    () => importAdamWState([new Float32Array(4)], { ...checkpoint, m2Format: "E4M3" }),
    /m2\[0\] must be a Uint8Array/,
  );
  assert.throws(
    () =>
      importAdamWState([new Float32Array(4)], { ...checkpoint, m1Scales: new Float32Array([0]) }),
    /m1Scales\[0\] must be a finite number/,
  );
  assert.throws(
    () => importAdamWState([new Float32Array(4)], { ...checkpoint, step: -1 }),
    /checkpoint.step/,
  );
});
