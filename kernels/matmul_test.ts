import assert from "node:assert/strict";
import { assertAllClose, assertBitsEqual } from "../tests/_util/assert.ts";
import { type GemmLayout, matmul, matmulReference, setThreads } from "./mod.ts";
import { gemmTiles } from "./_tiles.ts";

// A tiny counter-based generator, so failures reproduce.
function rand(len: number, seed: number): Float32Array {
  const out = new Float32Array(len);
  let s = seed >>> 0;
  for (let i = 0; i < len; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 32 - 0.5;
  }
  return out;
}

// Sum of |a||b| per output: the scale reassociation error is relative to.
function absScale(
  a: Float32Array,
  b: Float32Array,
  m: number,
  n: number,
  k: number,
  l: GemmLayout,
) {
  const aa = a.map(Math.abs), bb = b.map(Math.abs);
  return matmulReference(aa, bb, m, n, k, l);
}

function check(m: number, n: number, k: number, layout: GemmLayout, seed: number, acc = false) {
  const a = rand(m * k, seed), b = rand(k * n, seed + 1);
  const init = rand(m * n, seed + 2);
  const got = matmul(a, b, m, n, k, { layout, out: init.slice(), accumulate: acc });
  const want = matmulReference(a, b, m, n, k, layout, init.slice(), acc);
  const scale = absScale(a, b, m, n, k, layout);
  for (let i = 0; i < want.length; i++) {
    const tol = 1e-5 * (scale[i] + (acc ? Math.abs(init[i]) : 0)) + 1e-30;
    if (!(Math.abs(got[i] - want[i]) <= tol)) {
      assert.fail(`${layout} ${m}x${n}x${k} acc=${acc}: [${i}] got ${got[i]}, want ${want[i]}`);
    }
  }
}

const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [3, 5, 7],
  [4, 8, 1],
  [5, 9, 1],
  [17, 33, 65],
  [64, 256, 256],
  [65, 257, 257],
  [130, 70, 300],
  [2, 600, 3],
  [300, 2, 513],
  // full 6 x 8 panels with K not a multiple of the 4-deep packing transpose
  [6, 8, 6],
  [12, 16, 7],
  [18, 24, 3],
  // several MC (72-row) and NC (256-column) blocks inside one task, last K-block of 3
  [150, 520, 259],
  [127, 129, 131],
  [129, 33, 127],
];

for (const threads of [1, 2]) {
  Deno.test(`matmul matches the reference on odd shapes, all layouts (${threads} threads)`, () => {
    setThreads(threads);
    let seed = 1;
    for (const [m, n, k] of SHAPES) {
      for (const layout of ["nn", "nt", "tn"] as const) {
        check(m, n, k, layout, seed++);
        check(m, n, k, layout, seed++, true);
      }
    }
  });
}

Deno.test("matmul gives the same bits on 1 and 2 threads (tiling does not change the sums)", () => {
  // Shapes above the pool's threshold (2^22 multiply-adds), so two threads split them.
  for (const [m, n, k] of [[131, 259, 131], [129, 127, 259], [2048, 24, 130], [40, 700, 300]]) {
    for (const layout of ["nn", "nt", "tn"] as const) {
      const a = rand(m * k, m + k), b = rand(k * n, n + k);
      setThreads(1);
      const one = matmul(a, b, m, n, k, { layout });
      setThreads(2);
      const two = matmul(a, b, m, n, k, { layout });
      assertBitsEqual(two, one, `${layout} ${m}x${n}x${k}`);
    }
  }
});

Deno.test("matmul on random shapes within 1e-5 relative", () => {
  setThreads(2);
  let s = 12345;
  const next = (hi: number) => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return 1 + (s % hi);
  };
  for (let t = 0; t < 12; t++) {
    const layout = (["nn", "nt", "tn"] as const)[t % 3];
    check(next(150), next(150), next(400), layout, 100 + t, t % 2 === 0);
  }
});

Deno.test("matmul handles empty dimensions and k = 0", () => {
  assert.deepEqual(matmul(new Float32Array(0), new Float32Array(0), 0, 0, 5), new Float32Array(0));
  assert.deepEqual(matmul(new Float32Array(0), new Float32Array(6), 0, 3, 2), new Float32Array(0));
  // k = 0: the product is zero, so overwrite gives zeros and accumulate keeps out.
  const out = new Float32Array([1, 2, 3, 4]);
  assert.deepEqual(matmul(new Float32Array(0), new Float32Array(0), 2, 2, 0, { out }), out);
  assert.deepEqual(out, new Float32Array(4));
  const keep = new Float32Array([1, 2, 3, 4]);
  matmul(new Float32Array(0), new Float32Array(0), 2, 2, 0, { out: keep, accumulate: true });
  assert.deepEqual(keep, new Float32Array([1, 2, 3, 4]));
});

Deno.test("matmul accumulates into out and returns it", () => {
  const a = new Float32Array([1, 2, 3, 4]);
  const b = new Float32Array([5, 6, 7, 8]);
  const out = new Float32Array([1, 1, 1, 1]);
  const r = matmul(a, b, 2, 2, 2, { out, accumulate: true });
  assert.equal(r, out);
  assertAllClose(out, [20, 23, 44, 51]);
});

Deno.test("matmul rejects bad input before doing any work", () => {
  const a = new Float32Array(6), b = new Float32Array(6);
  assert.throws(() => matmul(a, b, 3, 2, 3), /a must have m\*k = 9 elements, got 6/);
  assert.throws(() => matmul(a, new Float32Array(5), 2, 3, 3), /b must have k\*n = 9/);
  assert.throws(() => matmul(a, b, 2, 3, 3, { layout: "tt" as GemmLayout }), /layout/);
  assert.throws(() => matmul(a, b, 2, 3, 3, { layout: "nt" }), /b must have n\*k = 9/);
  assert.throws(() => matmul(a, b, -1, 3, 3), /m must be a non-negative integer/);
  assert.throws(() => matmul(a, b, 2.5, 3, 3), /m must be a non-negative integer/);
  assert.throws(() => matmul([1, 2] as unknown as Float32Array, b, 1, 3, 2), TypeError);
  const out = new Float32Array([7, 7, 7]);
  assert.throws(
    () => matmul(a, new Float32Array(9), 2, 3, 3, { out }),
    /options.out must have m\*n = 6/,
  );
  assert.deepEqual(out, new Float32Array([7, 7, 7]));
  assert.throws(() => setThreads(0), RangeError);
  assert.throws(() => setThreads(1.5), RangeError);
});

Deno.test("the pool restarts workers that ended while idle", async () => {
  setThreads(2);
  const [m, n, k] = [150, 300, 100]; // large enough to use the pool
  const a = rand(m * k, 31), b = rand(k * n, 32);
  const first = matmul(a, b, m, n, k);
  await new Promise((r) => setTimeout(r, 700)); // idle workers end after 0.4 s
  const again = matmul(a, b, m, n, k);
  assertAllClose(again, first, { rtol: 0 });
  setThreads(1);
  // each output sums over k in the same order whatever the tiling: identical bits
  assertAllClose(matmul(a, b, m, n, k), first, { rtol: 0 });
});

Deno.test("gemmTiles: one task on one thread, else even micro-tile multiples covering C", () => {
  assert.deepEqual(gemmTiles(2048, 384, 1, 6, 8), [2048, 384]);
  for (const [m, n] of [[2048, 384], [384, 128], [128, 384], [1024, 1024], [7, 3], [6, 8]]) {
    for (const threads of [2, 3, 8]) {
      const [tm, tn] = gemmTiles(m, n, threads, 6, 8);
      assert.equal(tm % 6, 0, `${m}x${n}/${threads}: tm ${tm}`);
      assert.equal(tn % 8, 0, `${m}x${n}/${threads}: tn ${tn}`);
      const tasks = Math.ceil(m / tm) * Math.ceil(n / tn);
      // as many tasks as asked for, unless C has fewer micro-tiles than that
      assert.ok(tasks >= Math.min(4 * threads, Math.ceil(m / 6) * Math.ceil(n / 8)), `${tasks}`);
    }
  }
  // squarish tiles: the longer side is split more
  assert.deepEqual(gemmTiles(384, 128, 2, 6, 8), [96, 64]);
  assert.deepEqual(gemmTiles(128, 384, 2, 6, 8), [66, 96]);
  // 8 tasks, a multiple of the 2 threads, rather than 9 squarer ones
  assert.deepEqual(gemmTiles(1024, 1024, 2, 6, 8), [258, 512]);
});
