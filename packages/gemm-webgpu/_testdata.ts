/**
 * Random E2M1 operands for the GPU tests (a local copy: tests do not reach into other members).
 *
 * @module
 */
import type { QuantizedTensor } from "@fp4lab/kernels";
import { E2M1 } from "@fp4lab/fp4-format";

/** Deterministic generator of uniform [0, 1). */
export function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** A random E2M1 operand; scales are powers of two (E8M0), UE4M3 values or plain f32. */
export function randomFp4(
  rows: number,
  cols: number,
  blockRows: number,
  blockCols: number,
  kind: "f32" | "e8m0" | "ue4m3",
  rnd: () => number,
  tensorScale = 1,
): QuantizedTensor {
  const rowBytes = Math.ceil(cols / 2);
  const data = new Uint8Array(rows * rowBytes);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      data[r * rowBytes + (c >> 1)] |= Math.floor(rnd() * 16) << (c & 1 ? 4 : 0);
    }
  }
  const groups = Math.ceil(rows / blockRows) * Math.ceil(cols / blockCols);
  const scales = new Float32Array(groups);
  for (let g = 0; g < groups; g++) {
    const byte = 1 + Math.floor(rnd() * 125);
    scales[g] = kind === "f32"
      ? 0.01 + rnd() * 3
      : kind === "e8m0"
      ? 2 ** (Math.floor(rnd() * 30) - 15)
      : ((byte >> 3) === 0 ? (byte & 7) * 2 ** -9 : (1 + (byte & 7) / 8) * 2 ** ((byte >> 3) - 7));
  }
  return {
    shape: [rows, cols],
    format: E2M1,
    data,
    blockRows,
    blockCols,
    scales,
    tensorScale,
    scaleFormat: kind === "f32" ? "f32" : kind === "e8m0" ? "E8M0" : "UE4M3",
    scheme: kind,
  };
}
