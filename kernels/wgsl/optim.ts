/**
 * WGSL kernels of the weight-gradient estimator and the optimizer: DGE (the FP4 paper's
 * correction factor, `@fp4lab/dge`'s `applyGradientFactor`), loss-scale unscaling with a finite
 * check, global-norm clipping as a reduction that never leaves the GPU, AdamW with moments
 * stored in E4M3 / FP16 behind a per-tensor power-of-two scale (`@fp4lab/mixed-optim`'s
 * `adamwStep`, in f32 arithmetic), and the FP8 (E4M3) ring all-reduce of `fp8AllReduce`.
 *
 * @module
 */
import { type WgslKernel, wgslKernel } from "./_kernel.ts";

const REDUCE = /* wgsl */ `
var<workgroup> red: array<f32, 256>;
var<workgroup> redu: array<u32, 256>;
`;

/**
 * acc += raw ⊙ f′(grid): the DGE factor (1/k)·u^(1/k − 1), u = |x − mid|/(δ/2) in the grid
 * interval holding x (binary search over the format's points in `pts`), capped at `cap`, 0
 * outside the grid (with the reference's 2^-20 relative slack). Per workgroup, the factor sum
 * and the capped count go to `part` [2 · workgroups]. Params: n, npts, ao, ro, go, po, inv_k,
 * expo (1/k − 1), cap, lo_tol, hi_tol.
 */
export const DGE_WGSL: WgslKernel = wgslKernel(
  "dge",
  "n:u32 npts:u32 ao:u32 ro:u32 go:u32 po:u32 inv_k:f32 expo:f32 cap:f32 lo_tol:f32 hi_tol:f32",
  ["acc: array<f32>", "raw: array<f32>", "grid: array<f32>", "pts: array<f32>", "part: array<f32>"],
  /* wgsl */ `
  let i = flat(wid, nwg, lid);
  var factor = 0.0;
  var capped = 0u;
  if (i < p.n) {
    let x = grid[p.go + i];
    if (x >= p.lo_tol && x <= p.hi_tol) {
      var lo = 0u;
      var hi = p.npts - 1u;
      while (hi - lo > 1u) {
        let m = (lo + hi) / 2u;
        if (x >= pts[m]) { lo = m; } else { hi = m; }
      }
      let mid = (pts[lo] + pts[lo + 1u]) * 0.5;
      let inv_half = 2.0 / (pts[lo + 1u] - pts[lo]);
      let u = abs(x - mid) * inv_half;
      if (u > 0.0) { factor = p.inv_k * pow(u, p.expo); } else { factor = f32_from_bits(0x7f800000u); }
      if (factor > p.cap) { factor = p.cap; capped = 1u; }
    }
    acc[p.ao + i] = acc[p.ao + i] + raw[p.ro + i] * factor;
  }
  red[li] = factor;
  redu[li] = capped;
  workgroupBarrier();
  for (var h = 128u; h > 0u; h >>= 1u) {
    if (li < h) { red[li] += red[li + h]; redu[li] += redu[li + h]; }
    workgroupBarrier();
  }
  if (li == 0u) {
    let w = wid.y * nwg.x + wid.x;
    part[p.po + 2u * w] = red[0];
    part[p.po + 2u * w + 1u] = f32(redu[0]);
  }`,
  { prelude: REDUCE },
);

/** g *= s, and flag[fo] = 1 when a result is not finite. Params: n, o, s, fo. */
export const UNSCALE_WGSL: WgslKernel = wgslKernel(
  "unscale",
  "n:u32 o:u32 s:f32 fo:u32",
  ["g: array<f32>", "flag: array<u32>"],
  `let i = flat(wid, nwg, lid);
  if (i >= p.n) { return; }
  let v = g[p.o + i] * p.s;
  g[p.o + i] = v;
  if ((bitcast<u32>(v) & 0x7f800000u) == 0x7f800000u) { flag[p.fo] = 1u; }`,
);

/** Per workgroup Σ g² into part[po + workgroup]. Params: n, o, po. */
export const SUMSQ_WGSL: WgslKernel = wgslKernel(
  "sumsq",
  "n:u32 o:u32 po:u32",
  ["g: array<f32>", "part: array<f32>"],
  /* wgsl */ `
  let i = flat(wid, nwg, lid);
  var v = 0.0;
  if (i < p.n) { let x = g[p.o + i]; v = x * x; }
  red[li] = v;
  workgroupBarrier();
  for (var h = 128u; h > 0u; h >>= 1u) {
    if (li < h) { red[li] += red[li + h]; }
    workgroupBarrier();
  }
  if (li == 0u) { part[p.po + wid.y * nwg.x + wid.x] = red[0]; }`,
  { prelude: REDUCE },
);

/**
 * The clip decision, one workgroup: norm = √Σ part, factor = maxNorm / (norm + 1e-6) when the
 * norm is finite and above maxNorm, else 1; state[so] = norm, state[so + 1] = factor. Params:
 * nparts, max_norm, so.
 */
export const CLIP_FACTOR_WGSL: WgslKernel = wgslKernel(
  "clip_factor",
  "nparts:u32 max_norm:f32 so:u32",
  ["part: array<f32>", "state: array<f32>"],
  /* wgsl */ `
  var v = 0.0;
  for (var i = li; i < p.nparts; i += 256u) { v += part[i]; }
  red[li] = v;
  workgroupBarrier();
  for (var h = 128u; h > 0u; h >>= 1u) {
    if (li < h) { red[li] += red[li + h]; }
    workgroupBarrier();
  }
  if (li == 0u) {
    let norm = sqrt(red[0]);
    var f = 1.0;
    if ((bitcast<u32>(norm) & 0x7f800000u) != 0x7f800000u && norm > p.max_norm) {
      f = p.max_norm / (norm + 1e-6);
    }
    state[p.so] = norm;
    state[p.so + 1u] = f;
  }`,
  { prelude: REDUCE },
);

/** g *= state[so] (a factor computed on the GPU). Params: n, o, so. */
export const SCALE_BY_WGSL: WgslKernel = wgslKernel(
  "scale_by",
  "n:u32 o:u32 so:u32",
  ["g: array<f32>", "state: array<f32>"],
  `let i = flat(wid, nwg, lid);
  if (i < p.n) { g[p.o + i] = g[p.o + i] * state[p.so]; }`,
);

/**
 * AdamW element update of one tensor: m = β1·s1·m1 + (1−β1)·g, v = β2·s2·m2 + (1−β2)·g², w ←
 * w·decay − stepSize·m / (√v·invSqrtBc2 + ε); the moments are stored in units of the old scales
 * (m/s1, v/s2) and their maxima |m|, v go to amax[ao], amax[ao + 1] (bit patterns, atomic max;
 * cleared by the host). Scales s1, s2 are read from `sc` at so, so + 1. Params: n, wo, go, mo, vo,
 * so, ao, b1, b2, c1, c2, eps, decay, step_size, inv_sqrt_bc2.
 */
export const ADAMW_UPDATE_WGSL: WgslKernel = wgslKernel(
  "adamw_update",
  "n:u32 wo:u32 go:u32 mo:u32 vo:u32 so:u32 ao:u32 b1:f32 b2:f32 c1:f32 c2:f32 eps:f32 " +
    "decay:f32 step_size:f32 inv_sqrt_bc2:f32",
  [
    "w: array<f32>",
    "g: array<f32>",
    "m1: array<f32>",
    "m2: array<f32>",
    "sc: array<f32>",
    "amax: array<atomic<u32>>",
  ],
  /* wgsl */ `
  let i = flat(wid, nwg, lid);
  var am = 0u;
  var av = 0u;
  if (i < p.n) {
    let s1 = sc[p.so];
    let s2 = sc[p.so + 1u];
    let gi = g[p.go + i];
    let m = (p.b1 * s1) * m1[p.mo + i] + p.c1 * gi;
    let v = (p.b2 * s2) * m2[p.vo + i] + p.c2 * gi * gi;
    w[p.wo + i] = w[p.wo + i] * p.decay - p.step_size * m / (sqrt(v) * p.inv_sqrt_bc2 + p.eps);
    m1[p.mo + i] = m * div_rn(1.0, s1);
    m2[p.vo + i] = v * div_rn(1.0, s2);
    am = bitcast<u32>(abs(m));
    av = bitcast<u32>(abs(v));
  }
  atomicMax(&wm, am);
  atomicMax(&wv, av);
  workgroupBarrier();
  if (li == 0u) {
    atomicMax(&amax[p.ao], atomicLoad(&wm));
    atomicMax(&amax[p.ao + 1u], atomicLoad(&wv));
  }`,
  { prelude: "var<workgroup> wm: atomic<u32>;\nvar<workgroup> wv: atomic<u32>;" },
);

/**
 * The new moment scale of one tensor and moment (`pow2Scale`): the smallest power of two s in
 * [2^-126, 2^127] with amax / s ≤ maxNormal (1 when amax is 0 or not finite; unchanged when the
 * moment is unscaled), and the exact ratio old / new at sc[ro]. Params: so (scale slot), ao (amax
 * slot), ro (ratio slot), maxv, scaled.
 */
export const MOMENT_SCALE_WGSL: WgslKernel = wgslKernel(
  "moment_scale",
  "so:u32 ao:u32 ro:u32 maxv:f32 scaled:u32",
  ["sc: array<f32>", "amax: array<u32>"],
  /* wgsl */ `
  if (li != 0u) { return; }
  let old = sc[p.so];
  let bits = amax[p.ao];
  var s = 1.0;
  if (p.scaled != 0u && bits != 0u && bits < 0x7f800000u) {
    let a = bitcast<f32>(bits);
    var e = i32((bits >> 23u) & 255u) - i32((bitcast<u32>(p.maxv) >> 23u) & 255u);
    e = clamp(e - 2, -126, 127);
    // the smallest e with a / 2^e <= maxv (a / 2^e is exact: a power-of-two scaling)
    for (var t = 0; t < 8; t++) {
      if (e > -126 && div_rn(a, pow2(e - 1)) <= p.maxv) { e -= 1; }
    }
    for (var t = 0; t < 8; t++) {
      if (e < 127 && div_rn(a, pow2(e)) > p.maxv) { e += 1; }
    }
    s = pow2(e);
  }
  sc[p.so] = s;
  sc[p.ro] = div_rn(old, s);`,
  { workgroup: [1, 1, 1] },
);

/**
 * Rounds a stored moment onto its format after rescaling by the ratio at sc[ro] (exact: both
 * scales are powers of two). Params: n, o, ro, mbits, emin, maxv.
 */
export const MOMENT_ROUND_WGSL: WgslKernel = wgslKernel(
  "moment_round",
  "n:u32 o:u32 ro:u32 mbits:u32 emin:i32 maxv:f32",
  ["m: array<f32>", "sc: array<f32>"],
  `let i = flat(wid, nwg, lid);
  if (i >= p.n) { return; }
  var v = m[p.o + i];
  let ratio = sc[p.ro];
  if (ratio != 1.0) { v = v * ratio; }
  m[p.o + i] = round_rne(v, p.mbits, p.emin, p.maxv);`,
);

/**
 * FP8 all-reduce, preparation of one rank's tensor: x ← x / R (correctly rounded), the amax of
 * |x| and a non-finite flag into mt[mo] (amax bits), mt[mo + 1] (flag). Params: n, o, ranks,
 * mo.
 */
export const AR_PREP_WGSL: WgslKernel = wgslKernel(
  "allreduce_prep",
  "n:u32 o:u32 ranks:f32 mo:u32",
  ["x: array<f32>", "mt: array<atomic<u32>>"],
  `let i = flat(wid, nwg, lid);
  if (i >= p.n) { return; }
  let v = div_rn(x[p.o + i], p.ranks);
  x[p.o + i] = v;
  let b = bitcast<u32>(v) & 0x7fffffffu;
  if (b >= 0x7f800000u) { atomicStore(&mt[p.mo + 1u], 1u); } else { atomicMax(&mt[p.mo], b); }`,
);

/**
 * FP8 all-reduce, the shared scale: pow2Scale(amax · K, 448) with K = R·(1 + 2^-4)^R, written as
 * mt[mo + 2] (scale) and mt[mo + 3] (its exact inverse), f32 bits. Params: mo, k.
 */
export const AR_SCALE_WGSL: WgslKernel = wgslKernel(
  "allreduce_scale",
  "mo:u32 k:f32",
  ["mt: array<u32>"],
  /* wgsl */ `
  if (li != 0u) { return; }
  let y = bitcast<f32>(mt[p.mo]) * p.k;
  var s = 1.0;
  let bits = bitcast<u32>(y);
  if (bits != 0u && bits < 0x7f800000u) {
    var e = clamp(i32(bits >> 23u) - 127 - 8 - 2, -126, 127);
    for (var t = 0; t < 8; t++) { if (e > -126 && div_rn(y, pow2(e - 1)) <= 448.0) { e -= 1; } }
    for (var t = 0; t < 8; t++) { if (e < 127 && div_rn(y, pow2(e)) > 448.0) { e += 1; } }
    s = pow2(e);
  }
  mt[p.mo + 2u] = bitcast<u32>(s);
  mt[p.mo + 3u] = bitcast<u32>(div_rn(1.0, s));`,
  { workgroup: [1, 1, 1] },
);

/**
 * FP8 all-reduce, one hop on a chunk: dst = Q(src) (+ dst with `add`), Q the E4M3 round trip
 * behind the shared scale (code = E4M3(x · 1/scale), value = code · scale). With `nan` set and
 * the tensor flagged non-finite, dst = NaN instead. Params: n, so, do, mo, add, nan.
 */
export const AR_HOP_WGSL: WgslKernel = wgslKernel(
  "allreduce_hop",
  "n:u32 so:u32 dso:u32 mo:u32 add:u32 nan:u32",
  ["src: array<f32>", "dst: array<f32>", "mt: array<u32>"],
  /* wgsl */ `
  let i = flat(wid, nwg, lid);
  if (i >= p.n) { return; }
  if (p.nan != 0u) {
    if (mt[p.mo + 1u] != 0u) { dst[p.dso + i] = f32_from_bits(0x7fc00000u); }
    return;
  }
  let scale = bitcast<f32>(mt[p.mo + 2u]);
  let inv = bitcast<f32>(mt[p.mo + 3u]);
  let q = round_rne(src[p.so + i] * inv, 3u, -6, 448.0) * scale;
  if (p.add != 0u) { dst[p.dso + i] = dst[p.dso + i] + q; } else { dst[p.dso + i] = q; }`,
);
