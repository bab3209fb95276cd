/**
 * A linear layer `Y = A·Wᵀ` (W in Hugging Face layout [out, in]) whose three GEMMs round their
 * operands as a {@link LinearRecipe} says, with DGE on the weight gradient and OCC on the
 * activation where the recipe turns them on. Buffers are allocated once per layer.
 *
 * @module
 */
import { parseFormat } from "@fp4lab/fp4-format";
import { fp4Matmul, matmul } from "./gemm.ts";
import { isIdentity, operandStats, quantizeOperand, quantizeOperandTensor } from "./operand.ts";
import type { LinearRecipe, OperandSpec } from "./recipe.ts";
import type { OperandStats } from "./backend.ts";
import { applyGradientFactor } from "@fp4lab/dge";
import { clampOutliers, csrMatmul, type CsrMatrix } from "@fp4lab/outlier-comp";
import { randomHadamard } from "@fp4lab/quant-granularity";

/** What one linear layer measured at the last step that asked for statistics. */
export interface LinearStats {
  /** forward activation operand */
  a?: OperandStats;
  /** forward weight operand */
  w?: OperandStats;
  /** DGE mean correction factor and fraction capped */
  dge?: { meanFactor: number; cappedFraction: number };
  /** OCC: fraction of activation entries moved into the sparse residual */
  occSparsity?: number;
}

/** One linear layer's recipe, sizes and saved buffers. */
export interface Linear {
  /** name for reports, e.g. `model.layers.0.mlp.down_proj` */
  readonly name: string;
  /** the recipe for this layer */
  readonly recipe: LinearRecipe;
  /** tokens */
  readonly M: number;
  /** input features */
  readonly K: number;
  /** output features */
  readonly N: number;
  /** statistics of the last step that collected them */
  stats: LinearStats;
  /** @internal saved operands and scratch */
  readonly buf: LinearBuffers;
}

interface LinearBuffers {
  aq: Float32Array | null; // forward A as rounded (null: A used as is)
  a: Float32Array | null; // the forward's A (saved reference, for requantizing along tokens)
  wq: Float32Array | null; // forward W as rounded
  w: Float32Array | null; // the forward's W reference
  wScaled: Float32Array | null; // W in grid units, for DGE
  clamped: Float32Array | null; // OCC scratch
  dyq: Float32Array | null; // dY as rounded for the input-gradient GEMM
  wT: Float32Array | null; // scratch: transposes for requantizing along the other axis
  wTq: Float32Array | null;
  dyT: Float32Array | null;
  dyTq: Float32Array | null;
  aT: Float32Array | null;
  aTq: Float32Array | null;
  dw: Float32Array | null; // weight gradient before DGE
}

function need(spec: OperandSpec | "reuse"): boolean {
  return spec !== "reuse" && !isIdentity(spec);
}

/**
 * Allocates a linear layer's buffers for `M` tokens, `K` inputs, `N` outputs.
 *
 * @param name report name
 * @param recipe the layer's recipe
 * @param M tokens
 * @param K input features
 * @param N output features
 * @returns the layer
 * @example
 * ```ts
 * import { createLinear } from "./linear.ts";
 * import { RECIPES } from "./recipe.ts";
 * const lin = createLinear("x", RECIPES.fp4.linear, 4, 8, 2);
 * console.log(lin.N); // 2
 * ```
 */
export function createLinear(
  name: string,
  recipe: LinearRecipe,
  M: number,
  K: number,
  N: number,
): Linear {
  const f = recipe.forward, ig = recipe.inputGrad, wg = recipe.weightGrad;
  const alloc = (on: boolean, n: number) => on ? new Float32Array(n) : null;
  const reqW = ig.w !== "reuse";
  const reqDyT = wg.dy !== "reuse";
  const reqAT = wg.a !== "reuse";
  return {
    name,
    recipe,
    M,
    K,
    N,
    stats: {},
    buf: {
      aq: alloc(need(f.a) || recipe.occ !== null, M * K),
      a: null,
      wq: alloc(need(f.w), N * K),
      w: null,
      wScaled: alloc(recipe.dge !== null, N * K),
      clamped: alloc(recipe.occ !== null, M * K),
      dyq: alloc(need(ig.dy), M * N),
      wT: alloc(reqW, N * K),
      wTq: alloc(reqW && need(ig.w), N * K),
      dyT: alloc(reqDyT, M * N),
      dyTq: alloc(reqDyT && need(wg.dy), M * N),
      aT: alloc(reqAT, M * K),
      aTq: alloc(reqAT && need(wg.a), M * K),
      dw: alloc(recipe.dge !== null, N * K),
    },
  };
}

function transpose(src: Float32Array, rows: number, cols: number, dst: Float32Array): void {
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) dst[c * rows + r] = src[r * cols + c];
  }
}

/**
 * Forward: out[M, N] = Â·Ŵᵀ. `a` and `w` must stay unchanged until {@link linearBackward}.
 *
 * @param lin the layer
 * @param out [M, N] output
 * @param a [M, K] activation
 * @param w [N, K] weight
 * @param seed stochastic-rounding seed for this step and layer
 * @param collect gather {@link LinearStats}
 * @example
 * ```ts
 * import { createLinear, linearForward } from "./linear.ts";
 * import { RECIPES } from "./recipe.ts";
 * const lin = createLinear("x", RECIPES.fp32.linear, 1, 2, 1);
 * const out = new Float32Array(1);
 * linearForward(lin, out, new Float32Array([1, 2]), new Float32Array([3, 4]), 0, false);
 * console.log(out); // [11]
 * ```
 */
export function linearForward(
  lin: Linear,
  out: Float32Array,
  a: Float32Array,
  w: Float32Array,
  seed: number,
  collect: boolean,
): void {
  const { M, K, N, recipe, buf } = lin;
  buf.a = a;
  buf.w = w;
  const fa = recipe.forward.a, fw = recipe.forward.w;
  if (exactFp4(fa, fw) && buf.aq && buf.wq) {
    // Both operands E2M1: the exact FP4 GEMM on codes and scales, plus the OCC residual ΔA·Ŵᵀ
    // through the sparse product. Â (+ΔA) and Ŵ stay dequantized for the backward GEMMs.
    let src = a;
    let residual: CsrMatrix | null = null;
    if (recipe.occ && buf.clamped) {
      const clamp = clampOutliers(a, M, K, {
        alpha: recipe.occ.alpha,
        scope: recipe.occ.scope,
        out: buf.clamped,
      });
      src = buf.clamped;
      residual = clamp.residual;
      if (collect) lin.stats.occSparsity = clamp.sparsity;
    }
    const qa = quantizeOperandTensor(src, M, K, fa, buf.aq, seed);
    const qw = quantizeOperandTensor(w, N, K, fw, buf.wq, seed + 1, buf.wScaled ?? undefined);
    if (collect) {
      lin.stats.a = operandStats(a, buf.aq, M, K);
      lin.stats.w = operandStats(w, buf.wq, N, K);
    }
    fp4Matmul(qa, qw, { out });
    if (residual) {
      csrMatmul(residual, buf.wq, N, out, true, "nt");
      addCsr(residual, buf.aq, K);
    }
    return;
  }
  let aUse = a;
  if (buf.aq) {
    if (recipe.occ && buf.clamped) {
      // OCC: round the clamped activation, then add the sparse residual A − A_c back in f32:
      // (Q(A_c) + ΔA)·Ŵᵀ is the paper's Q(A_c)·Ŵᵀ + ΔA·Ŵᵀ with one GEMM.
      const { residual, sparsity } = clampOutliers(a, M, K, {
        alpha: recipe.occ.alpha,
        scope: recipe.occ.scope,
        out: buf.clamped,
      });
      quantizeOperand(buf.clamped, M, K, fa, buf.aq, seed);
      if (collect) {
        // Crest of the raw activation; zeros are entries that Q(A_c) flushed.
        lin.stats.a = operandStats(a, buf.aq, M, K);
        lin.stats.occSparsity = sparsity;
      }
      addCsr(residual, buf.aq, K);
    } else {
      quantizeOperand(a, M, K, fa, buf.aq, seed);
      if (collect) lin.stats.a = operandStats(a, buf.aq, M, K);
    }
    aUse = buf.aq;
  }
  let wUse = w;
  if (buf.wq) {
    quantizeOperand(w, N, K, fw, buf.wq, seed + 1, buf.wScaled ?? undefined);
    if (collect) lin.stats.w = operandStats(w, buf.wq, N, K);
    wUse = buf.wq;
  }
  matmul(aUse, wUse, M, N, K, { layout: "nt", out });
}

// The exact FP4 GEMM applies when both forward operands are scaled E2M1.
function exactFp4(a: OperandSpec, w: OperandSpec): boolean {
  const scaled = (s: OperandSpec) => s.format === "E2M1" && (s.granularity ?? "none") !== "none";
  return scaled(a) && scaled(w);
}

// dense[r, c] += csr[r, c] over the entries of a CSR matrix with `cols` columns.
function addCsr(csr: CsrMatrix, dense: Float32Array, cols: number): void {
  const { rowOffsets, columnIndices, values, rows } = csr;
  for (let r = 0; r < rows; r++) {
    for (let e = rowOffsets[r]; e < rowOffsets[r + 1]; e++) {
      dense[r * cols + columnIndices[e]] += values[e];
    }
  }
}

/**
 * Backward: da += dŶ·Ŵ (if `da`), dw += (dŶᵀ·Â) ⊙ DGE factor.
 *
 * @param lin the layer (after {@link linearForward})
 * @param dout [M, N] output gradient
 * @param da [M, K] input gradient (accumulated) or null to skip
 * @param dw [N, K] weight gradient (accumulated)
 * @param seed stochastic-rounding seed for this step and layer
 * @param collect gather DGE statistics
 * @example
 * ```ts
 * import { createLinear, linearBackward, linearForward } from "./linear.ts";
 * import { RECIPES } from "./recipe.ts";
 * const lin = createLinear("x", RECIPES.fp32.linear, 1, 2, 1);
 * linearForward(lin, new Float32Array(1), new Float32Array([1, 2]), new Float32Array([3, 4]), 0, false);
 * const da = new Float32Array(2), dw = new Float32Array(2);
 * linearBackward(lin, new Float32Array([1]), da, dw, 0, false);
 * console.log(da, dw); // [3, 4] [1, 2]
 * ```
 */
export function linearBackward(
  lin: Linear,
  dout: Float32Array,
  da: Float32Array | null,
  dw: Float32Array,
  seed: number,
  collect: boolean,
): void {
  const { M, K, N, recipe, buf } = lin;
  const ig = recipe.inputGrad, wg = recipe.weightGrad;
  const a = buf.a!, w = buf.w!;
  let dyUse = dout;
  if (buf.dyq) {
    quantizeOperand(dout, M, N, ig.dy as OperandSpec, buf.dyq, seed + 2);
    dyUse = buf.dyq;
  }
  if (da) {
    if (ig.w === "reuse") {
      matmul(dyUse, buf.wq ?? w, M, K, N, { layout: "nn", out: da, accumulate: true });
    } else {
      transpose(w, N, K, buf.wT!);
      const wT = buf.wTq ? quantizeOperand(buf.wT!, K, N, ig.w, buf.wTq, seed + 3) : buf.wT!;
      matmul(dyUse, wT, M, K, N, { layout: "nt", out: da, accumulate: true });
    }
  }
  const target = buf.dw ?? dw;
  const acc = buf.dw === null;
  if (wg.dy === "reuse" && wg.a === "reuse") {
    matmul(dyUse, buf.aq ?? a, N, K, M, { layout: "tn", out: target, accumulate: acc });
  } else {
    // Requantize along the token axis: transpose so tokens are contiguous, round rows. With a
    // random Hadamard transform, both operands get the same signs (seeded per step and layer).
    const rht = wg.hadamard ? { size: wg.hadamard, seed: seed + 6 } : null;
    let dyT: Float32Array;
    if (wg.dy === "reuse") {
      transpose(dyUse, M, N, buf.dyT!);
      dyT = buf.dyT!;
    } else {
      transpose(dout, M, N, buf.dyT!);
      if (rht) randomHadamard(buf.dyT!, N, M, { ...rht, out: buf.dyT! });
      dyT = buf.dyTq ? quantizeOperand(buf.dyT!, N, M, wg.dy, buf.dyTq, seed + 4) : buf.dyT!;
    }
    let aT: Float32Array;
    if (wg.a === "reuse") {
      transpose(buf.aq ?? a, M, K, buf.aT!);
      aT = buf.aT!;
    } else {
      transpose(a, M, K, buf.aT!);
      if (rht) randomHadamard(buf.aT!, K, M, { ...rht, out: buf.aT! });
      aT = buf.aTq ? quantizeOperand(buf.aT!, K, M, wg.a, buf.aTq, seed + 5) : buf.aT!;
    }
    matmul(dyT, aT, N, K, M, { layout: "nt", out: target, accumulate: acc });
  }
  if (recipe.dge && buf.dw && buf.wScaled) {
    // DGE: ∂L/∂W = ∂L/∂Ŵ ⊙ f′(W in grid units) (SPEC.md 9).
    const format = parseFormat(recipe.forward.w.format);
    const { meanFactor, cappedFraction } = applyGradientFactor(buf.dw, buf.wScaled, format, {
      k: recipe.dge.k,
      cap: recipe.dge.cap,
      out: buf.dw,
    });
    for (let i = 0; i < N * K; i++) dw[i] += buf.dw[i];
    if (collect) lin.stats.dge = { meanFactor, cappedFraction };
  }
}
