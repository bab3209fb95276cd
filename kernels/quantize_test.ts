import assert from "node:assert/strict";
import { assertBitsEqual } from "../tests/_util/assert.ts";
import {
  BF16,
  E2M1,
  E4M3,
  E5M2,
  encode,
  type FloatFormat,
  FP16,
  packNibbles,
  quantize,
} from "@fp4lab/fp4-format";
import { dequantizeCodes, fakeQuantize, quantizePack } from "./mod.ts";
import { lcg } from "./_testdata.ts";

// Values spanning every binade of every format, ties, subnormals, overflow, ±0, ±Inf.
function probe(format: FloatFormat, seed: number): Float32Array {
  const rnd = lcg(seed);
  const v: number[] = [0, -0, Infinity, -Infinity, format.maxNormal, format.minSubnormal];
  for (let i = 0; i < 4000; i++) {
    const e = Math.floor(rnd() * 300) - 150;
    const x = (1 + rnd()) * 2 ** e;
    v.push(rnd() < 0.5 ? -x : x);
  }
  // exact ties and near-ties of the grid
  const grid = quantize(new Float32Array(v.slice(0, 2000)), format);
  for (let i = 0; i + 1 < grid.length; i += 2) {
    const mid = (grid[i] + grid[i] * (1 + 2 ** -format.mantissaBits)) / 2;
    v.push(mid, Math.fround(mid * (1 + 2 ** -20)), -mid);
  }
  for (let i = 0; i < 200; i++) v.push(Math.fround(rnd() * format.maxNormal * 1.2));
  return new Float32Array(v);
}

for (const format of [E2M1, E4M3, E5M2, BF16]) {
  Deno.test(`fakeQuantize ${format.name} is bit-exact against fp4-format's quantize`, () => {
    const x = probe(format, 5);
    assertBitsEqual(fakeQuantize(x, format), quantize(x, format));
    for (const scale of [0.37, 3, 1024]) {
      assertBitsEqual(
        fakeQuantize(x, format, { inverseScale: scale }),
        quantize(x, format, { inverseScale: scale }),
      );
    }
  });

  Deno.test(`quantizePack / dequantizeCodes ${format.name} match fp4-format's codes`, () => {
    const x = probe(format, 9);
    if (format.name !== "BF16") {
      const codes = encode(x, format);
      const want = format.bits === 4 ? packNibbles(codes) : codes;
      assert.deepEqual(quantizePack(x, format), want);
    } else {
      // BF16 codes are the high half of the rounded f32
      const r = quantize(x, format);
      const hi = new Uint16Array(r.length);
      const bits = new Uint32Array(r.buffer);
      for (let i = 0; i < r.length; i++) hi[i] = r[i] !== r[i] ? 0x7fc0 : bits[i] >>> 16;
      assert.deepEqual(quantizePack(x, format), hi);
    }
    // round trip: decode(pack(x)) = Q(x), with and without a scale
    for (const scale of [1, 0.37]) {
      const c = quantizePack(x, format, { inverseScale: scale });
      assertBitsEqual(
        dequantizeCodes(c, format, x.length, { inverseScale: scale }),
        quantize(x, format, { inverseScale: scale }),
      );
    }
  });
}

Deno.test("NaN stays NaN where the format has it; E2M1 refuses it", () => {
  const x = new Float32Array([1, NaN, -2]);
  for (const f of [E4M3, E5M2, BF16]) {
    const y = fakeQuantize(x, f);
    assert.ok(Number.isNaN(y[1]) && y[0] === 1 && y[2] === -2);
    assert.ok(Number.isNaN(dequantizeCodes(quantizePack(x, f), f, 3)[1]));
  }
  assert.deepEqual(quantizePack(x, E4M3), new Uint8Array([0x38, 0x7f, 0xc0]));
  assert.throws(() => quantizePack(x, E2M1), /values\[1\] is NaN/);
});

Deno.test("element kernels reject bad input", () => {
  const x = new Float32Array(3);
  assert.throws(() => fakeQuantize(x, FP16), /format must be one of E2M1, E4M3, E5M2, BF16/);
  assert.throws(() => fakeQuantize(x, E2M1, { inverseScale: 0 }), /options.inverseScale/);
  assert.throws(() => fakeQuantize(x, E2M1, {}, new Float32Array(2)), /out must be/);
  assert.throws(() => dequantizeCodes(new Uint8Array(3), E2M1, 3), /codes must hold 2/);
  assert.throws(() => dequantizeCodes(new Uint8Array(3), BF16, 3), /Uint16Array/);
  assert.throws(() => quantizePack([1] as unknown as Float32Array, E2M1), TypeError);
  assert.deepEqual(quantizePack(new Float32Array(0), E2M1), new Uint8Array(0));
  assert.deepEqual(quantizePack(new Float32Array([4, 1, 2]), E2M1), new Uint8Array([0x26, 0x4]));
});

Deno.test("fakeQuantize's SIMD lanes equal fp4-format on random f32 bit patterns, scaled too", () => {
  const rnd = lcg(91);
  const bits = new Uint32Array(200_003).map(() => Math.floor(rnd() * 2 ** 32));
  const x = new Float32Array(bits.buffer);
  for (const format of [E2M1, E4M3, E5M2, BF16]) {
    assertBitsEqual(fakeQuantize(x, format), quantize(x, format), format.name);
    for (const scale of [3.7, 1e-3, 2 ** 20]) {
      assertBitsEqual(
        fakeQuantize(x, format, { inverseScale: scale }),
        quantize(x, format, { inverseScale: scale }),
        `${format.name} scale ${scale}`,
      );
    }
  }
});
