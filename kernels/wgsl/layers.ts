/**
 * WGSL kernels of LLaMA's non-GEMM layers, forward and backward (llm.c style: every backward
 * ADDS into its gradient buffers), matching `@fp4lab/train`'s TypeScript layers within f32
 * reassociation: embedding, RMSNorm, rotary embedding, causal attention (fused: scores, softmax
 * and P·V in one dispatch per query row), SwiGLU and softmax cross-entropy. Row reductions use
 * one 256-wide workgroup per row and a tree in workgroup memory.
 *
 * @module
 */
import { type WgslKernel, wgslKernel } from "./_kernel.ts";

const REDUCE = /* wgsl */ `
var<workgroup> red: array<f32, 256>;
fn wg_sum(v: f32, li: u32) -> f32 {
  red[li] = v;
  workgroupBarrier();
  for (var h = 128u; h > 0u; h >>= 1u) {
    if (li < h) { red[li] += red[li + h]; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}
// max that ignores NaN the way 'if (x > m) m = x' does
fn wg_max(v: f32, li: u32) -> f32 {
  red[li] = v;
  workgroupBarrier();
  for (var h = 128u; h > 0u; h >>= 1u) {
    if (li < h && red[li + h] > red[li]) { red[li] = red[li + h]; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}
`;

/** out[m, :] = table[tokens[m], :]. One invocation per output element. */
export const EMBEDDING_FORWARD_WGSL: WgslKernel = wgslKernel(
  "embedding_forward",
  "M:u32 D:u32 oo:u32 to:u32 wo:u32",
  ["o: array<f32>", "tok: array<i32>", "w: array<f32>"],
  `let i = flat(wid, nwg, lid);
  if (i >= p.M * p.D) { return; }
  let m = i / p.D;
  o[p.oo + i] = w[p.wo + u32(tok[p.to + m]) * p.D + i % p.D];`,
);

/**
 * dtable[tokens[m], :] += dout[m, :]: one invocation per column, rows in order (deterministic,
 * the reference's order: bit-identical).
 */
export const EMBEDDING_BACKWARD_WGSL: WgslKernel = wgslKernel(
  "embedding_backward",
  "M:u32 D:u32 wo:u32 go:u32 to:u32",
  ["dw: array<f32>", "g: array<f32>", "tok: array<i32>"],
  `let d = flat(wid, nwg, lid);
  if (d >= p.D) { return; }
  for (var m = 0u; m < p.M; m++) {
    let idx = p.wo + u32(tok[p.to + m]) * p.D + d;
    dw[idx] = dw[idx] + g[p.go + m * p.D + d];
  }`,
);

/** RMSNorm forward: one workgroup per row. */
export const RMSNORM_FORWARD_WGSL: WgslKernel = wgslKernel(
  "rmsnorm_forward",
  "M:u32 D:u32 eps:f32 oo:u32 ro:u32 xo:u32 wo:u32",
  ["o: array<f32>", "rstd: array<f32>", "x: array<f32>", "w: array<f32>"],
  /* wgsl */ `
  let m = wid.y * nwg.x + wid.x;
  let row = p.xo + m * p.D;
  var ss = 0.0;
  if (m < p.M) { for (var d = li; d < p.D; d += 256u) { let v = x[row + d]; ss += v * v; } }
  let tot = wg_sum(ss, li);
  if (m >= p.M) { return; }
  let r = 1.0 / sqrt(tot / f32(p.D) + p.eps);
  if (li == 0u) { rstd[p.ro + m] = r; }
  for (var d = li; d < p.D; d += 256u) { o[p.oo + m * p.D + d] = w[p.wo + d] * (x[row + d] * r); }`,
  { prelude: REDUCE },
);

/** RMSNorm backward, input gradient: one workgroup per row, dx += rstd·(w⊙dy − x̂·mean(x̂⊙w⊙dy)). */
export const RMSNORM_BACKWARD_DX_WGSL: WgslKernel = wgslKernel(
  "rmsnorm_backward_dx",
  "M:u32 D:u32 dxo:u32 go:u32 xo:u32 wo:u32 ro:u32",
  ["dx: array<f32>", "g: array<f32>", "x: array<f32>", "w: array<f32>", "rstd: array<f32>"],
  /* wgsl */ `
  let m = wid.y * nwg.x + wid.x;
  var dot = 0.0;
  var r = 0.0;
  if (m < p.M) {
    r = rstd[p.ro + m];
    for (var d = li; d < p.D; d += 256u) {
      dot += g[p.go + m * p.D + d] * w[p.wo + d] * x[p.xo + m * p.D + d] * r;
    }
  }
  let mean = wg_sum(dot, li) / f32(p.D);
  if (m >= p.M) { return; }
  for (var d = li; d < p.D; d += 256u) {
    let xhat = x[p.xo + m * p.D + d] * r;
    let idx = p.dxo + m * p.D + d;
    dx[idx] = dx[idx] + r * (g[p.go + m * p.D + d] * w[p.wo + d] - xhat * mean);
  }`,
  { prelude: REDUCE },
);

/** RMSNorm backward, gain gradient: one invocation per column, dweight += Σ_rows dy ⊙ x̂. */
export const RMSNORM_BACKWARD_DW_WGSL: WgslKernel = wgslKernel(
  "rmsnorm_backward_dw",
  "M:u32 D:u32 dwo:u32 go:u32 xo:u32 ro:u32",
  ["dw: array<f32>", "g: array<f32>", "x: array<f32>", "rstd: array<f32>"],
  `let d = flat(wid, nwg, lid);
  if (d >= p.D) { return; }
  var acc = dw[p.dwo + d];
  for (var m = 0u; m < p.M; m++) {
    acc = acc + g[p.go + m * p.D + d] * (x[p.xo + m * p.D + d] * rstd[p.ro + m]);
  }
  dw[p.dwo + d] = acc;`,
);

/** Rotate-half RoPE in place: one invocation per (row, head, i < headDim/2). */
export const ROPE_WGSL: WgslKernel = wgslKernel(
  "rope",
  "rows:u32 T:u32 stride:u32 off:u32 heads:u32 hd:u32 sign:f32 xo:u32 co:u32 so:u32",
  ["x: array<f32>", "cs: array<f32>", "sn: array<f32>"],
  /* wgsl */ `
  let half = p.hd / 2u;
  let i = flat(wid, nwg, lid);
  if (i >= p.rows * p.heads * half) { return; }
  let row = i / (p.heads * half);
  let h = (i / half) % p.heads;
  let j = i % half;
  let t = row % p.T;
  let base = p.xo + row * p.stride + p.off + h * p.hd;
  let c = cs[p.co + t * half + j];
  let s = p.sign * sn[p.so + t * half + j];
  let x1 = x[base + j];
  let x2 = x[base + j + half];
  x[base + j] = x1 * c - x2 * s;
  x[base + j + half] = x2 * c + x1 * s;`,
);

/**
 * Causal attention forward, fused: one workgroup per (query t, sequence b · head h) computes the
 * scores q·kᵀ/√hd of its row, the softmax (written to `probs`, zeros above the diagonal,
 * optionally rounded to BF16) and the output row P·v. Dispatch (T, B·H).
 */
export const ATTENTION_FORWARD_WGSL: WgslKernel = wgslKernel(
  "attention_forward",
  "T:u32 D:u32 H:u32 hd:u32 scale:f32 bf16:u32 oo:u32 po:u32 qo:u32",
  ["o: array<f32>", "P: array<f32>", "qkv: array<f32>"],
  /* wgsl */ `
  let t = wid.x;
  let bh = wid.y;
  let b = bh / p.H;
  let h = bh % p.H;
  let C3 = 3u * p.D;
  let qrow = p.qo + (b * p.T + t) * C3 + h * p.hd;
  let prow = p.po + (bh * p.T + t) * p.T;
  for (var d = li; d < p.hd; d += 256u) { qs[d] = qkv[qrow + d]; }
  workgroupBarrier();
  var mx = f32_from_bits(0xff800000u);
  for (var t2 = li; t2 <= t; t2 += 256u) {
    let krow = p.qo + (b * p.T + t2) * C3 + p.D + h * p.hd;
    var s = 0.0;
    for (var d = 0u; d < p.hd; d++) { s += qs[d] * qkv[krow + d]; }
    s = s * p.scale;
    P[prow + t2] = s;
    if (s > mx) { mx = s; }
  }
  let rmax = wg_max(mx, li);
  var sum = 0.0;
  for (var t2 = li; t2 <= t; t2 += 256u) {
    let e = exp(P[prow + t2] - rmax);
    P[prow + t2] = e;
    sum += e;
  }
  let inv = 1.0 / wg_sum(sum, li);
  for (var t2 = li; t2 < p.T; t2 += 256u) {
    var v = 0.0;
    if (t2 <= t) {
      v = P[prow + t2] * inv;
      if (p.bf16 != 0u) { v = round_rne(v, 7u, -126, bitcast<f32>(0x7f7f0000u)); }
    }
    P[prow + t2] = v;
  }
  storageBarrier();
  workgroupBarrier();
  for (var d = li; d < p.hd; d += 256u) {
    var acc = 0.0;
    for (var t2 = 0u; t2 <= t; t2++) {
      acc += P[prow + t2] * qkv[p.qo + (b * p.T + t2) * C3 + 2u * p.D + h * p.hd + d];
    }
    o[p.oo + (b * p.T + t) * p.D + h * p.hd + d] = acc;
  }`,
  { prelude: `${REDUCE}\nvar<workgroup> qs: array<f32, 512>;` },
);

/**
 * Attention backward, per query row: dP = dO·vᵀ, dS = P ⊙ (dP − rowsum(P ⊙ dP)) / √hd (saved to
 * `dS`, laid out as `probs`), dq += dS·k. Dispatch (T, B·H).
 */
export const ATTENTION_BACKWARD_Q_WGSL: WgslKernel = wgslKernel(
  "attention_backward_q",
  "T:u32 D:u32 H:u32 hd:u32 scale:f32 gqo:u32 go:u32 qo:u32 po:u32 so:u32",
  ["dqkv: array<f32>", "g: array<f32>", "qkv: array<f32>", "P: array<f32>", "dS: array<f32>"],
  /* wgsl */ `
  let t = wid.x;
  let bh = wid.y;
  let b = bh / p.H;
  let h = bh % p.H;
  let C3 = 3u * p.D;
  let prow = p.po + (bh * p.T + t) * p.T;
  let srow = p.so + (bh * p.T + t) * p.T;
  let grow = p.go + (b * p.T + t) * p.D + h * p.hd;
  for (var d = li; d < p.hd; d += 256u) { gs[d] = g[grow + d]; }
  workgroupBarrier();
  var dot = 0.0;
  for (var t2 = li; t2 <= t; t2 += 256u) {
    let vrow = p.qo + (b * p.T + t2) * C3 + 2u * p.D + h * p.hd;
    var s = 0.0;
    for (var d = 0u; d < p.hd; d++) { s += gs[d] * qkv[vrow + d]; }
    dS[srow + t2] = s;
    dot += P[prow + t2] * s;
  }
  let rdot = wg_sum(dot, li);
  for (var t2 = li; t2 <= t; t2 += 256u) {
    dS[srow + t2] = P[prow + t2] * (dS[srow + t2] - rdot) * p.scale;
  }
  storageBarrier();
  workgroupBarrier();
  for (var d = li; d < p.hd; d += 256u) {
    var acc = 0.0;
    for (var t2 = 0u; t2 <= t; t2++) {
      acc += dS[srow + t2] * qkv[p.qo + (b * p.T + t2) * C3 + p.D + h * p.hd + d];
    }
    let idx = p.gqo + (b * p.T + t) * C3 + h * p.hd + d;
    dqkv[idx] = dqkv[idx] + acc;
  }`,
  { prelude: `${REDUCE}\nvar<workgroup> gs: array<f32, 512>;` },
);

/**
 * Attention backward, per key row t2: dk += dSᵀ·q, dv += Pᵀ·dO (sums over the queries t ≥ t2).
 * One invocation per (t2, head dimension); dispatch (ceil(T·hd / 256), B·H).
 */
export const ATTENTION_BACKWARD_KV_WGSL: WgslKernel = wgslKernel(
  "attention_backward_kv",
  "T:u32 D:u32 H:u32 hd:u32 gqo:u32 go:u32 qo:u32 po:u32 so:u32",
  ["dqkv: array<f32>", "g: array<f32>", "qkv: array<f32>", "P: array<f32>", "dS: array<f32>"],
  /* wgsl */ `
  let i = wid.x * 256u + lid.x;
  if (i >= p.T * p.hd) { return; }
  let t2 = i / p.hd;
  let d = i % p.hd;
  let bh = wid.y;
  let b = bh / p.H;
  let h = bh % p.H;
  let C3 = 3u * p.D;
  var dk = 0.0;
  var dv = 0.0;
  for (var t = t2; t < p.T; t++) {
    let pi = (bh * p.T + t) * p.T + t2;
    dk += dS[p.so + pi] * qkv[p.qo + (b * p.T + t) * C3 + h * p.hd + d];
    dv += P[p.po + pi] * g[p.go + (b * p.T + t) * p.D + h * p.hd + d];
  }
  let kidx = p.gqo + (b * p.T + t2) * C3 + p.D + h * p.hd + d;
  dqkv[kidx] = dqkv[kidx] + dk;
  dqkv[kidx + p.D] = dqkv[kidx + p.D] + dv;`,
);

/** SwiGLU forward: out[m, f] = silu(gate) · up over gateUp [M, 2F]. */
export const SWIGLU_FORWARD_WGSL: WgslKernel = wgslKernel(
  "swiglu_forward",
  "M:u32 F:u32 oo:u32 go:u32",
  ["o: array<f32>", "gu: array<f32>"],
  `let i = flat(wid, nwg, lid);
  if (i >= p.M * p.F) { return; }
  let m = i / p.F;
  let f = i % p.F;
  let g = gu[p.go + m * 2u * p.F + f];
  o[p.oo + i] = (g / (1.0 + exp(-g))) * gu[p.go + m * 2u * p.F + p.F + f];`,
);

/** SwiGLU backward: dgate += dout·up·σ(g)(1 + g(1 − σ(g))), dup += dout·silu(g). */
export const SWIGLU_BACKWARD_WGSL: WgslKernel = wgslKernel(
  "swiglu_backward",
  "M:u32 F:u32 dgo:u32 go:u32 guo:u32",
  ["dgu: array<f32>", "g: array<f32>", "gu: array<f32>"],
  `let i = flat(wid, nwg, lid);
  if (i >= p.M * p.F) { return; }
  let m = i / p.F;
  let f = i % p.F;
  let gi = p.guo + m * 2u * p.F + f;
  let x = gu[gi];
  let u = gu[gi + p.F];
  let sig = 1.0 / (1.0 + exp(-x));
  let dy = g[p.go + i];
  let di = p.dgo + m * 2u * p.F + f;
  dgu[di] = dgu[di] + dy * u * sig * (1.0 + x * (1.0 - sig));
  dgu[di + p.F] = dgu[di + p.F] + dy * x * sig;`,
);

/**
 * Softmax cross-entropy, one workgroup per row: probabilities in place, the target's probability
 * to `tp`, and with `grad` the gradient of the mean loss times `gscale`: (p·invM − [v = target]·
 * invM) · gscale, the reference's order.
 */
export const CROSS_ENTROPY_WGSL: WgslKernel = wgslKernel(
  "cross_entropy",
  "M:u32 V:u32 lo:u32 to:u32 po:u32 grad:u32 inv_m:f32 gscale:f32",
  ["z: array<f32>", "tgt: array<i32>", "tp: array<f32>"],
  /* wgsl */ `
  let m = wid.y * nwg.x + wid.x;
  let row = p.lo + m * p.V;
  var mx = f32_from_bits(0xff800000u);
  if (m < p.M) { for (var v = li; v < p.V; v += 256u) { let x = z[row + v]; if (x > mx) { mx = x; } } }
  let rmax = wg_max(mx, li);
  var sum = 0.0;
  if (m < p.M) {
    for (var v = li; v < p.V; v += 256u) { let e = exp(z[row + v] - rmax); z[row + v] = e; sum += e; }
  }
  let inv = 1.0 / wg_sum(sum, li);
  if (m >= p.M) { return; }
  let tg = u32(tgt[p.to + m]);
  for (var v = li; v < p.V; v += 256u) {
    let pr = z[row + v] * inv;
    if (v == tg) { tp[p.po + m] = pr; }
    if (p.grad != 0u) {
      var gr = pr * p.inv_m;
      if (v == tg) { gr = gr - p.inv_m; }
      if (p.gscale != 1.0) { gr = gr * p.gscale; }
      z[row + v] = gr;
    } else {
      z[row + v] = pr;
    }
  }`,
  { prelude: REDUCE },
);
