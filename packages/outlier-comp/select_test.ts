import assert from "node:assert/strict";
import { seedKey, uniformAt } from "@fp4lab/fp4-format";
import { selectKth } from "./select.ts";

function randomArray(n: number, seed: number, levels = 0): Float32Array {
  const key = seedKey(seed);
  return Float32Array.from({ length: n }, (_, i) => {
    const u = uniformAt(key, i);
    return levels > 0 ? Math.floor(u * levels) : u * 2 - 1;
  });
}

Deno.test("selectKth agrees with a full sort for every k (small arrays, ties included)", () => {
  for (const n of [1, 2, 3, 7, 50]) {
    for (const levels of [0, 3]) {
      const x = randomArray(n, n + levels, levels);
      const sorted = Float32Array.from(x).sort();
      for (let k = 0; k < n; k++) {
        const work = Float32Array.from(x);
        assert.equal(selectKth(work, k), sorted[k], `n=${n} levels=${levels} k=${k}`);
        for (let i = 0; i < k; i++) assert.ok(work[i] <= work[k]);
        for (let i = k + 1; i < n; i++) assert.ok(work[i] >= work[k]);
        assert.deepEqual(Float32Array.from(work).sort(), sorted, "a permutation of the input");
      }
    }
  }
});

Deno.test("selectKth on large arrays (the Floyd-Rivest sampling path), sorted and adversarial inputs", () => {
  const inputs = [
    randomArray(5000, 1),
    randomArray(100000, 2),
    randomArray(3001, 3, 5), // heavy ties
    Float32Array.from({ length: 4000 }, (_, i) => i), // sorted
    Float32Array.from({ length: 4000 }, (_, i) => -i), // reversed
    new Float32Array(2000).fill(1.5), // all equal
  ];
  for (const x of inputs) {
    const sorted = Float32Array.from(x).sort();
    const n = x.length;
    for (const k of [0, 1, Math.floor(n * 0.01), Math.floor(n / 2), Math.floor(n * 0.99), n - 1]) {
      assert.equal(selectKth(Float32Array.from(x), k), sorted[k], `n=${n} k=${k}`);
    }
  }
});

Deno.test("selectKth works on a sub-range and refuses bad indices", () => {
  const x = new Float32Array([100, 5, 3, 4, 1, 2, -100]);
  assert.equal(selectKth(x, 3, 1, 5), 3);
  assert.equal(x[0], 100);
  assert.equal(x[6], -100);
  assert.throws(() => selectKth(x, 7), /need integers 0 <= left <= k <= right < 7/);
  assert.throws(() => selectKth(x, 0, 1, 5), RangeError);
  assert.throws(() => selectKth(x, 1.5), RangeError);
  assert.throws(() => selectKth([1, 2] as unknown as Float32Array, 0), TypeError);
});
