import assert from "node:assert/strict";
import { BF16, E2M1, E2M3, E3M2, E4M3, E5M2, floatFormat, FP16, UE4M3 } from "./format.ts";
import { codeTable, decode, encode, encodePacked } from "./codes.ts";
import { quantize } from "./quantize.ts";
import { assertBitsEqual } from "../../tests/_util/assert.ts";
import { seededRandom } from "../../tests/_util/random.ts";

Deno.test("E2M1 codes are the OCP values, 8 is -0", () => {
  const expected = [0, 0.5, 1, 1.5, 2, 3, 4, 6, -0, -0.5, -1, -1.5, -2, -3, -4, -6];
  const table = codeTable(E2M1);
  assert.equal(table.length, 16);
  expected.forEach((v, code) => assert.ok(Object.is(table[code], v), `code ${code}`));
});

/** The OCP definition of a code's value, written out for one format family at a time. */
function ocpValue(code: number, e: number, m: number, bias: number, specials: string): number {
  const sign = (code >> (e + m)) & 1 ? -1 : 1;
  const ef = (code >> m) & (2 ** e - 1);
  const mf = code & (2 ** m - 1);
  if (specials === "ieee" && ef === 2 ** e - 1) return mf === 0 ? sign * Infinity : NaN;
  if (specials === "nan-only" && ef === 2 ** e - 1 && mf === 2 ** m - 1) return NaN;
  const magnitude = ef === 0 ? 2 ** (1 - bias) * mf / 2 ** m : 2 ** (ef - bias) * (1 + mf / 2 ** m);
  return sign * magnitude;
}

Deno.test("every code of every 4-, 6- and 8-bit OCP format decodes as the spec defines", () => {
  const cases = [
    { f: E2M1, bias: 1, specials: "none", max: 6, minSub: 0.5 },
    { f: E2M3, bias: 1, specials: "none", max: 7.5, minSub: 0.125 },
    { f: E3M2, bias: 3, specials: "none", max: 28, minSub: 0.0625 },
    { f: E4M3, bias: 7, specials: "nan-only", max: 448, minSub: 2 ** -9 },
    { f: E5M2, bias: 15, specials: "ieee", max: 57344, minSub: 2 ** -16 },
  ];
  for (const { f, bias, specials, max, minSub } of cases) {
    assert.equal(f.bias, bias, f.name);
    assert.equal(f.maxNormal, max, f.name);
    assert.equal(f.minSubnormal, minSub, f.name);
    const table = codeTable(f);
    assert.equal(table.length, 2 ** f.bits);
    for (let code = 0; code < table.length; code++) {
      const want = ocpValue(code, f.exponentBits, f.mantissaBits, bias, specials);
      assert.ok(Object.is(table[code], want), `${f.name} code ${code}: ${table[code]} vs ${want}`);
    }
  }
  // Spot checks straight from the spec's table.
  assert.equal(codeTable(E4M3)[0x7e], 448);
  assert.ok(Number.isNaN(codeTable(E4M3)[0x7f]) && Number.isNaN(codeTable(E4M3)[0xff]));
  assert.equal(codeTable(E4M3)[0x08], 2 ** -6);
  assert.equal(codeTable(E5M2)[0x7b], 57344);
  assert.equal(codeTable(E5M2)[0x7c], Infinity);
  assert.equal(codeTable(E5M2)[0xfc], -Infinity);
  for (const c of [0x7d, 0x7e, 0x7f]) assert.ok(Number.isNaN(codeTable(E5M2)[c]));
  assert.equal(codeTable(E4M3).filter(Number.isNaN).length, 2);
  assert.equal(codeTable(E5M2).filter(Number.isNaN).length, 6);
});

Deno.test("FP16 code table equals the platform's Float16Array bit for bit", () => {
  const table = codeTable(FP16);
  const platform = new Float16Array(new Uint16Array(65536).map((_, i) => i).buffer);
  for (let code = 0; code < 65536; code++) {
    const a = table[code];
    const b = platform[code];
    assert.ok(Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b)), `code ${code}`);
  }
});

Deno.test("BF16 code table equals the top half of f32 bit patterns", () => {
  const table = codeTable(BF16);
  const bits = new Uint32Array(1);
  const f = new Float32Array(bits.buffer);
  for (let code = 0; code < 65536; code++) {
    bits[0] = code << 16;
    assert.ok(Object.is(table[code], f[0]) || (Number.isNaN(table[code]) && Number.isNaN(f[0])));
  }
});

Deno.test("encode then decode equals quantize for every format of at most 8 bits", () => {
  const formats = [E2M1, E2M3, E3M2, E4M3, E5M2, floatFormat(3, 4), floatFormat(1, 2)];
  const random = seededRandom(7);
  const x = new Float32Array(20000);
  for (let i = 0; i < x.length; i++) x[i] = (random() - 0.5) * 2 ** (random() * 40 - 20);
  x[0] = -0;
  x[1] = 0;
  for (const f of formats) {
    assertBitsEqual(decode(encode(x, f), f), quantize(x, f), f.name);
  }
});

Deno.test("encode maps NaN and Inf to the format's special codes", () => {
  const x = new Float32Array([NaN, Infinity, -Infinity]);
  assert.deepEqual([...encode(x, E4M3)], [0x7f, 0x7e, 0xfe]);
  assert.deepEqual([...encode(x, E5M2)], [0x7e, 0x7b, 0xfb]);
  assert.deepEqual([...encode(x, E5M2, { saturate: false })], [0x7e, 0x7c, 0xfc]);
  assert.throws(() => encode(new Float32Array([1, NaN]), E2M1), /values\[1\] is NaN/);
});

Deno.test("encode refuses wide formats, negative unsigned values and bad out buffers", () => {
  assert.throws(() => encode(new Float32Array(1), FP16), RangeError);
  assert.throws(() => encode(new Float32Array([-1]), UE4M3), /unsigned/);
  assert.deepEqual([...encode(new Float32Array([-0]), UE4M3)], [0]);
  assert.throws(() => encode(new Float32Array(3), E2M1, { out: new Uint8Array(2) }), /length 3/);
  assert.throws(() => decode(new Uint8Array([16]), E2M1), /codes\[0\]/);
});

Deno.test("encodePacked equals encode then packNibbles, across chunk boundaries", async () => {
  const { packNibbles } = await import("./pack.ts");
  const random = seededRandom(11);
  for (const n of [0, 1, 8191, 8192, 8193, 20001]) {
    const x = new Float32Array(n).map(() => (random() - 0.5) * 14);
    assert.deepEqual(encodePacked(x, E2M1), packNibbles(encode(x, E2M1)), `n = ${n}`);
    const sr = { rounding: "stochastic" as const, seed: 3 };
    assert.deepEqual(encodePacked(x, E2M1, sr), packNibbles(encode(x, E2M1, sr)), `SR n = ${n}`);
  }
  assert.throws(() => encodePacked(new Float32Array(2), E4M3), /must be 4/);
});
