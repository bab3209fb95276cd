import assert from "node:assert/strict";
import { decodeE8M0, encodeE8M0 } from "./e8m0.ts";
import { decodeUE4M3, encodeUE4M3 } from "./ue4m3.ts";
import { codeTable } from "./codes.ts";
import { E4M3 } from "./format.ts";
import { packNibbles, unpackNibbles } from "./pack.ts";

Deno.test("E8M0 decodes every byte as 2^(b - 127), 0xFF as NaN", () => {
  const bytes = new Uint8Array(256).map((_, i) => i);
  const values = decodeE8M0(bytes);
  for (let b = 0; b < 255; b++) assert.equal(values[b], 2 ** (b - 127));
  assert.ok(Number.isNaN(values[255]));
  assert.deepEqual(
    encodeE8M0(values.subarray(0, 255), { rounding: "floor" }),
    bytes.subarray(0, 255),
  );
  assert.deepEqual(
    encodeE8M0(values.subarray(0, 255), { rounding: "ceil" }),
    bytes.subarray(0, 255),
  );
});

Deno.test("E8M0 rounding rules and edge values", () => {
  const x = [3, 1.5, 1.4999, 2 ** 200, 2 ** -200, 0, -1, NaN, Infinity, 2 ** -130 * 1.5];
  assert.deepEqual([...encodeE8M0(x, { rounding: "floor" })], [
    128,
    127,
    127,
    254,
    0,
    0,
    255,
    255,
    255,
    0,
  ]);
  assert.deepEqual([...encodeE8M0(x, { rounding: "ceil" })], [
    129,
    128,
    128,
    254,
    0,
    0,
    255,
    255,
    255,
    0,
  ]);
  assert.deepEqual([...encodeE8M0(x, { rounding: "nearest-up" })], [
    129,
    128,
    127,
    254,
    0,
    0,
    255,
    255,
    255,
    0,
  ]);
  assert.throws(() => encodeE8M0([1], { rounding: "even" as "floor" }), /options.rounding/);
});

Deno.test("UE4M3 encodes RNE with saturation and round-trips every positive code", () => {
  const positive = codeTable(E4M3).slice(0, 127);
  const codes = encodeUE4M3(positive);
  assert.deepEqual([...codes], [...new Uint8Array(127).map((_, i) => i)]);
  assert.deepEqual([...decodeUE4M3(codes)], [...positive]);
  // 17 is the tie between 16 (code 88) and 18 (code 89): ties go to the even code.
  assert.deepEqual([...encodeUE4M3([1000, Infinity, 0.3, 17, 18])], [126, 126, 42, 88, 89]);
  assert.equal(encodeUE4M3([NaN])[0], 0x7f);
  assert.throws(() => encodeUE4M3([1, -2]), /values\[1\] is -2/);
  assert.throws(() => decodeUE4M3(new Uint8Array([0x80])), /codes\[0\]/);
});

Deno.test("nibbles pack low first and round-trip, odd counts included", () => {
  const codes = new Uint8Array(33).map((_, i) => (i * 7) % 16);
  const packed = packNibbles(codes);
  assert.equal(packed.length, 17);
  assert.equal(packed[0], codes[0] | (codes[1] << 4));
  assert.equal(packed[16], codes[32]);
  assert.deepEqual(unpackNibbles(packed, 33), codes);
  assert.throws(
    () => packNibbles(new Uint8Array([1, 16])),
    /codes\[1\] must be in \[0, 15\], got 16/,
  );
  assert.throws(() => unpackNibbles(new Uint8Array(2), 5), /count/);
  assert.throws(() => packNibbles(new Uint8Array(4), new Uint8Array(3)), /out must have length 2/);
});
