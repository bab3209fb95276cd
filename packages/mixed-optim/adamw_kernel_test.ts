// adamwStep on the kernel set against adamwStepReference (the plain TypeScript), bit for bit:
// weights, stored moments, scales, checkpoints, on 1 and 2 threads.
import assert from "node:assert/strict";
import { getThreads, heapAlloc, heapFree, memoryBuffer, setThreads } from "@fp4lab/kernels";
import {
  type AdamWOptions,
  type AdamWState,
  adamwStep,
  adamwStepReference,
  createAdamW,
  disposeAdamW,
} from "./adamw.ts";
import { exportAdamWState, importAdamWState } from "./checkpoint.ts";
import { momentValues } from "./moment_values.ts";
import type { MomentFormat } from "./moment_format.ts";
import { assertBitsEqual } from "../../tests/_util/assert.ts";
import { normal, seededRandom } from "../../tests/_util/random.ts";

// The sum (136044) is above the pool threshold (2^17); 65001 spans two tasks; odd tails.
const LENGTHS = [1, 7, 33, 1001, 70001, 65001];

function assertSameState(fast: AdamWState, slow: AdamWState, label: string): void {
  assert.equal(fast.step, slow.step, `${label}: step`);
  for (let k = 0; k < slow.params.length; k++) {
    assertBitsEqual(fast.params[k], slow.params[k], `${label}: params[${k}]`);
    assertBitsEqual(fast.m1[k], slow.m1[k], `${label}: m1[${k}]`);
    assertBitsEqual(fast.m2[k], slow.m2[k], `${label}: m2[${k}]`);
  }
  assert.deepEqual(fast.m1Scales, slow.m1Scales, `${label}: m1Scales`);
  assert.deepEqual(fast.m2Scales, slow.m2Scales, `${label}: m2Scales`);
}

/** Gradients over many binades with sign changes; `kind` makes some steps extreme. */
function gradients(random: () => number, lengths: number[], step: number): Float32Array[] {
  // Step 3 grows a thousandfold (the scales jump up), step 4 shrinks (they come back down).
  const gain = step === 3 ? 1e3 : step === 4 ? 1e-4 : 1;
  return lengths.map((n) =>
    Float32Array.from(
      { length: n },
      (_, i) => i % 97 === 5 ? 0 : normal(random) * gain * 2 ** -(i % 23),
    )
  );
}

function pair(lengths: number[], options: AdamWOptions, seed: number) {
  const random = seededRandom(seed);
  const init = lengths.map((n) => Float32Array.from({ length: n }, () => normal(random)));
  return {
    fast: createAdamW(init.map((w) => w.slice()), options),
    slow: createAdamW(init.map((w) => w.slice()), options),
    random,
  };
}

const FORMAT_PAIRS: [MomentFormat, MomentFormat][] = [
  ["f32", "f32"],
  ["E4M3", "FP16"],
  ["FP16", "BF16"],
  ["BF16", "E4M3"],
  ["E4M3", "E4M3"],
  ["f32", "FP16"],
  ["FP16", "f32"],
  ["BF16", "BF16"],
];

for (const threads of [1, 2]) {
  for (const [m1Format, m2Format] of FORMAT_PAIRS) {
    Deno.test(`kernel AdamW ${m1Format}/${m2Format} equals the reference bit for bit, ${threads} thread(s)`, () => {
      const before = getThreads();
      setThreads(threads);
      try {
        for (const weightDecay of [0, [0.1, 0, 0.3, 0.05, 0.1, 0]]) {
          const { fast, slow, random } = pair(LENGTHS, { m1Format, m2Format, weightDecay }, 5);
          for (let step = 1; step <= 6; step++) {
            const g = gradients(random, LENGTHS, step);
            const lr = 1e-3 * step;
            adamwStep(fast, g, lr);
            adamwStepReference(slow, g, lr);
            assertSameState(fast, slow, `wd ${weightDecay} step ${step}`);
          }
          disposeAdamW(fast);
        }
      } finally {
        setThreads(before);
      }
    });
  }
}

Deno.test("kernel AdamW without moment scaling equals the reference", () => {
  for (const [m1Format, m2Format] of [["E4M3", "FP16"], ["FP16", "FP16"]] as const) {
    const { fast, slow, random } = pair(
      [7, 1001],
      { m1Format, m2Format, momentScaling: "none" },
      9,
    );
    for (let step = 1; step <= 4; step++) {
      const g = gradients(random, [7, 1001], step);
      adamwStep(fast, g, 1e-2);
      adamwStepReference(slow, g, 1e-2);
      assertSameState(fast, slow, `${m1Format}/${m2Format} unscaled step ${step}`);
    }
    disposeAdamW(fast);
  }
});

Deno.test("NaN and ±Inf gradients give the reference's weights, moments and scales", () => {
  for (const [m1Format, m2Format] of FORMAT_PAIRS) {
    const { fast, slow, random } = pair([33, 1001], { m1Format, m2Format }, 13);
    for (let step = 1; step <= 4; step++) {
      const g = gradients(random, [33, 1001], step);
      if (step === 2) {
        g[0][3] = NaN;
        g[1][10] = Infinity;
        g[1][500] = -Infinity;
      }
      if (step === 3) g[1].fill(NaN, 0, 8); // NaN lanes of a whole SIMD group
      adamwStep(fast, g, 1e-3);
      adamwStepReference(slow, g, 1e-3);
      assertSameState(fast, slow, `${m1Format}/${m2Format} step ${step}`);
    }
    disposeAdamW(fast);
  }
});

Deno.test("an empty tensor and a lone element step like the reference", () => {
  const { fast, slow, random } = pair([0, 1, 0, 5], {}, 17);
  for (let step = 1; step <= 3; step++) {
    const g = gradients(random, [0, 1, 0, 5], step);
    adamwStep(fast, g, 1e-2);
    adamwStepReference(slow, g, 1e-2);
    assertSameState(fast, slow, `step ${step}`);
  }
  disposeAdamW(fast);
});

Deno.test("parameters and gradients in kernel memory are updated in place, like copies", () => {
  const n = 1003;
  const random = seededRandom(21);
  const pw = heapAlloc(n * 4), pg = heapAlloc(n * 4);
  try {
    const w = new Float32Array(memoryBuffer(), pw, n);
    const g = new Float32Array(memoryBuffer(), pg, n);
    for (let i = 0; i < n; i++) w[i] = normal(random);
    const fast = createAdamW([w]);
    const slow = createAdamW([w.slice()]);
    for (let step = 1; step <= 4; step++) {
      for (let i = 0; i < n; i++) g[i] = normal(random) * 1e-3;
      adamwStep(fast, [g], 1e-2);
      adamwStepReference(slow, [g.slice()], 1e-2);
      assert.equal(fast.params[0], w); // still the caller's array
      assertSameState(fast, slow, `step ${step}`);
    }
    // A gradient that is the parameter array itself (read before written, element by element).
    adamwStep(fast, [w], 1e-2);
    adamwStepReference(slow, [slow.params[0]], 1e-2);
    assertSameState(fast, slow, "aliased gradient");
    disposeAdamW(fast);
  } finally {
    heapFree(pw);
    heapFree(pg);
  }
});

Deno.test("checkpoints of kernel steps are the reference's, and resume on the kernels", () => {
  const lengths = [7, 1001, 70001];
  for (const [m1Format, m2Format] of FORMAT_PAIRS) {
    const { fast, slow, random } = pair(lengths, { m1Format, m2Format, weightDecay: 0.1 }, 23);
    for (let step = 1; step <= 3; step++) {
      const g = gradients(random, lengths, step);
      adamwStep(fast, g, 1e-3);
      adamwStepReference(slow, g, 1e-3);
    }
    const ckpt = exportAdamWState(fast);
    assert.deepEqual(ckpt, exportAdamWState(slow), `${m1Format}/${m2Format} checkpoint`);
    for (const codes of [...ckpt.m1, ...ckpt.m2]) {
      assert.ok(codes.buffer instanceof ArrayBuffer, "checkpoint shares no kernel memory");
    }
    const resumed = importAdamWState(fast.params.map((w) => w.slice()), ckpt);
    for (let step = 4; step <= 5; step++) {
      const g = gradients(random, lengths, step);
      adamwStep(resumed, g, 1e-3);
      adamwStepReference(slow, g, 1e-3);
      assertSameState(resumed, slow, `${m1Format}/${m2Format} resumed step ${step}`);
      for (let k = 0; k < lengths.length; k++) {
        assert.deepEqual(momentValues(resumed, "m1", k), momentValues(slow, "m1", k));
      }
    }
    disposeAdamW(fast);
    disposeAdamW(resumed);
  }
});

Deno.test("disposeAdamW hands back ordinary arrays with the same values; stepping resumes", () => {
  const { fast, slow, random } = pair([33, 70001], {}, 29);
  for (let step = 1; step <= 4; step++) {
    const g = gradients(random, [33, 70001], step);
    adamwStep(fast, g, 1e-3);
    adamwStepReference(slow, g, 1e-3);
    assert.ok(fast.m1[0].buffer instanceof SharedArrayBuffer, "moments live in kernel memory");
    if (step % 2 === 0) {
      disposeAdamW(fast);
      assert.ok(fast.m1[0].buffer instanceof ArrayBuffer);
      assert.ok(fast.m2[1].buffer instanceof ArrayBuffer);
    }
    assertSameState(fast, slow, `step ${step}`);
  }
  disposeAdamW(fast);
  disposeAdamW(fast); // twice is harmless
});

Deno.test("a moment array replaced by the caller is taken over on the next step", () => {
  const { fast, slow, random } = pair([33], {}, 31);
  const g1 = gradients(random, [33], 1);
  adamwStep(fast, g1, 1e-3);
  adamwStepReference(slow, g1, 1e-3);
  const halved = fast.m1[0].map((x) => x * 0.5); // still on the E4M3 grid
  fast.m1[0] = halved;
  slow.m1[0].set(halved);
  const g2 = gradients(random, [33], 2);
  adamwStep(fast, g2, 1e-3);
  adamwStepReference(slow, g2, 1e-3);
  assert.ok(fast.m1[0] !== halved && fast.m1[0].buffer instanceof SharedArrayBuffer);
  assertSameState(fast, slow, "after replacement");
  disposeAdamW(fast);
});
