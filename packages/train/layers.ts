/**
 * The non-GEMM layers of LLaMA, forward and backward over flat f32 buffers with explicit sizes
 * (llm.c style): every `_backward` ADDS into its gradient buffers, so callers zero them once per
 * step. Math follows Hugging Face's `LlamaForCausalLM` in f32.
 *
 * @module
 */
import { BF16, quantize } from "@fp4lab/fp4-format";
import { matmul as kernelMatmul } from "./gemm.ts";

/** The GEMM the attention functions call (the kernel set's `matmul` signature). */
export type MatmulFn = typeof kernelMatmul;

/**
 * Token embedding lookup: out[m, :] = table[tokens[m], :].
 *
 * @param out [M, D] output
 * @param tokens M token ids
 * @param table [V, D] embedding table
 * @param M token count
 * @param D hidden size
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { embeddingForward } from "./layers.ts";
 * const out = new Float32Array(2);
 * embeddingForward(out, new Int32Array([1]), new Float32Array([0, 0, 5, 6]), 1, 2);
 * assert.deepEqual(Array.from(out), [5, 6]);
 * ```
 */
export function embeddingForward(
  out: Float32Array,
  tokens: Int32Array,
  table: Float32Array,
  M: number,
  D: number,
): void {
  for (let m = 0; m < M; m++) out.set(table.subarray(tokens[m] * D, tokens[m] * D + D), m * D);
}

/**
 * Embedding backward: dtable[tokens[m], :] += dout[m, :].
 *
 * @param dtable [V, D] gradient (accumulated)
 * @param dout [M, D] output gradient
 * @param tokens M token ids
 * @param M token count
 * @param D hidden size
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { embeddingBackward } from "./layers.ts";
 * const g = new Float32Array(4);
 * embeddingBackward(g, new Float32Array([1, 2]), new Int32Array([1]), 1, 2);
 * assert.deepEqual(Array.from(g), [0, 0, 1, 2]);
 * ```
 */
export function embeddingBackward(
  dtable: Float32Array,
  dout: Float32Array,
  tokens: Int32Array,
  M: number,
  D: number,
): void {
  for (let m = 0; m < M; m++) {
    const t = tokens[m] * D, o = m * D;
    for (let d = 0; d < D; d++) dtable[t + d] += dout[o + d];
  }
}

/**
 * RMSNorm: out = x · rsqrt(mean(x²) + eps) · weight, per row; saves rstd per row.
 *
 * @param out [M, D] output
 * @param rstd [M] saved reciprocal RMS
 * @param x [M, D] input
 * @param weight [D] gain
 * @param M rows
 * @param D row length
 * @param eps epsilon inside the square root
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rmsnormForward } from "./layers.ts";
 * const out = new Float32Array(2), rstd = new Float32Array(1);
 * rmsnormForward(out, rstd, new Float32Array([3, 4]), new Float32Array([1, 1]), 1, 2, 0);
 * assert.ok(Math.abs(out[1] - 1.1314) < 1e-4); // 4 / sqrt((9 + 16) / 2)
 * ```
 */
export function rmsnormForward(
  out: Float32Array,
  rstd: Float32Array,
  x: Float32Array,
  weight: Float32Array,
  M: number,
  D: number,
  eps: number,
): void {
  for (let m = 0; m < M; m++) {
    const o = m * D;
    let ss = 0;
    for (let d = 0; d < D; d++) ss += x[o + d] * x[o + d];
    const r = Math.fround(1 / Math.sqrt(Math.fround(ss / D) + eps));
    rstd[m] = r;
    for (let d = 0; d < D; d++) out[o + d] = weight[d] * Math.fround(x[o + d] * r);
  }
}

/**
 * RMSNorm backward: dx += rstd·(w⊙dy − x̂·mean(x̂⊙w⊙dy)), dweight += Σ_rows dy⊙x̂.
 *
 * @param dx [M, D] input gradient (accumulated)
 * @param dweight [D] gain gradient (accumulated)
 * @param dout [M, D] output gradient
 * @param x [M, D] forward input
 * @param weight [D] gain
 * @param rstd [M] saved reciprocal RMS
 * @param M rows
 * @param D row length
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rmsnormBackward } from "./layers.ts";
 * const dx = new Float32Array(2), dw = new Float32Array(2);
 * rmsnormBackward(dx, dw, new Float32Array([1, 0]), new Float32Array([1, 1]),
 *   new Float32Array([1, 1]), new Float32Array([1]), 1, 2);
 * assert.deepEqual(Array.from(dw), [1, 0]);
 * ```
 */
export function rmsnormBackward(
  dx: Float32Array,
  dweight: Float32Array,
  dout: Float32Array,
  x: Float32Array,
  weight: Float32Array,
  rstd: Float32Array,
  M: number,
  D: number,
): void {
  for (let m = 0; m < M; m++) {
    const o = m * D, r = rstd[m];
    let dot = 0;
    for (let d = 0; d < D; d++) dot += dout[o + d] * weight[d] * x[o + d] * r;
    const mean = dot / D;
    for (let d = 0; d < D; d++) {
      const xhat = x[o + d] * r;
      dweight[d] += dout[o + d] * xhat;
      dx[o + d] += r * (dout[o + d] * weight[d] - xhat * mean);
    }
  }
}

/**
 * RoPE tables as Hugging Face builds them: inv_freq[i] = 1/theta^(2i/hd) in f32, angle =
 * position·inv_freq, cos/sin of it, for the first half of the head (the second half repeats).
 *
 * @param T positions
 * @param headDim head dimension (even)
 * @param theta base
 * @returns cos and sin, each [T, headDim/2]
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ropeTables } from "./layers.ts";
 * const { cos } = ropeTables(2, 4, 10000);
 * assert.equal(cos[0], 1);
 * ```
 */
export function ropeTables(
  T: number,
  headDim: number,
  theta: number,
): { cos: Float32Array; sin: Float32Array } {
  const half = headDim / 2;
  const cos = new Float32Array(T * half), sin = new Float32Array(T * half);
  for (let i = 0; i < half; i++) {
    const invFreq = Math.fround(1 / Math.pow(theta, (2 * i) / headDim));
    for (let t = 0; t < T; t++) {
      const angle = Math.fround(t * invFreq);
      cos[t * half + i] = Math.cos(angle);
      sin[t * half + i] = Math.sin(angle);
    }
  }
  return { cos, sin };
}

/**
 * Applies rotate-half RoPE in place to `heads` heads of each token row (row stride `stride`,
 * starting at `offset`): for i < hd/2, (x1, x2) → (x1·cos − x2·sin, x2·cos + x1·sin). With
 * `inverse` it rotates by −angle, which is the backward pass (the rotation is orthogonal).
 *
 * @param buf token-major buffer
 * @param B batch
 * @param T sequence length
 * @param stride values per token row in `buf`
 * @param offset first value of the rotated block inside a row
 * @param heads head count
 * @param headDim head dimension
 * @param cos [T, hd/2] table
 * @param sin [T, hd/2] table
 * @param inverse rotate backward
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ropeApply, ropeTables } from "./layers.ts";
 * const { cos, sin } = ropeTables(1, 2, 10000);
 * const x = new Float32Array([1, 2]);
 * ropeApply(x, 1, 1, 2, 0, 1, 2, cos, sin, false);
 * assert.deepEqual(Array.from(x), [1, 2]); // position 0 does not rotate
 * ```
 */
export function ropeApply(
  buf: Float32Array,
  B: number,
  T: number,
  stride: number,
  offset: number,
  heads: number,
  headDim: number,
  cos: Float32Array,
  sin: Float32Array,
  inverse: boolean,
): void {
  const half = headDim / 2;
  const sign = inverse ? -1 : 1;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const row = (b * T + t) * stride + offset;
      for (let h = 0; h < heads; h++) {
        const base = row + h * headDim;
        for (let i = 0; i < half; i++) {
          const c = cos[t * half + i], s = sign * sin[t * half + i];
          const x1 = buf[base + i], x2 = buf[base + i + half];
          buf[base + i] = x1 * c - x2 * s;
          buf[base + i + half] = x2 * c + x1 * s;
        }
      }
    }
  }
}

// Per-head scratch (contiguous q, k, v, dO, dP and the head's outputs), allocated once per
// shape: attention runs as small GEMMs on these through the kernel set.
const scratchCache = new Map<string, Float32Array[]>();
function headScratch(T: number, hd: number): Float32Array[] {
  const key = `${T}x${hd}`;
  let s = scratchCache.get(key);
  if (!s) {
    s = [0, 1, 2, 3, 4, 5, 6].map((i) => new Float32Array(i === 4 ? T * T : T * hd));
    scratchCache.set(key, s);
  }
  return s;
}

// Copies head h of sequence b from a token-major buffer (row stride `stride`, block at `offset`).
function gatherHead(
  dst: Float32Array,
  src: Float32Array,
  b: number,
  T: number,
  stride: number,
  offset: number,
  hd: number,
): void {
  for (let t = 0; t < T; t++) {
    const s = (b * T + t) * stride + offset;
    dst.set(src.subarray(s, s + hd), t * hd);
  }
}

function scatterAddHead(
  dst: Float32Array,
  src: Float32Array,
  b: number,
  T: number,
  stride: number,
  offset: number,
  hd: number,
): void {
  for (let t = 0; t < T; t++) {
    const d = (b * T + t) * stride + offset;
    for (let i = 0; i < hd; i++) dst[d + i] += src[t * hd + i];
  }
}

/**
 * Causal multi-head attention over a fused QKV buffer [B·T, 3D] (q | k | v per token, RoPE
 * already applied): out[B·T, D] = softmax(q kᵀ/√hd, causal) v per head; saves the
 * probabilities [B, H, T, T] (zero above the diagonal). Scores and P·V are GEMMs.
 *
 * @param out [B·T, D] output
 * @param probs [B·H·T·T] saved softmax
 * @param qkv [B·T, 3D] input
 * @param B batch
 * @param T sequence length
 * @param D hidden size
 * @param H heads
 * @param bf16Probs round the probabilities to BF16 before P·V
 * @param matmul the GEMM for scores and P·V (default: the kernel set's)
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { attentionForward } from "./layers.ts";
 * const out = new Float32Array(1), probs = new Float32Array(1);
 * attentionForward(out, probs, new Float32Array([1, 1, 7]), 1, 1, 1, 1);
 * assert.deepEqual(Array.from(out), [7]);
 * ```
 */
export function attentionForward(
  out: Float32Array,
  probs: Float32Array,
  qkv: Float32Array,
  B: number,
  T: number,
  D: number,
  H: number,
  bf16Probs = false,
  matmul: MatmulFn = kernelMatmul,
): void {
  const hd = D / H, C3 = 3 * D;
  const scale = 1 / Math.sqrt(hd);
  const [q, k, v, o] = headScratch(T, hd);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      gatherHead(q, qkv, b, T, C3, h * hd, hd);
      gatherHead(k, qkv, b, T, C3, D + h * hd, hd);
      gatherHead(v, qkv, b, T, C3, 2 * D + h * hd, hd);
      const p0 = (b * H + h) * T * T;
      const P = probs.subarray(p0, p0 + T * T);
      matmul(q, k, T, T, hd, { layout: "nt", out: P });
      for (let t = 0; t < T; t++) {
        const r = t * T;
        let max = -Infinity;
        for (let t2 = 0; t2 <= t; t2++) {
          const s = P[r + t2] * scale;
          P[r + t2] = s;
          if (s > max) max = s;
        }
        let sum = 0;
        for (let t2 = 0; t2 <= t; t2++) {
          const e = Math.exp(P[r + t2] - max);
          P[r + t2] = e;
          sum += e;
        }
        const inv = 1 / sum;
        for (let t2 = 0; t2 <= t; t2++) P[r + t2] *= inv;
        P.fill(0, r + t + 1, r + T);
      }
      // Low-bit recipes keep attention in BF16: P·V reads P rounded (and backward sees the same).
      if (bf16Probs) quantize(P, BF16, { out: P });
      matmul(P, v, T, hd, T, { layout: "nn", out: o });
      for (let t = 0; t < T; t++) {
        out.set(o.subarray(t * hd, t * hd + hd), (b * T + t) * D + h * hd);
      }
    }
  }
}

/**
 * Attention backward: accumulates dq, dk, dv into dqkv [B·T, 3D] (before un-rotating RoPE):
 * dP = dO·vᵀ, dv = Pᵀ·dO, dS = P ⊙ (dP − rowsum(P ⊙ dP)), dq = dS·k/√hd, dk = dSᵀ·q/√hd.
 *
 * @param dqkv [B·T, 3D] input gradient (accumulated)
 * @param dout [B·T, D] output gradient
 * @param qkv [B·T, 3D] forward input
 * @param probs saved softmax
 * @param B batch
 * @param T sequence length
 * @param D hidden size
 * @param H heads
 * @param matmul the GEMM (default: the kernel set's)
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { attentionBackward } from "./layers.ts";
 * const d = new Float32Array(3);
 * attentionBackward(d, new Float32Array([2]), new Float32Array([1, 1, 7]),
 *   new Float32Array([1]), 1, 1, 1, 1);
 * assert.deepEqual(Array.from(d), [0, 0, 2]); // one key: all the gradient goes to v
 * ```
 */
export function attentionBackward(
  dqkv: Float32Array,
  dout: Float32Array,
  qkv: Float32Array,
  probs: Float32Array,
  B: number,
  T: number,
  D: number,
  H: number,
  matmul: MatmulFn = kernelMatmul,
): void {
  const hd = D / H, C3 = 3 * D;
  const scale = 1 / Math.sqrt(hd);
  const [q, k, v, dO, dP, dX, dY] = headScratch(T, hd);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      gatherHead(q, qkv, b, T, C3, h * hd, hd);
      gatherHead(k, qkv, b, T, C3, D + h * hd, hd);
      gatherHead(v, qkv, b, T, C3, 2 * D + h * hd, hd);
      gatherHead(dO, dout, b, T, D, h * hd, hd);
      const p0 = (b * H + h) * T * T;
      const P = probs.subarray(p0, p0 + T * T);
      matmul(dO, v, T, T, hd, { layout: "nt", out: dP });
      matmul(P, dO, T, hd, T, { layout: "tn", out: dX });
      scatterAddHead(dqkv, dX, b, T, C3, 2 * D + h * hd, hd);
      for (let t = 0; t < T; t++) {
        const r = t * T;
        let dot = 0;
        for (let t2 = 0; t2 <= t; t2++) dot += P[r + t2] * dP[r + t2];
        for (let t2 = 0; t2 <= t; t2++) dP[r + t2] = P[r + t2] * (dP[r + t2] - dot) * scale;
        dP.fill(0, r + t + 1, r + T);
      }
      matmul(dP, k, T, hd, T, { layout: "nn", out: dX });
      scatterAddHead(dqkv, dX, b, T, C3, h * hd, hd);
      matmul(dP, q, T, hd, T, { layout: "tn", out: dY });
      scatterAddHead(dqkv, dY, b, T, C3, D + h * hd, hd);
    }
  }
}

/**
 * SwiGLU: out = silu(gate) ⊙ up over a fused [M, 2F] buffer (gate | up per token).
 *
 * @param out [M, F] output
 * @param gateUp [M, 2F] input
 * @param M rows
 * @param F intermediate size
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { swigluForward } from "./layers.ts";
 * const out = new Float32Array(1);
 * swigluForward(out, new Float32Array([0, 3]), 1, 1);
 * assert.deepEqual(Array.from(out), [0]);
 * ```
 */
export function swigluForward(out: Float32Array, gateUp: Float32Array, M: number, F: number): void {
  for (let m = 0; m < M; m++) {
    const g0 = m * 2 * F, o = m * F;
    for (let f = 0; f < F; f++) {
      const g = gateUp[g0 + f];
      out[o + f] = (g / (1 + Math.exp(-g))) * gateUp[g0 + F + f];
    }
  }
}

/**
 * SwiGLU backward: dgate += dout·up·σ(g)(1 + g(1 − σ(g))), dup += dout·silu(g).
 *
 * @param dgateUp [M, 2F] input gradient (accumulated)
 * @param dout [M, F] output gradient
 * @param gateUp [M, 2F] forward input
 * @param M rows
 * @param F intermediate size
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { swigluBackward } from "./layers.ts";
 * const d = new Float32Array(2);
 * swigluBackward(d, new Float32Array([1]), new Float32Array([0, 3]), 1, 1);
 * assert.deepEqual(Array.from(d), [1.5, 0]);
 * ```
 */
export function swigluBackward(
  dgateUp: Float32Array,
  dout: Float32Array,
  gateUp: Float32Array,
  M: number,
  F: number,
): void {
  for (let m = 0; m < M; m++) {
    const g0 = m * 2 * F, o = m * F;
    for (let f = 0; f < F; f++) {
      const g = gateUp[g0 + f], u = gateUp[g0 + F + f];
      const sig = 1 / (1 + Math.exp(-g));
      dgateUp[g0 + f] += dout[o + f] * u * sig * (1 + g * (1 - sig));
      dgateUp[g0 + F + f] += dout[o + f] * g * sig;
    }
  }
}

/**
 * Softmax cross-entropy, mean over the M positions. Overwrites `logits` with the probabilities
 * and, when `dlogits` is given, writes (p − onehot)/M there (not accumulated: the loss is the
 * start of the backward pass).
 *
 * @param logits [M, V] logits, replaced by probabilities
 * @param targets M target ids
 * @param M positions
 * @param V vocabulary
 * @param dlogits optional [M, V] gradient output (may be `logits` itself)
 * @returns the mean loss in nats
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { crossEntropy } from "./layers.ts";
 * const loss = crossEntropy(new Float32Array([0, 0]), new Int32Array([1]), 1, 2);
 * assert.ok(Math.abs(loss - Math.log(2)) < 1e-6); // 0.6931
 * ```
 */
export function crossEntropy(
  logits: Float32Array,
  targets: Int32Array,
  M: number,
  V: number,
  dlogits?: Float32Array,
): number {
  let loss = 0;
  for (let m = 0; m < M; m++) {
    const o = m * V;
    let max = -Infinity;
    for (let v = 0; v < V; v++) if (logits[o + v] > max) max = logits[o + v];
    let sum = 0;
    for (let v = 0; v < V; v++) {
      const e = Math.exp(logits[o + v] - max);
      logits[o + v] = e;
      sum += e;
    }
    const inv = 1 / sum;
    for (let v = 0; v < V; v++) logits[o + v] *= inv;
    loss -= Math.log(logits[o + targets[m]]);
    // A NaN logit makes max NaN and every probability NaN: the loss reports it.
    if (Number.isNaN(max)) loss = NaN;
  }
  if (dlogits) {
    const invM = 1 / M;
    for (let m = 0; m < M; m++) {
      const o = m * V;
      for (let v = 0; v < V; v++) dlogits[o + v] = logits[o + v] * invM;
      dlogits[o + targets[m]] -= invM;
    }
  }
  return loss / M;
}
