/**
 * WGSL outlier clamping with compensation (the FP4 paper's OCC), matching
 * `@fp4lab/outlier-comp`'s `clampOutliers`: the quantiles q_{1−α} and q_α (ranks ⌊(1−α)C⌋ and
 * ⌊αC⌋ of the sorted group) found exactly by radix selection, the selection that suits a GPU:
 * four passes over the values' order-preserving 32-bit keys, each a 256-bin histogram of the
 * next byte among the values that share the prefix found so far. Per row (per token) the whole
 * selection runs inside one workgroup; per tensor, {@link OCC_HIST_WGSL} and
 * {@link OCC_PICK_WGSL} run each pass over the whole tensor.
 *
 * The residual ΔA = A − clamp(A) is kept sparse, ELL-style: per row at most `cap` entries
 * (column, value) in column order, and the row's count. Values equal to a threshold are kept,
 * as in the reference; each residual value is f32(a − threshold), bit for bit.
 *
 * @module
 */
import { type WgslKernel, wgslKernel } from "./_kernel.ts";

const KEY = /* wgsl */ `
fn key_of(bits: u32) -> u32 { return select(bits ^ 0x80000000u, ~bits, (bits >> 31u) == 1u); }
fn value_of(key: u32) -> f32 {
  return bitcast<f32>(select(~key, key ^ 0x80000000u, (key >> 31u) == 1u));
}
`;

/**
 * Per row (mode 0): radix-select both thresholds of the row, then clamp. With mode 1 the
 * thresholds come from `state` (the tensor selection). One workgroup per row. Params: rows,
 * cols, k_lo, k_hi, cap, mode, xo (source), co (clamped), rv (residual values), rc (residual
 * columns), rn (per-row counts; the total is added at rn + rows).
 */
export const OCC_ROW_WGSL: WgslKernel = wgslKernel(
  "occ_row",
  "rows:u32 cols:u32 k_lo:u32 k_hi:u32 cap:u32 mode:u32 xo:u32 co:u32 rv:u32 rc:u32 rn:u32 so:u32",
  [
    "x: array<u32>",
    "clamped: array<f32>",
    "res: array<f32>",
    "idx: array<u32>",
    "cnt: array<atomic<u32>>",
    "state: array<u32>",
  ],
  /* wgsl */ `
  let r = wid.y * nwg.x + wid.x;
  let valid = r < p.rows;
  let row = p.xo + r * p.cols;
  if (li == 0u) {
    if (p.mode == 1u) {
      sel[0] = state[p.so]; sel[2] = state[p.so + 2u];
    } else {
      sel[0] = 0u; sel[1] = p.k_lo; sel[2] = 0u; sel[3] = p.k_hi;
    }
  }
  workgroupBarrier();
  if (p.mode == 0u) {
    for (var ps = 0u; ps < 4u; ps++) {
      let shift = 24u - ps * 8u;
      let mask = select(0xffffffffu << (shift + 8u), 0u, ps == 0u);
      atomicStore(&hlo[li], 0u);
      atomicStore(&hhi[li], 0u);
      workgroupBarrier();
      let plo = sel[0];
      let phi = sel[2];
      if (valid) {
        for (var c = li; c < p.cols; c += 256u) {
          let k = key_of(x[row + c]);
          if ((k & mask) == plo) { atomicAdd(&hlo[(k >> shift) & 255u], 1u); }
          if ((k & mask) == phi) { atomicAdd(&hhi[(k >> shift) & 255u], 1u); }
        }
      }
      workgroupBarrier();
      if (li == 0u) {
        var rank = sel[1];
        var b = 0u;
        loop {
          let h = atomicLoad(&hlo[b]);
          if (rank < h || b == 255u) { break; }
          rank -= h;
          b++;
        }
        sel[0] = plo | (b << shift);
        sel[1] = rank;
      }
      if (li == 1u) {
        var rank = sel[3];
        var b = 0u;
        loop {
          let h = atomicLoad(&hhi[b]);
          if (rank < h || b == 255u) { break; }
          rank -= h;
          b++;
        }
        sel[2] = phi | (b << shift);
        sel[3] = rank;
      }
      workgroupBarrier();
    }
  }
  let lo = value_of(sel[0]);
  let hi = value_of(sel[2]);
  // Each invocation owns a contiguous run of columns, so entries come out in column order.
  let per = (p.cols + 255u) / 256u;
  let c0 = min(p.cols, li * per);
  let c1 = min(p.cols, c0 + per);
  var n = 0u;
  if (valid) {
    for (var c = c0; c < c1; c++) {
      let v = bitcast<f32>(x[row + c]);
      if (v < lo || v > hi) { n++; }
    }
  }
  offs[li] = n;
  workgroupBarrier();
  if (li == 0u) {
    var run = 0u;
    for (var i = 0u; i < 256u; i++) { let t = offs[i]; offs[i] = run; run += t; }
    sel[4] = run;
  }
  workgroupBarrier();
  if (!valid) { return; }
  var at = offs[li];
  for (var c = c0; c < c1; c++) {
    let v = bitcast<f32>(x[row + c]);
    var out = v;
    if (v < lo) { out = lo; } else if (v > hi) { out = hi; }
    clamped[p.co + r * p.cols + c] = out;
    if (out != v && at < p.cap) {
      res[p.rv + r * p.cap + at] = v - out;
      idx[p.rc + r * p.cap + at] = c;
      at++;
    }
  }
  if (li == 0u) {
    let total = min(sel[4], p.cap);
    atomicStore(&cnt[p.rn + r], total);
    atomicAdd(&cnt[p.rn + p.rows], total);
  }`,
  {
    prelude: `${KEY}
var<workgroup> hlo: array<atomic<u32>, 256>;
var<workgroup> hhi: array<atomic<u32>, 256>;
var<workgroup> sel: array<u32, 5>;
var<workgroup> offs: array<u32, 256>;`,
  },
);

/**
 * Per tensor, one radix pass: histograms (lo at hist[0..256), hi at hist[256..512)) of the next
 * byte of the keys that share the prefixes in `state` ([prefix_lo, rank_lo, prefix_hi,
 * rank_hi]). Params: n, xo, pass. Histograms cleared by the host.
 */
export const OCC_HIST_WGSL: WgslKernel = wgslKernel(
  "occ_hist",
  "n:u32 xo:u32 radix_pass:u32 so:u32 ho:u32",
  ["x: array<u32>", "state: array<u32>", "hist: array<atomic<u32>>"],
  /* wgsl */ `
  let i = flat(wid, nwg, lid);
  if (i >= p.n) { return; }
  let shift = 24u - p.radix_pass * 8u;
  let mask = select(0xffffffffu << (shift + 8u), 0u, p.radix_pass == 0u);
  let k = key_of(x[p.xo + i]);
  if ((k & mask) == state[p.so]) { atomicAdd(&hist[p.ho + ((k >> shift) & 255u)], 1u); }
  if ((k & mask) == state[p.so + 2u]) { atomicAdd(&hist[p.ho + 256u + ((k >> shift) & 255u)], 1u); }`,
  { prelude: KEY },
);

/** Per tensor: picks the bins of one pass and updates `state`. One invocation. Params: pass. */
export const OCC_PICK_WGSL: WgslKernel = wgslKernel(
  "occ_pick",
  "radix_pass:u32 so:u32 ho:u32",
  ["state: array<u32>", "hist: array<u32>"],
  /* wgsl */ `
  if (li != 0u) { return; }
  let shift = 24u - p.radix_pass * 8u;
  for (var side = 0u; side < 2u; side++) {
    var rank = state[p.so + side * 2u + 1u];
    var b = 0u;
    loop {
      let h = hist[p.ho + side * 256u + b];
      if (rank < h || b == 255u) { break; }
      rank -= h;
      b++;
    }
    state[p.so + side * 2u] = state[p.so + side * 2u] | (b << shift);
    state[p.so + side * 2u + 1u] = rank;
  }`,
  { workgroup: [1, 1, 1] },
);

/**
 * out[M, N] += ΔA·Wᵀ over the sparse residual, W [N, K]: one invocation per output, the row's
 * entries in column order. Params: M, N, K, cap, oo, wo, rv, rc, rn.
 */
export const RESIDUAL_MATMUL_WGSL: WgslKernel = wgslKernel(
  "residual_matmul",
  "M:u32 N:u32 K:u32 cap:u32 oo:u32 wo:u32 rv:u32 rc:u32 rn:u32",
  ["o: array<f32>", "w: array<f32>", "res: array<f32>", "idx: array<u32>", "cnt: array<u32>"],
  /* wgsl */ `
  let t = flat(wid, nwg, lid);
  if (t >= p.M * p.N) { return; }
  let m = t / p.N;
  let j = t % p.N;
  let n = cnt[p.rn + m];
  var s = 0.0;
  for (var e = 0u; e < n; e++) {
    s += res[p.rv + m * p.cap + e] * w[p.wo + j * p.K + idx[p.rc + m * p.cap + e]];
  }
  o[p.oo + t] = o[p.oo + t] + s;`,
);

/** dense[M, K] += ΔA: one invocation per (row, entry slot). Params: M, K, cap, do, rv, rc, rn. */
export const RESIDUAL_ADD_WGSL: WgslKernel = wgslKernel(
  "residual_add",
  "M:u32 K:u32 cap:u32 dno:u32 rv:u32 rc:u32 rn:u32",
  ["dn: array<f32>", "res: array<f32>", "idx: array<u32>", "cnt: array<u32>"],
  /* wgsl */ `
  let t = flat(wid, nwg, lid);
  if (t >= p.M * p.cap) { return; }
  let m = t / p.cap;
  let e = t % p.cap;
  if (e >= cnt[p.rn + m]) { return; }
  let at = p.dno + m * p.K + idx[p.rc + m * p.cap + e];
  dn[at] = dn[at] + res[p.rv + m * p.cap + e];`,
);
