import assert from "node:assert/strict";
import { decode, E4M3, encode } from "@fp4lab/fp4-format";
import { decodeFp8, encodeFp8, fp8GradScale } from "./fp8_codec.ts";
import { normal, seededRandom } from "../../tests/_util/random.ts";

Deno.test("encodeFp8 gives fp4-format's E4M3 codes of value / scale", () => {
  const random = seededRandom(2);
  const x = Float32Array.from({ length: 500 }, () => normal(random) * 0.01);
  const scale = 2 ** -12;
  const codes = encodeFp8(x, scale, new Uint8Array(500), new Float32Array(500));
  assert.deepEqual(codes, encode(x.map((v) => v / scale), E4M3));
  const back = decodeFp8(codes, scale, new Float32Array(500));
  assert.deepEqual(back, decode(codes, E4M3).map((v) => v * scale));
  const acc = new Float32Array(500).fill(1);
  decodeFp8(codes, scale, acc, true);
  assert.deepEqual(acc, back.map((v) => 1 + v));
});

Deno.test("the shared scale fits the sum of R ranks and its rounding growth", () => {
  for (const ranks of [1, 2, 5, 16]) {
    for (const amax of [1e-6, 0.3, 1, 448, 1e4]) {
      const s = fp8GradScale(amax, ranks);
      assert.equal(2 ** Math.log2(s), s);
      const need = amax * ranks * (1 + 2 ** -4) ** ranks;
      assert.ok(need / s <= 448 && need / (s / 2) > 448, `amax ${amax}, R ${ranks}, scale ${s}`);
    }
  }
  assert.equal(fp8GradScale(0, 4), 1);
});

Deno.test("bad codec input gets a clear error", () => {
  const x = new Float32Array(4);
  assert.throws(
    () => encodeFp8(x, 0.3, new Uint8Array(4), new Float32Array(4)),
    /scale must be a positive power of two, got 0.3/,
  );
  assert.throws(
    () => encodeFp8(x, 1, new Uint8Array(3), new Float32Array(4)),
    /codes and scratch must have the length of values \(4\)/,
  );
  assert.throws(
    () => decodeFp8(new Uint8Array(4), 1, new Float32Array(5)),
    /out must have the length of codes/,
  );
  assert.throws(() => fp8GradScale(-1, 2), /amax must be a finite number/);
  assert.throws(() => fp8GradScale(1, 0), /ranks must be an integer/);
});
