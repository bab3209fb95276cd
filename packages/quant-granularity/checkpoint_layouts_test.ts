import assert from "node:assert/strict";
import { seedKey, uniformAt } from "@fp4lab/fp4-format";
import { assertBitsEqual, assertClose } from "../../tests/_util/assert.ts";
import {
  decodeGptOssMxfp4,
  decodeModelOptNvfp4,
  encodeGptOssMxfp4,
  encodeModelOptNvfp4,
  gptOssMxfp4ToQuantized,
} from "./checkpoint_layouts.ts";
import { dequantize, heavyTailedActivations, MXFP4, NVFP4, quantizeTensor } from "./mod.ts";
import { readSafetensors, writeSafetensors } from "./safetensors.ts";

// E2M1 by code, written out from the OCP table (not from fp4-format).
const LUT = [0, 0.5, 1, 1.5, 2, 3, 4, 6, -0, -0.5, -1, -1.5, -2, -3, -4, -6];

function randomBytes(n: number, seed: number, lo = 0, hi = 256): Uint8Array {
  const key = seedKey(seed);
  return Uint8Array.from({ length: n }, (_, i) => lo + Math.floor(uniformAt(key, i) * (hi - lo)));
}

Deno.test("gpt-oss MXFP4: decoding matches a slow reference of the documented layout", () => {
  const [E, R, G] = [2, 3, 2];
  const blocks = randomBytes(E * R * G * 16, 1);
  const scales = randomBytes(E * R * G, 2, 110, 140);
  scales[3] = 0xff;
  const { shape, values } = decodeGptOssMxfp4(
    { dtype: "U8", shape: [E, R, G, 16], data: blocks },
    { dtype: "U8", shape: [E, R, G], data: scales },
  );
  assert.deepEqual(shape, [E, R, G * 32]);
  const expected = new Float32Array(E * R * G * 32);
  for (let e = 0; e < E; e++) {
    for (let r = 0; r < R; r++) {
      for (let k = 0; k < G * 32; k++) {
        const g = Math.floor(k / 32);
        const j = k % 32;
        const byte = blocks[((e * R + r) * G + g) * 16 + Math.floor(j / 2)];
        const nibble = j % 2 === 0 ? byte & 0x0f : byte >> 4; // low nibble = element 2j
        const s = scales[(e * R + r) * G + g];
        expected[(e * R + r) * G * 32 + k] = s === 0xff ? NaN : LUT[nibble] * Math.pow(2, s - 127);
      }
    }
  }
  assertBitsEqual(values, expected);
  const q = gptOssMxfp4ToQuantized(
    { shape: [E, R, G, 16], data: blocks },
    { dtype: "F8_E8M0", shape: [E, R, G], data: scales },
  );
  assert.deepEqual(q.shape, [E * R, G * 32]);
  assert.equal(q.data, blocks, "the checkpoint bytes are the operand layout: no copy");
  assertBitsEqual(dequantize(q), expected);
});

Deno.test("gpt-oss MXFP4: encode then decode equals MXFP4 quantize then dequantize", () => {
  const x = heavyTailedActivations(6, 64, { seed: 4 });
  for (const scaleRule of ["e8m0-floor", "e8m0-rceil"] as const) {
    const { blocks, scales } = encodeGptOssMxfp4(x, [2, 3, 64], { scaleRule });
    assert.deepEqual(blocks.shape, [2, 3, 2, 16]);
    assert.deepEqual(scales.shape, [2, 3, 2]);
    const decoded = decodeGptOssMxfp4(blocks, scales);
    assert.deepEqual(decoded.shape, [2, 3, 64]);
    assertBitsEqual(decoded.values, dequantize(quantizeTensor(x, 6, 64, { ...MXFP4, scaleRule })));
  }
  assert.throws(() => encodeGptOssMxfp4(x, [6, 64], { scaleRule: "absmax" }), /E8M0 rule/);
  assert.throws(() => encodeGptOssMxfp4(x.subarray(0, 48 * 6), [6, 48]), /multiple of 32/);
  assert.throws(() => encodeGptOssMxfp4(x, [6, 63]), /values.length must be 378/);
});

Deno.test("gpt-oss MXFP4: dtype and shape mismatches fail loudly", () => {
  const blocks = { dtype: "U8" as const, shape: [2, 1, 16], data: new Uint8Array(32) };
  const scales = { dtype: "U8" as const, shape: [2, 1], data: new Uint8Array(2) };
  assert.throws(
    () => decodeGptOssMxfp4({ ...blocks, dtype: "BF16" }, scales),
    /blocks.dtype must be U8 or I8/,
  );
  assert.throws(
    () => decodeGptOssMxfp4(blocks, { ...scales, dtype: "F32" }),
    /scales.dtype must be/,
  );
  assert.throws(
    () => decodeGptOssMxfp4({ ...blocks, shape: [2, 2, 8] }, scales),
    /blocks.shape must be \[\.\.\., G, 16\]/,
  );
  assert.throws(
    () => decodeGptOssMxfp4(blocks, { ...scales, shape: [1, 2] }),
    /scales.shape must be \[2,1\]/,
  );
  assert.throws(
    () => decodeGptOssMxfp4({ ...blocks, data: new Uint8Array(31) }, scales),
    /blocks.data has 31 bytes/,
  );
});

Deno.test("ModelOpt NVFP4: decoding matches a slow reference; encoding round-trips", () => {
  const [rows, cols] = [5, 48];
  const weight = randomBytes(rows * cols / 2, 5);
  const scaleBytes = randomBytes(rows * cols / 16, 6, 0x20, 0x60);
  const global = Math.fround(3.7e-4);
  const g = new Uint8Array(new Float32Array([global]).buffer);
  const { shape, values } = decodeModelOptNvfp4(
    { dtype: "U8", shape: [rows, cols / 2], data: weight },
    { dtype: "F8_E4M3", shape: [rows, cols / 16], data: scaleBytes },
    { dtype: "F32", shape: [], data: g },
  );
  assert.deepEqual(shape, [rows, cols]);
  const e4m3 = (b: number) => {
    const e = (b >> 3) & 15;
    const m = b & 7;
    return e === 0 ? m * 2 ** -9 : 2 ** (e - 7) * (1 + m / 8);
  };
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const byte = weight[r * cols / 2 + Math.floor(c / 2)];
      const code = c % 2 === 0 ? byte & 15 : byte >> 4;
      const s = e4m3(scaleBytes[r * cols / 16 + Math.floor(c / 16)]);
      const want = Math.fround(Math.fround(LUT[code] * s) * global);
      assert.ok(
        Object.is(values[r * cols + c], want),
        `(${r}, ${c}): ${values[r * cols + c]} vs ${want}`,
      );
    }
  }
  const w = heavyTailedActivations(8, 64, { seed: 7 });
  const t = encodeModelOptNvfp4(w, 8, 64);
  const q = quantizeTensor(w, 8, 64, NVFP4);
  assert.deepEqual(t.weight.data, q.data);
  assert.deepEqual(t.weight_scale.data, q.scaleCodes);
  const decoded = decodeModelOptNvfp4(t.weight, t.weight_scale, t.weight_scale_2).values;
  const ours = dequantize(q);
  for (let i = 0; i < ours.length; i++) {
    // Multiplying by f32(1/s_enc) instead of dividing by s_enc: at most a couple of f32 ulps apart.
    assertClose(decoded[i], ours[i], { rtol: 2 ** -21, atol: 0 });
  }
  assert.throws(() => encodeModelOptNvfp4(w.subarray(0, 8 * 40), 8, 40), /multiple of 16/);
});

Deno.test("ModelOpt NVFP4: dtype and shape mismatches fail loudly", () => {
  const weight = { dtype: "U8" as const, shape: [2, 8], data: new Uint8Array(16) };
  const scale = { dtype: "F8_E4M3" as const, shape: [2, 1], data: new Uint8Array(2) };
  const global = { dtype: "F32" as const, shape: [1], data: new Uint8Array(4) };
  assert.throws(
    () => decodeModelOptNvfp4(weight, { ...scale, shape: [2, 2], data: new Uint8Array(4) }, global),
    /weightScale.shape must be \[out, in\/16\] = \[2,1\]/,
  );
  assert.throws(
    () => decodeModelOptNvfp4(weight, { ...scale, dtype: "F8_E5M2" }, global),
    /weightScale.dtype/,
  );
  assert.throws(
    () => decodeModelOptNvfp4(weight, scale, { ...global, dtype: "BF16" }),
    /weightScale2.dtype must be F32/,
  );
  assert.throws(
    () => decodeModelOptNvfp4(weight, scale, { ...global, shape: [2] }),
    /weightScale2.data has 4 bytes/,
  );
  assert.throws(
    () => decodeModelOptNvfp4({ ...weight, shape: [16] }, scale, global),
    /weight.shape must be \[out, in\/2\]/,
  );
});

Deno.test("both layouts survive a safetensors file end to end", () => {
  const experts = heavyTailedActivations(4, 96, { seed: 8 });
  const linear = heavyTailedActivations(16, 32, { seed: 9 });
  const mx = encodeGptOssMxfp4(experts, [2, 2, 96]);
  const nv = encodeModelOptNvfp4(linear, 16, 32);
  const bytes = writeSafetensors({
    "model.layers.0.mlp.experts.down_proj_blocks": mx.blocks,
    "model.layers.0.mlp.experts.down_proj_scales": mx.scales,
    "model.layers.0.mlp.down_proj.weight": nv.weight,
    "model.layers.0.mlp.down_proj.weight_scale": nv.weight_scale,
    "model.layers.0.mlp.down_proj.weight_scale_2": nv.weight_scale_2,
  });
  const { tensors } = readSafetensors(bytes);
  const decodedMx = decodeGptOssMxfp4(
    tensors["model.layers.0.mlp.experts.down_proj_blocks"],
    tensors["model.layers.0.mlp.experts.down_proj_scales"],
  );
  assertBitsEqual(decodedMx.values, dequantize(quantizeTensor(experts, 4, 96, MXFP4)));
  const decodedNv = decodeModelOptNvfp4(
    tensors["model.layers.0.mlp.down_proj.weight"],
    tensors["model.layers.0.mlp.down_proj.weight_scale"],
    tensors["model.layers.0.mlp.down_proj.weight_scale_2"],
  );
  assertBitsEqual(
    decodedNv.values,
    decodeModelOptNvfp4(nv.weight, nv.weight_scale, nv.weight_scale_2).values,
  );
});
