/**
 * Random FP4 operands for the kernel tests (not exported from the package).
 *
 * @module
 */
import type { QuantizedTensor } from "./quantized_tensor.ts";
import { E2M1 } from "@fp4lab/fp4-format";

const E2M1_FORMAT = E2M1;

/** Deterministic generator returning uniform [0, 1). */
export function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** UE4M3 value of a byte (sign bit ignored), an independent small decoder for the tests. */
function ue4m3(byte: number): number {
  const e = (byte >> 3) & 15, m = byte & 7;
  return e === 0 ? m * 2 ** -9 : (1 + m / 8) * 2 ** (e - 7);
}

/** Scale kinds the tests draw from. */
export type ScaleKind = "f32" | "e8m0" | "ue4m3";

/** A random E2M1 operand with the given group shape and scale kind. */
export function randomFp4(
  rows: number,
  cols: number,
  blockRows: number,
  blockCols: number,
  kind: ScaleKind,
  rnd: () => number,
  tensorScale = 1,
): QuantizedTensor {
  const rowBytes = Math.ceil(cols / 2);
  const data = new Uint8Array(rows * rowBytes);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const code = Math.floor(rnd() * 16);
      data[r * rowBytes + (c >> 1)] |= c & 1 ? code << 4 : code;
    }
  }
  const groups = Math.ceil(rows / blockRows) * Math.ceil(cols / blockCols);
  const scales = new Float32Array(groups);
  for (let g = 0; g < groups; g++) {
    scales[g] = kind === "f32"
      ? 0.01 + rnd() * 3
      : kind === "e8m0"
      ? 2 ** (Math.floor(rnd() * 30) - 15)
      : ue4m3(1 + Math.floor(rnd() * 125));
  }
  return {
    shape: [rows, cols],
    format: E2M1_FORMAT,
    data,
    blockRows,
    blockCols,
    scales,
    tensorScale,
    scaleFormat: kind === "f32" ? "f32" : kind === "e8m0" ? "E8M0" : "UE4M3",
    scheme: kind,
  };
}

/** Dequantizes an E2M1 operand with the contract's formula (f32 order), for independent checks. */
export function dequantizeFp4(q: QuantizedTensor): Float32Array {
  const [rows, cols] = q.shape;
  const table = [0, 0.5, 1, 1.5, 2, 3, 4, 6];
  const out = new Float32Array(rows * cols);
  const nbc = Math.ceil(cols / q.blockCols);
  const rowBytes = Math.ceil(cols / 2);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const byte = q.data[r * rowBytes + (c >> 1)];
      const code = c & 1 ? byte >> 4 : byte & 15;
      const v = code & 8 ? -table[code & 7] : table[code & 7];
      const s = q.scales[Math.floor(r / q.blockRows) * nbc + Math.floor(c / q.blockCols)];
      out[r * cols + c] = Math.fround(Math.fround(v * s) / Math.fround(q.tensorScale));
    }
  }
  return out;
}
