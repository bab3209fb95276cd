/**
 * A linear layer `Y = A·Wᵀ` (W in Hugging Face layout [out, in]) whose three GEMMs round their
 * operands as a {@link LinearRecipe} says, with DGE on the weight gradient and OCC on the
 * activation where the recipe turns them on. It runs on any {@link Backend}; its buffers are
 * allocated once, when the layer is created.
 *
 * @module
 */
import type {
  Backend,
  DgeStats,
  OperandStats,
  OutlierResidual,
  QuantizedOperand,
  Tensor,
} from "./backend.ts";
import type { LinearRecipe, OperandSpec } from "./recipe.ts";
import { seedFor, type SeedGemm } from "./seed.ts";

/** What one linear layer measured at the last step that asked for statistics. */
export interface LinearStats {
  /** forward activation operand */
  a?: OperandStats;
  /** forward weight operand */
  w?: OperandStats;
  /** DGE mean correction factor and fraction capped */
  dge?: DgeStats;
  /** OCC: fraction of activation entries moved into the sparse residual */
  occSparsity?: number;
}

/** One linear layer's recipe, sizes and saved buffers. */
export interface Linear {
  /** name for reports, e.g. `model.layers.0.mlp.down_proj` */
  readonly name: string;
  /** the recipe for this layer */
  readonly recipe: LinearRecipe;
  /** the backend its buffers live on */
  readonly backend: Backend;
  /** decoder block index (for seeds; 0 for a stand-alone layer) */
  readonly layer: number;
  /** which linear layer of the block (for seeds) */
  readonly gemm: SeedGemm;
  /** tokens */
  readonly M: number;
  /** input features */
  readonly K: number;
  /** output features */
  readonly N: number;
  /** statistics of the last step that collected them (after {@link settleLinearStats}) */
  stats: LinearStats;
  /** @internal saved operands, scratch and pending statistics */
  readonly buf: LinearBuffers;
}

interface LinearBuffers {
  aq: Tensor | null; // forward A as rounded (null: A used as is)
  a: Tensor | null; // the forward's A (saved reference, for requantizing along tokens)
  wq: Tensor | null; // forward W as rounded
  w: Tensor | null; // the forward's W reference
  wGrid: Tensor | null; // W in grid units, for DGE
  clamped: Tensor | null; // OCC scratch
  res: Tensor | null; // OCC with an E4M3 residual: ΔA dense, then scratch
  resq: Tensor | null; // ΔA rounded to E4M3
  dyq: Tensor | null; // dY as rounded for the input-gradient GEMM
  wT: Tensor | null; // scratch: transposes for requantizing along the other axis
  wTq: Tensor | null;
  dyT: Tensor | null;
  dyTq: Tensor | null;
  aT: Tensor | null;
  aTq: Tensor | null;
  dw: Tensor | null; // weight gradient before DGE (backends without matmulDge)
  // FP4 codes kept from the forward for the backward GEMMs that read them in place of the f32
  // copies aq / wq (backends with matmulCodes), freed by the backward
  qa: QuantizedOperand | null;
  qw: QuantizedOperand | null;
  pending: Promise<void>[];
}

/** Whether rounding an operand as `spec` leaves it unchanged (f32). */
function isIdentity(spec: OperandSpec): boolean {
  return spec.format === "fp32";
}

function need(spec: OperandSpec | "reuse"): boolean {
  return spec !== "reuse" && !isIdentity(spec);
}

/** Where a linear layer sits, for its rounding seeds (see {@link seedFor}). */
export interface LinearPlace {
  /** decoder block index */
  readonly layer: number;
  /** which linear layer */
  readonly gemm: SeedGemm;
}

/**
 * Allocates a linear layer's buffers for `M` tokens, `K` inputs, `N` outputs on `backend`.
 *
 * @param backend where the buffers live
 * @param name report name
 * @param recipe the layer's recipe
 * @param M tokens
 * @param K input features
 * @param N output features
 * @param place block and GEMM for the rounding seeds (default block 0, `qkv`)
 * @returns the layer
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createCpuBackend, createLinear, RECIPES } from "@fp4lab/train";
 * const lin = createLinear(createCpuBackend(), "x", RECIPES.fp4.linear, 4, 8, 2);
 * assert.equal(lin.N, 2);
 * ```
 */
export function createLinear(
  backend: Backend,
  name: string,
  recipe: LinearRecipe,
  M: number,
  K: number,
  N: number,
  place: LinearPlace = { layer: 0, gemm: "qkv" },
): Linear {
  const f = recipe.forward, ig = recipe.inputGrad, wg = recipe.weightGrad;
  const alloc = (on: boolean, n: number) => on ? backend.alloc(n) : null;
  const reqW = ig.w !== "reuse";
  const reqDyT = wg.dy !== "reuse";
  const reqAT = wg.a !== "reuse";
  return {
    name,
    recipe,
    backend,
    layer: place.layer,
    gemm: place.gemm,
    M,
    K,
    N,
    stats: {},
    buf: {
      aq: alloc(need(f.a) || recipe.occ !== null, M * K),
      a: null,
      wq: alloc(need(f.w), N * K),
      w: null,
      wGrid: alloc(recipe.dge !== null, N * K),
      clamped: alloc(recipe.occ !== null, M * K),
      res: alloc(recipe.occ?.residual === "E4M3", M * K),
      resq: alloc(recipe.occ?.residual === "E4M3", M * K),
      dyq: alloc(need(ig.dy), M * N),
      wT: alloc(reqW, N * K),
      wTq: alloc(reqW && need(ig.w), N * K),
      dyT: alloc(reqDyT, M * N),
      dyTq: alloc(reqDyT && need(wg.dy), M * N),
      aT: alloc(reqAT, M * K),
      aTq: alloc(reqAT && need(wg.a), M * K),
      // The raw weight gradient before DGE, unless the backend applies DGE in the GEMM.
      dw: alloc(recipe.dge !== null && backend.matmulDge === undefined, N * K),
      qa: null,
      qw: null,
      pending: [],
    },
  };
}

const E4M3_TENSOR: OperandSpec = { format: "E4M3", granularity: "tensor" };

// The exact FP4 GEMM applies when both forward operands are scaled E2M1.
function exactFp4(a: OperandSpec, w: OperandSpec): boolean {
  const scaled = (s: OperandSpec) => s.format === "E2M1" && (s.granularity ?? "none") !== "none";
  return scaled(a) && scaled(w);
}

/**
 * Forward: out[M, N] = Â·Ŵᵀ. `a` and `w` must stay unchanged until {@link linearBackward}.
 *
 * @param lin the layer
 * @param out [M, N] output
 * @param a [M, K] activation
 * @param w [N, K] weight
 * @param step micro-step (seeds stochastic rounding)
 * @param collect gather {@link LinearStats} (read them after {@link settleLinearStats})
 * @example
 * ```ts
 * import { createCpuBackend, createLinear, linearForward, RECIPES } from "@fp4lab/train";
 * import assert from "node:assert/strict";
 * const be = createCpuBackend();
 * const lin = createLinear(be, "x", RECIPES.fp32.linear, 1, 2, 1);
 * const out = be.alloc(1), a = be.alloc(2), w = be.alloc(2);
 * be.write(a, new Float32Array([1, 2]));
 * be.write(w, new Float32Array([3, 4]));
 * linearForward(lin, out, a, w, 0, false);
 * assert.deepEqual(await be.read(out), new Float32Array([11]));
 * ```
 */
export function linearForward(
  lin: Linear,
  out: Tensor,
  a: Tensor,
  w: Tensor,
  step: number,
  collect: boolean,
): void {
  const { M, K, N, recipe, buf, backend: be } = lin;
  releaseCodes(lin); // a forward whose backward never came (evaluation)
  buf.a = a;
  buf.w = w;
  const seed = (operand: "a" | "w") => seedFor(step, lin.layer, lin.gemm, operand);
  const fa = recipe.forward.a, fw = recipe.forward.w;
  const fp4 = exactFp4(fa, fw) && buf.aq !== null && buf.wq !== null;
  if (!buf.aq && !buf.wq) {
    be.matmul(out, a, w, M, N, K, "nt", false);
    return;
  }
  // OCC: round the clamped activation and keep the sparse residual ΔA = A − A_c; the product
  // gets ΔA·Ŵᵀ added in f32 and the saved Â gets ΔA back, so the backward GEMMs see Q(A_c) + ΔA.
  let src = a;
  let residual: OutlierResidual | null = null;
  if (fp4 && recipe.occ && recipe.occ.residual !== "E4M3" && !collect && be.occQuantizeCodes) {
    // OCC, the activation's codes and Â + ΔA in one pass where the backend fuses them (equal to
    // the calls below; the statistics steps take those, as they read Â before ΔA returns).
    const fused = be.occQuantizeCodes(
      a,
      M,
      K,
      recipe.occ.alpha,
      recipe.occ.scope,
      fa,
      seed("a"),
      buf.aq!,
    );
    if (fused) {
      const qw = be.quantizeCodes(w, N, K, fw, seed("w"), buf.wq!, buf.wGrid ?? undefined);
      be.fp4Matmul(out, fused.q, qw);
      be.freeQuantized(fused.q);
      be.freeQuantized(qw);
      be.residualMatmul(out, fused.residual, buf.wq!, N);
      be.freeResidual(fused.residual);
      return;
    }
  }
  if (recipe.occ && buf.clamped) {
    residual = be.occClamp(buf.clamped, a, M, K, recipe.occ.alpha, recipe.occ.scope);
    src = buf.clamped;
    if (collect) track(lin, residual.sparsity.then((s) => void (lin.stats.occSparsity = s)));
  }
  if (fp4) {
    // Both operands E2M1: the exact FP4 GEMM on codes and scales. Where no f32 copy is needed
    // (see codesPlan), the quantizer writes none and the backward's GEMMs read the codes.
    const plan = codesPlan(lin, collect || residual !== null);
    const qa = be.quantizeCodes(src, M, K, fa, seed("a"), plan.copyA ? buf.aq! : null);
    const qw = be.quantizeCodes(
      w,
      N,
      K,
      fw,
      seed("w"),
      plan.copyW ? buf.wq! : null,
      buf.wGrid ?? undefined,
    );
    collectOperandStats(lin, collect);
    be.fp4Matmul(out, qa, qw);
    if (plan.keepA) buf.qa = qa;
    else be.freeQuantized(qa);
    if (plan.keepW) buf.qw = qw;
    else be.freeQuantized(qw);
  } else {
    if (buf.aq) be.quantize(buf.aq, src, M, K, fa, seed("a"));
    if (buf.wq) be.quantize(buf.wq, w, N, K, fw, seed("w"), buf.wGrid ?? undefined);
    collectOperandStats(lin, collect);
  }
  if (residual && buf.res && buf.resq) {
    // FP8 compensation: ΔA densified and rounded to E4M3 (per-tensor scale); the product and
    // the saved Â both take the rounded ΔA.
    be.fill(buf.res, 0);
    be.residualAdd(buf.res, residual);
    be.freeResidual(residual);
    be.quantize(buf.resq, buf.res, M, K, E4M3_TENSOR, seed("a"));
    if (fp4) be.matmul(out, buf.resq, buf.wq!, M, N, K, "nt", true);
    be.add(buf.res, buf.aq!, buf.resq);
    be.copy(buf.aq!, buf.res);
  } else if (residual) {
    if (fp4) be.residualMatmul(out, residual, buf.wq!, N);
    be.residualAdd(buf.aq!, residual);
    be.freeResidual(residual);
  }
  if (!fp4) be.matmul(out, buf.aq ?? a, buf.wq ?? w, M, N, K, "nt", false);
}

/** What the exact FP4 forward keeps for the backward: f32 copies, codes, or neither. */
interface CodesPlan {
  copyA: boolean;
  copyW: boolean;
  keepA: boolean;
  keepW: boolean;
}

// Which f32 copies of the FP4 forward operands something reads, on a backend whose GEMMs can
// read codes instead (matmulCodes): Ŵ only feeds dA = dŶ·Ŵ when the input gradient reuses it,
// Â only feeds dW = dŶᵀ·Â when the weight gradient reuses both operands and applies no DGE (the
// DGE epilogue reads f32). With OCC, Â carries ΔA and the residual product reads Ŵ; statistics
// read both: copies then, as on backends without matmulCodes.
function codesPlan(lin: Linear, needCopies: boolean): CodesPlan {
  const { recipe, backend: be } = lin;
  if (needCopies || !be.matmulCodes || recipe.occ) {
    return { copyA: true, copyW: true, keepA: false, keepW: false };
  }
  const ig = recipe.inputGrad, wg = recipe.weightGrad;
  const keepW = ig.w === "reuse";
  const keepA = wg.a === "reuse" && wg.dy === "reuse" && recipe.dge === null;
  // a requantized operand starts from the forward's own A or W, not from the copy
  return { copyA: wg.a === "reuse" && !keepA, copyW: false, keepA, keepW };
}

function releaseCodes(lin: Linear): void {
  const { buf, backend: be } = lin;
  if (buf.qa) be.freeQuantized(buf.qa);
  if (buf.qw) be.freeQuantized(buf.qw);
  buf.qa = buf.qw = null;
}

// Crest of the raw operands; zeros are entries that rounding flushed (before OCC's ΔA returns).
function collectOperandStats(lin: Linear, collect: boolean): void {
  if (!collect) return;
  const { M, K, N, buf, backend: be } = lin;
  if (buf.aq) track(lin, be.operandStats(buf.a!, buf.aq, M, K).then((s) => void (lin.stats.a = s)));
  if (buf.wq) track(lin, be.operandStats(buf.w!, buf.wq, N, K).then((s) => void (lin.stats.w = s)));
}

function track(lin: Linear, p: Promise<void>): void {
  lin.buf.pending.push(p);
}

/**
 * Waits for the statistics a collecting step asked for; afterwards `lin.stats` holds them.
 *
 * @param lin the layer
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createCpuBackend, createLinear, linearForward, RECIPES, settleLinearStats } from "@fp4lab/train";
 * const be = createCpuBackend();
 * const lin = createLinear(be, "x", RECIPES.fp4.linear, 2, 4, 2);
 * const a = be.alloc(8), w = be.alloc(8);
 * be.write(a, new Float32Array([1, 2, 3, 40, 5, 6, 7, 8]));
 * be.write(w, new Float32Array([1, -1, 2, -2, 3, -3, 4, -4]));
 * linearForward(lin, be.alloc(4), a, w, 0, true);
 * await settleLinearStats(lin);
 * assert.ok(lin.stats.a!.crestMax > 1);
 * ```
 */
export async function settleLinearStats(lin: Linear): Promise<void> {
  const pending = lin.buf.pending.splice(0);
  await Promise.all(pending);
}

/**
 * Backward: da += dŶ·Ŵ (if `da`), dw += (dŶᵀ·Â) ⊙ DGE factor.
 *
 * @param lin the layer (after {@link linearForward})
 * @param dout [M, N] output gradient
 * @param da [M, K] input gradient (accumulated) or null to skip
 * @param dw [N, K] weight gradient (accumulated)
 * @param step micro-step (must match the forward's)
 * @param collect gather DGE statistics
 * @example
 * ```ts
 * import { createCpuBackend, createLinear, linearBackward, linearForward, RECIPES } from "@fp4lab/train";
 * import assert from "node:assert/strict";
 * const be = createCpuBackend();
 * const lin = createLinear(be, "x", RECIPES.fp32.linear, 1, 2, 1);
 * const a = be.alloc(2), w = be.alloc(2), dy = be.alloc(1), da = be.alloc(2), dw = be.alloc(2);
 * be.write(a, new Float32Array([1, 2]));
 * be.write(w, new Float32Array([3, 4]));
 * be.write(dy, new Float32Array([1]));
 * linearForward(lin, be.alloc(1), a, w, 0, false);
 * linearBackward(lin, dy, da, dw, 0, false);
 * assert.deepEqual([...await be.read(da), ...await be.read(dw)], [3, 4, 1, 2]);
 * ```
 */
export function linearBackward(
  lin: Linear,
  dout: Tensor,
  da: Tensor | null,
  dw: Tensor,
  step: number,
  collect: boolean,
): void {
  const { M, K, N, recipe, buf, backend: be } = lin;
  const ig = recipe.inputGrad, wg = recipe.weightGrad;
  const a = buf.a!, w = buf.w!;
  const seed = (operand: "dy" | "w_t" | "dy_t" | "a_t" | "hadamard") =>
    seedFor(step, lin.layer, lin.gemm, operand);
  let dyUse = dout;
  if (buf.dyq) {
    be.quantize(buf.dyq, dout, M, N, ig.dy as OperandSpec, seed("dy"));
    dyUse = buf.dyq;
  }
  if (da) {
    if (ig.w === "reuse" && buf.qw) {
      be.matmulCodes!(da, dyUse, buf.qw, M, K, N, "nn", true);
    } else if (ig.w === "reuse") {
      be.matmul(da, dyUse, buf.wq ?? w, M, K, N, "nn", true);
    } else {
      be.transpose(buf.wT!, w, N, K);
      let wT = buf.wT!;
      if (buf.wTq) {
        be.quantize(buf.wTq, buf.wT!, K, N, ig.w, seed("w_t"));
        wT = buf.wTq;
      }
      be.matmul(da, dyUse, wT, M, K, N, "nt", true);
    }
  }
  const target = buf.dw ?? dw;
  const acc = buf.dw === null;
  // DGE in the weight GEMM's epilogue where the backend fuses it (the same bits as the GEMM into
  // buf.dw followed by dge below).
  const dge = recipe.dge && buf.wGrid && be.matmulDge ? recipe.dge : null;
  if (recipe.dge && !dge && !buf.dw) {
    throw new Error(`${lin.name}: the backend lost matmulDge after the layer was created`);
  }
  const weightGemm = (x: Tensor, y: Tensor, layout: "tn" | "nt") => {
    if (!dge) return be.matmul(target, x, y, N, K, M, layout, acc);
    const f = recipe.forward.w.format;
    const stats = be.matmulDge!(dw, x, y, N, K, M, layout, buf.wGrid!, f, dge.k, dge.cap, collect);
    if (stats) track(lin, stats.then((s) => void (lin.stats.dge = s)));
  };
  if (wg.dy === "reuse" && wg.a === "reuse" && buf.qa && !dge) {
    be.matmulCodes!(target, dyUse, buf.qa, N, K, M, "tn", acc);
  } else if (wg.dy === "reuse" && wg.a === "reuse") {
    weightGemm(dyUse, buf.aq ?? a, "tn");
  } else {
    // Requantize along the token axis: transpose so tokens are contiguous, round rows. With a
    // random Hadamard transform, both operands get the same signs (seeded per step and layer).
    const rht = wg.hadamard ?? null;
    let dyT: Tensor;
    if (wg.dy === "reuse") {
      be.transpose(buf.dyT!, dyUse, M, N);
      dyT = buf.dyT!;
    } else {
      be.transpose(buf.dyT!, dout, M, N);
      if (rht) be.hadamard(buf.dyT!, N, M, rht, seed("hadamard"));
      dyT = buf.dyT!;
      if (buf.dyTq) {
        be.quantize(buf.dyTq, buf.dyT!, N, M, wg.dy, seed("dy_t"));
        dyT = buf.dyTq;
      }
    }
    let aT: Tensor;
    if (wg.a === "reuse") {
      be.transpose(buf.aT!, buf.aq ?? a, M, K);
      aT = buf.aT!;
    } else {
      be.transpose(buf.aT!, a, M, K);
      if (rht) be.hadamard(buf.aT!, K, M, rht, seed("hadamard"));
      aT = buf.aT!;
      if (buf.aTq) {
        be.quantize(buf.aTq, buf.aT!, K, M, wg.a, seed("a_t"));
        aT = buf.aTq;
      }
    }
    weightGemm(dyT, aT, "nt");
  }
  if (!dge && recipe.dge && buf.dw && buf.wGrid) {
    // DGE: ∂L/∂W = ∂L/∂Ŵ ⊙ f′(W in grid units) (the FP4 paper, arXiv 2501.17116, §3.1).
    const stats = be.dge(
      dw,
      buf.dw,
      buf.wGrid,
      recipe.forward.w.format,
      recipe.dge.k,
      recipe.dge.cap,
    );
    if (collect) track(lin, stats.then((s) => void (lin.stats.dge = s)));
  }
  releaseCodes(lin);
}

/**
 * Frees a layer's buffers on its backend.
 *
 * @param lin the layer
 * @example
 * ```ts
 * import { createCpuBackend, createLinear, freeLinear, RECIPES } from "@fp4lab/train";
 * freeLinear(createLinear(createCpuBackend(), "x", RECIPES.fp4.linear, 4, 8, 2));
 * ```
 */
export function freeLinear(lin: Linear): void {
  releaseCodes(lin);
  for (const [key, t] of Object.entries(lin.buf)) {
    if (key !== "a" && key !== "w" && key !== "pending" && t) lin.backend.free(t as Tensor);
  }
}
