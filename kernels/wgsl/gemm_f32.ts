/**
 * WGSL f32 GEMM: C[m, n] (+)= op(A)·op(B) in the layouts "nn" (A [m, k], B [k, n]), "nt"
 * (B [n, k]) and "tn" (A [k, m]). Workgroups of 16 × 16 invocations own a BM × BN tile of C;
 * each invocation keeps a TM × TN register block (several outputs per thread) fed from BK-deep
 * tiles of A and B in workgroup memory, read back as vec4. Global loads are coalesced along
 * whichever axis is contiguous in the layout. Each output is one f32 sum in k order.
 *
 * Two tile shapes: 64 × 64 (4 × 4 per thread, BK 16) for small and medium products, 128 × 128
 * (8 × 8 per thread, BK 8) for large ones. Element offsets of A, B and C inside their buffers are
 * uniform parameters, so operands can be ranges of larger buffers.
 *
 * Bindings: 0 uniform {m, n, k, accumulate, ao, bo, co}, 1 A, 2 B, 3 C.
 * Dispatch: (ceil(n / BN), ceil(m / BM), 1).
 *
 * @module
 */
import { type WgslKernel, wgslKernel } from "./_kernel.ts";

/** Output tile edge of {@link GEMM_F32_WGSL} (the 64 × 64 shape). */
export const GEMM_F32_TILE = 64;

/** The f32 GEMM layouts. */
export type GemmF32Layout = "nn" | "nt" | "tn";

const SHAPES = {
  64: { bm: 64, bn: 64, bk: 16, tm: 4, tn: 4 },
  128: { bm: 128, bn: 128, bk: 8, tm: 8, tn: 8 },
} as const;

/**
 * The GEMM kernel of one tile shape and layout.
 *
 * @param tile 64 or 128 (output tile edge)
 * @param layout "nn", "nt" or "tn"
 * @returns the kernel
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { gemmF32Kernel } from "@fp4lab/kernels";
 * assert.equal(gemmF32Kernel(64, "nt").name, "gemm_f32_64_nt");
 * ```
 */
export function gemmF32Kernel(tile: 64 | 128, layout: GemmF32Layout): WgslKernel {
  const { bm, bn, bk, tm, tn } = SHAPES[tile];
  const aT = layout === "tn", bT = layout === "nt";
  // Each of the 256 invocations loads BK·BM / 256 elements of A and as many of B per K step.
  const loads = (bk * bm) / 256;
  const aIndex = aT
    ? `let kk = e / ${bm}u; let row = e % ${bm}u;`
    : `let row = e / ${bk}u; let kk = e % ${bk}u;`;
  const aLoad = aT ? "A[p.ao + gk * p.m + gi]" : "A[p.ao + gi * p.k + gk]";
  const bIndex = bT
    ? `let col = e / ${bk}u; let kk = e % ${bk}u;`
    : `let kk = e / ${bn}u; let col = e % ${bn}u;`;
  const bLoad = bT ? "B[p.bo + gj * p.k + gk]" : "B[p.bo + gk * p.n + gj]";
  return wgslKernel(
    `gemm_f32_${tile}_${layout}`,
    "m:u32 n:u32 k:u32 accumulate:u32 ao:u32 bo:u32 co:u32",
    ["A: array<f32>", "B: array<f32>", "C: array<f32>"],
    /* wgsl */ `
  let row0 = wid.y * ${bm}u;
  let col0 = wid.x * ${bn}u;
  var acc: array<vec4<f32>, ${(tm * tn) / 4}>;
  for (var i = 0u; i < ${(tm * tn) / 4}u; i++) { acc[i] = vec4<f32>(0.0); }
  for (var k0 = 0u; k0 < p.k; k0 += ${bk}u) {
    for (var l = 0u; l < ${loads}u; l++) {
      let e = li + l * 256u;
      {
        ${aIndex}
        let gi = row0 + row;
        let gk = k0 + kk;
        var v = 0.0;
        if (gi < p.m && gk < p.k) { v = ${aLoad}; }
        As[(kk * ${bm}u + row) / 4u][row % 4u] = v;
      }
      {
        ${bIndex}
        let gj = col0 + col;
        let gk = k0 + kk;
        var v = 0.0;
        if (gj < p.n && gk < p.k) { v = ${bLoad}; }
        Bs[(kk * ${bn}u + col) / 4u][col % 4u] = v;
      }
    }
    workgroupBarrier();
    for (var kk = 0u; kk < ${bk}u; kk++) {
      var a: array<vec4<f32>, ${tm / 4}>;
      var b: array<vec4<f32>, ${tn / 4}>;
      for (var r4 = 0u; r4 < ${
      tm / 4
    }u; r4++) { a[r4] = As[(kk * ${bm}u + lid.y * ${tm}u) / 4u + r4]; }
      for (var c4 = 0u; c4 < ${
      tn / 4
    }u; c4++) { b[c4] = Bs[(kk * ${bn}u + lid.x * ${tn}u) / 4u + c4]; }
      for (var r = 0u; r < ${tm}u; r++) {
        let av = a[r / 4u][r % 4u];
        for (var c4 = 0u; c4 < ${tn / 4}u; c4++) {
          acc[r * ${tn / 4}u + c4] += av * b[c4];
        }
      }
    }
    workgroupBarrier();
  }
  for (var r = 0u; r < ${tm}u; r++) {
    let i = row0 + lid.y * ${tm}u + r;
    if (i >= p.m) { break; }
    for (var c = 0u; c < ${tn}u; c++) {
      let j = col0 + lid.x * ${tn}u + c;
      if (j >= p.n) { break; }
      let v = acc[r * ${tn / 4}u + c / 4u][c % 4u];
      let idx = p.co + i * p.n + j;
      if (p.accumulate != 0u) { C[idx] = C[idx] + v; } else { C[idx] = v; }
    }
  }`,
    {
      workgroup: [16, 16, 1],
      prelude: `var<workgroup> As: array<vec4<f32>, ${(bk * bm) / 4}>;
var<workgroup> Bs: array<vec4<f32>, ${(bk * bn) / 4}>;`,
    },
  );
}

/** The 64 × 64 "nn" GEMM's source (the manifest's entry; every layout is generated alike). */
export const GEMM_F32_WGSL: string = gemmF32Kernel(64, "nn").source;

/** The plain 16 × 16 shared-memory tiled GEMM ("nn" only), kept as the benchmark baseline. */
export const GEMM_F32_BASELINE_WGSL = /* wgsl */ `
struct Dims { m: u32, n: u32, k: u32, accumulate: u32 }
@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
@group(0) @binding(3) var<uniform> d: Dims;
var<workgroup> As: array<array<f32, 16>, 16>;
var<workgroup> Bs: array<array<f32, 16>, 16>;
@compute @workgroup_size(16, 16)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = gid.y;
  let j = gid.x;
  var acc = 0.0;
  for (var k0 = 0u; k0 < d.k; k0 += 16u) {
    let ka = k0 + lid.x;
    let kb = k0 + lid.y;
    As[lid.y][lid.x] = select(0.0, A[i * d.k + ka], i < d.m && ka < d.k);
    Bs[lid.y][lid.x] = select(0.0, B[kb * d.n + j], j < d.n && kb < d.k);
    workgroupBarrier();
    for (var q = 0u; q < 16u; q++) { acc += As[lid.y][q] * Bs[q][lid.x]; }
    workgroupBarrier();
  }
  if (i < d.m && j < d.n) { C[i * d.n + j] = acc; }
}
`;
