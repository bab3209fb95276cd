/**
 * WGSL element-wise kernels of the training backend: fill, copy, add, scale, transpose, the
 * non-finite check and the adapter probe. One invocation per element over a 2-D grid of
 * 256-wide workgroups (`flat` index); element offsets inside their buffers are parameters.
 *
 * @module
 */
import { type WgslKernel, wgslKernel } from "./_kernel.ts";

/** t[o + i] = bits (an f32 or i32 value as its bit pattern), i < n. */
export const FILL_WGSL: WgslKernel = wgslKernel(
  "fill",
  "n:u32 o:u32 bits:u32",
  ["t: array<u32>"],
  `let i = flat(wid, nwg, lid);
  if (i < p.n) { t[p.o + i] = p.bits; }`,
);

/** dst[do + i] = src[so + i] (bit copy, any 4-byte element type). */
export const COPY_WGSL: WgslKernel = wgslKernel(
  "copy",
  "n:u32 dst_o:u32 src_o:u32",
  ["dst: array<u32>", "src: array<u32>"],
  `let i = flat(wid, nwg, lid);
  if (i < p.n) { dst[p.dst_o + i] = src[p.src_o + i]; }`,
);

/** out = a + b; out = a · s (op 1, s = scalar). */
export const ADD_WGSL: WgslKernel = wgslKernel(
  "add",
  "n:u32 oo:u32 ao:u32 bo:u32",
  ["o: array<f32>", "a: array<f32>", "b: array<f32>"],
  `let i = flat(wid, nwg, lid);
  if (i < p.n) { o[p.oo + i] = a[p.ao + i] + b[p.bo + i]; }`,
);

/** t[i] *= s. */
export const SCALE_WGSL: WgslKernel = wgslKernel(
  "scale",
  "n:u32 o:u32 s:f32",
  ["t: array<f32>"],
  `let i = flat(wid, nwg, lid);
  if (i < p.n) { t[p.o + i] = t[p.o + i] * p.s; }`,
);

/** dst [cols, rows] = srcᵀ through a 16 × 16 workgroup tile (coalesced on both sides). */
export const TRANSPOSE_WGSL: WgslKernel = wgslKernel(
  "transpose",
  "rows:u32 cols:u32 dst_o:u32 src_o:u32",
  ["dst: array<u32>", "src: array<u32>"],
  `let c = wid.x * 16u + lid.x;
  let r = wid.y * 16u + lid.y;
  if (r < p.rows && c < p.cols) { tile[lid.y][lid.x] = src[p.src_o + r * p.cols + c]; }
  workgroupBarrier();
  let r2 = wid.y * 16u + lid.x;
  let c2 = wid.x * 16u + lid.y;
  if (r2 < p.rows && c2 < p.cols) { dst[p.dst_o + c2 * p.rows + r2] = tile[lid.x][lid.y]; }`,
  { workgroup: [16, 16, 1], prelude: "var<workgroup> tile: array<array<u32, 17>, 16>;" },
);

/** flag[fo] = 1 when any of t[o .. o + n) is NaN or ±Inf (flag cleared by the host first). */
export const NONFINITE_WGSL: WgslKernel = wgslKernel(
  "nonfinite",
  "n:u32 o:u32 fo:u32",
  ["t: array<u32>", "flag: array<u32>"],
  `let i = flat(wid, nwg, lid);
  if (i < p.n && (t[p.o + i] & 0x7f800000u) == 0x7f800000u) { flag[p.fo] = 1u; }`,
);

/**
 * The adapter probe: which arithmetic this GPU really does. out[0] = x·y for x = y = 2^-70 read
 * from memory (the exact product 2^-140 is subnormal: 0 when the adapter flushes subnormal
 * results, as SwiftShader does); out[1] = a·b + c for values where a fused multiply-add and a
 * multiply then add differ (contraction); out[2] = 2^-140 · 2 (a subnormal input).
 */
export const PROBE_WGSL: WgslKernel = wgslKernel(
  "probe",
  "unused:u32",
  ["v: array<f32>"],
  `if (li == p.unused) {
    let x = v[0];
    let a = v[1];
    let c = v[2];
    let tiny = v[3];
    v[4] = x * x;
    v[5] = a * a + c;
    v[6] = tiny * 2.0;
  }`,
  { workgroup: [1, 1, 1] },
);
