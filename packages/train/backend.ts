/**
 * The one interface between the model and the machine it runs on. The LLaMA model, the quantized
 * linear layer and the trainer call only these operations (llm.c style: flat buffers the backend
 * owns, explicit sizes, every activation allocated once, backward passes accumulating into
 * gradient buffers). Three backends implement it: `reference` (plain TypeScript, the test oracle),
 * `cpu` (the kernel set's WebAssembly SIMD kernels) and `webgpu` (WGSL).
 *
 * Conventions every backend follows:
 * - A {@link Tensor} is a backend-owned range of elements (`f32` or `i32`); {@link slice} makes a
 *   sub-range without copying. Operations never allocate tensors the caller sees, except
 *   {@link Backend.alloc}, {@link Backend.quantizeCodes} and {@link Backend.occClamp}.
 * - Row-major everywhere; `rows x cols` with the contiguous axis last.
 * - `out` may alias an input only where the operation says so.
 * - Data leaves a backend only through {@link Backend.read} (asynchronous, for the edges:
 *   losses, statistics, checkpoints) and the operations that return a `Promise`.
 * - Exact math is exact on every backend (rounding, codes, scales, the FP4 GEMM): bit-identical to
 *   `reference`. Sums of f32 products may differ in summation order: the op tests state the
 *   tolerance.
 *
 * @module
 */
import type { AdamWCheckpoint, MomentFormat } from "@fp4lab/mixed-optim";
import type { OperandSpec } from "./recipe.ts";

/** Element type of a backend buffer. */
export type DType = "f32" | "i32";

/** A backend-owned buffer, or a range of one ({@link slice}). */
export interface Tensor {
  /** the backend's handle of the whole allocation */
  readonly buffer: number;
  /** first element of this range in the allocation */
  readonly offset: number;
  /** elements in this range */
  readonly length: number;
  /** element type */
  readonly dtype: DType;
}

/**
 * A sub-range of a tensor, sharing its storage.
 *
 * @param t the tensor
 * @param offset first element, relative to `t`
 * @param length elements
 * @returns the range
 * @throws {RangeError} when the range does not fit in `t`
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { slice } from "@fp4lab/train";
 * const t = { buffer: 1, offset: 10, length: 100, dtype: "f32" } as const;
 * assert.equal(slice(t, 5, 20).offset, 15);
 * ```
 */
export function slice(t: Tensor, offset: number, length: number): Tensor {
  if (
    !Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 ||
    offset + length > t.length
  ) {
    throw new RangeError(`slice [${offset}, ${offset + length}) outside a tensor of ${t.length}`);
  }
  return { buffer: t.buffer, offset: t.offset + offset, length, dtype: t.dtype };
}

/** A GEMM operand layout: "nn" C=A·B, "nt" C=A·Bᵀ, "tn" C=Aᵀ·B (A, B, C row-major). */
export type GemmLayout = "nn" | "nt" | "tn";

/** Codes and scales of a quantized operand, in the layout the exact FP4 GEMM reads. Opaque. */
export interface QuantizedOperand {
  /** rows */
  readonly rows: number;
  /** row length (the contraction axis) */
  readonly cols: number;
}

/** The OCC residual ΔA = A − clamp(A), kept sparse by the backend. Opaque. */
export interface OutlierResidual {
  /** rows of A */
  readonly rows: number;
  /** columns of A */
  readonly cols: number;
  /** fraction of A's entries moved into the residual (resolved when read) */
  readonly sparsity: Promise<number>;
}

/** Early-warning statistics of one quantized GEMM input. */
export interface OperandStats {
  /** mean over rows of max|a| / rms(a) */
  crestMean: number;
  /** max over rows of max|a| / rms(a) */
  crestMax: number;
  /** fraction of entries that were non-zero and became zero */
  zeroFraction: number;
}

/** DGE statistics of one weight gradient. */
export interface DgeStats {
  /** mean correction factor */
  meanFactor: number;
  /** fraction of factors at the cap */
  cappedFraction: number;
}

/** Settings of {@link Backend.adamwCreate}. */
export interface BackendAdamWOptions {
  /** per parameter tensor: decoupled weight decay */
  readonly weightDecay: readonly number[];
  /** first-moment storage */
  readonly m1Format: MomentFormat;
  /** second-moment storage */
  readonly m2Format: MomentFormat;
}

/** An optimizer state owned by a backend. Opaque. */
export interface OptimizerHandle {
  /** steps taken */
  readonly step: number;
}

/**
 * Everything a training step needs. See the module documentation for the conventions; each
 * method documents its shapes. Methods without a return value only enqueue work on asynchronous
 * backends; the results are visible to later operations and to {@link Backend.read}.
 */
export interface Backend {
  /** `reference`, `cpu` or `webgpu` */
  readonly name: string;
  /** one line for reports: the device, e.g. `cpu (2 threads, WebAssembly SIMD)` */
  readonly device: string;

  // Buffers.
  /** A new zero-filled buffer of `length` elements. */
  alloc(length: number, dtype?: DType): Tensor;
  /** Releases a buffer (every range of it becomes invalid). */
  free(t: Tensor): void;
  /** Copies host data into `t` (lengths must match). */
  write(t: Tensor, data: Float32Array | Int32Array): void;
  /** Copies `t` to the host. */
  read(t: Tensor): Promise<Float32Array | Int32Array>;
  /**
   * Host backends only: a live view of `t` (no copy; valid until the next `alloc`). Undefined on
   * backends whose memory the host cannot see.
   */
  view?(t: Tensor): Float32Array | Int32Array;
  /** Waits for every enqueued operation (a no-op on synchronous backends). */
  sync(): Promise<void>;
  /** Releases everything the backend holds. */
  dispose(): void;

  // Element-wise.
  /** t[i] = value */
  fill(t: Tensor, value: number): void;
  /** dst[i] = src[i] */
  copy(dst: Tensor, src: Tensor): void;
  /** out[i] = a[i] + b[i] (`out` may alias `a` or `b`) */
  add(out: Tensor, a: Tensor, b: Tensor): void;
  /** t[i] *= s */
  scale(t: Tensor, s: number): void;
  /** dst [cols, rows] = srcᵀ, src [rows, cols] */
  transpose(dst: Tensor, src: Tensor, rows: number, cols: number): void;

  // GEMMs.
  /**
   * out[m, n] (+)= A·B in `layout`: "nn" A [m, k], B [k, n]; "nt" B [n, k]; "tn" A [k, m].
   * f32 products, f32 accumulation.
   */
  matmul(
    out: Tensor,
    a: Tensor,
    b: Tensor,
    m: number,
    n: number,
    k: number,
    layout: GemmLayout,
    accumulate: boolean,
  ): void;
  /** out[M, N] = A·Wᵀ from codes and scales (exact: integer products, scales in the epilogue). */
  fp4Matmul(out: Tensor, a: QuantizedOperand, w: QuantizedOperand): void;

  // Quantization (the recipe's operand specs).
  /**
   * out = the values of `src` [rows, cols] rounded as `spec` says (fake quantization; `"fp32"`
   * copies). `out` may alias `src`. With `grid`, it receives the values in grid units
   * (value · tensorScale / group scale; DGE evaluates its factor there).
   */
  quantize(
    out: Tensor,
    src: Tensor,
    rows: number,
    cols: number,
    spec: OperandSpec,
    seed: number,
    grid?: Tensor,
  ): void;
  /**
   * Codes and scales of `src` [rows, cols] for the FP4 GEMM (`spec` is a scaled E2M1 scheme);
   * `dequantized` receives the values they stand for, `grid` (optional) the grid units.
   * `dequantized` may be null (no f32 copy) only on backends with {@link Backend.matmulCodes},
   * whose GEMMs then read the codes.
   */
  quantizeCodes(
    src: Tensor,
    rows: number,
    cols: number,
    spec: OperandSpec,
    seed: number,
    dequantized: Tensor | null,
    grid?: Tensor,
  ): QuantizedOperand;
  /**
   * Optional: the f32 GEMM with B given as codes and scales, decoded as the GEMM packs it:
   * out[m, n] (+)= op(A)·B̂ for "nn" (A [m, k]) or "tn" (A [k, m]), B̂ [k, n] the values of `b`
   * (`b.rows` = k, `b.cols` = n), equal bit for bit to {@link Backend.matmul} on the
   * `dequantized` copy {@link Backend.quantizeCodes} would have written, so that copy need not
   * exist.
   */
  matmulCodes?(
    out: Tensor,
    a: Tensor,
    b: QuantizedOperand,
    m: number,
    n: number,
    k: number,
    layout: "nn" | "tn",
    accumulate: boolean,
  ): void;
  /** Frees a {@link QuantizedOperand}. */
  freeQuantized(q: QuantizedOperand): void;
  /** Crest factors of `src` and the fraction `rounded` flushed to zero, both [rows, cols]. */
  operandStats(src: Tensor, rounded: Tensor, rows: number, cols: number): Promise<OperandStats>;
  /**
   * OCC (outlier clamping and compensation, arXiv 2501.17116 §3.2): `clamped` = src clamped to
   * its quantiles 1−α and α (per row or per tensor); the residual src − clamped is kept sparse.
   */
  occClamp(
    clamped: Tensor,
    src: Tensor,
    rows: number,
    cols: number,
    alpha: number,
    scope: "row" | "tensor",
  ): OutlierResidual;
  /**
   * Optional fusion of OCC before the exact FP4 GEMM, equal bit for bit to
   * `r = occClamp(scratch, src, ...)`, `q = quantizeCodes(scratch, ..., dequantized)`,
   * `residualAdd(dequantized, r)`: the codes and scales of the clamped `src`, `dequantized` =
   * their values with the residual added back, and the residual; the clamped copy is never
   * stored. Returns null when the backend does not fuse this `spec` / `scope` (the caller then
   * makes the three calls). Backends without it are called the same way as returning null.
   */
  occQuantizeCodes?(
    src: Tensor,
    rows: number,
    cols: number,
    alpha: number,
    scope: "row" | "tensor",
    spec: OperandSpec,
    seed: number,
    dequantized: Tensor,
  ): { q: QuantizedOperand; residual: OutlierResidual } | null;
  /** out[M, N] += ΔA·Wᵀ for the residual ΔA [M, K] and W [N, K]. */
  residualMatmul(out: Tensor, residual: OutlierResidual, w: Tensor, n: number): void;
  /** dense[M, K] += ΔA */
  residualAdd(dense: Tensor, residual: OutlierResidual): void;
  /** Frees an {@link OutlierResidual}. */
  freeResidual(r: OutlierResidual): void;
  /**
   * DGE (differentiable gradient estimator, arXiv 2501.17116 §3.1): acc += raw ⊙ f′(grid) for
   * the weight `format` (the factor capped at `cap`, sharpness `k`); returns its statistics.
   */
  dge(
    acc: Tensor,
    raw: Tensor,
    grid: Tensor,
    format: string,
    k: number,
    cap: number,
  ): Promise<DgeStats>;
  /**
   * Optional fusion of the weight-gradient GEMM with DGE, equal bit for bit to
   * `matmul(tmp, a, b, m, n, k, layout, false)` followed by `dge(acc, tmp, grid, format, dgeK,
   * cap)`: acc[m, n] += (op(A)·op(B)) ⊙ f′(grid), the factor applied in the GEMM's epilogue so
   * the raw gradient needs no temporary. Resolves dge's statistics when `stats`, else returns
   * null. Backends without it are called as the two operations.
   */
  matmulDge?(
    acc: Tensor,
    a: Tensor,
    b: Tensor,
    m: number,
    n: number,
    k: number,
    layout: GemmLayout,
    grid: Tensor,
    format: string,
    dgeK: number,
    cap: number,
    stats: boolean,
  ): Promise<DgeStats> | null;
  /**
   * In place: each row of t [rows, cols] times a random Hadamard transform of `size` along the
   * row (signs seeded by `seed`).
   */
  hadamard(t: Tensor, rows: number, cols: number, size: 16 | 32, seed: number): void;

  // Layers (each backward ACCUMULATES into its gradient outputs).
  /** out[M, D] = table[tokens[m]] */
  embeddingForward(out: Tensor, tokens: Tensor, table: Tensor, M: number, D: number): void;
  /** dtable[tokens[m]] += dout[m] */
  embeddingBackward(dtable: Tensor, dout: Tensor, tokens: Tensor, M: number, D: number): void;
  /** out = x · rstd · weight, rstd[m] = 1/sqrt(mean(x²) + eps) */
  rmsnormForward(
    out: Tensor,
    rstd: Tensor,
    x: Tensor,
    weight: Tensor,
    M: number,
    D: number,
    eps: number,
  ): void;
  /** dx += ∂/∂x, dweight += ∂/∂weight */
  rmsnormBackward(
    dx: Tensor,
    dweight: Tensor,
    dout: Tensor,
    x: Tensor,
    weight: Tensor,
    rstd: Tensor,
    M: number,
    D: number,
  ): void;
  /**
   * In place: rotary embedding (Hugging Face's rotate_half) of `heads` heads of `headDim`
   * starting at column `offset` of rows of `stride` (B·T rows); `inverse` rotates back (the
   * backward pass). `cos`, `sin`: [T, headDim/2].
   */
  rope(
    x: Tensor,
    B: number,
    T: number,
    stride: number,
    offset: number,
    heads: number,
    headDim: number,
    cos: Tensor,
    sin: Tensor,
    inverse: boolean,
  ): void;
  /**
   * Causal attention over qkv [B·T, 3D] (q | k | v per token): out [B·T, D], probs
   * [B·H·T·T] saved for the backward (zero above the diagonal). `bf16` rounds P to BF16 before
   * P·V (the low-bit recipes).
   */
  attentionForward(
    out: Tensor,
    probs: Tensor,
    qkv: Tensor,
    B: number,
    T: number,
    D: number,
    H: number,
    bf16: boolean,
  ): void;
  /** dqkv += ∂/∂qkv (before un-rotating RoPE) */
  attentionBackward(
    dqkv: Tensor,
    dout: Tensor,
    qkv: Tensor,
    probs: Tensor,
    B: number,
    T: number,
    D: number,
    H: number,
  ): void;
  /** out[M, F] = silu(gate) ⊙ up over gateUp [M, 2F] (gate | up per row) */
  swigluForward(out: Tensor, gateUp: Tensor, M: number, F: number): void;
  /** dgateUp += ∂/∂gateUp */
  swigluBackward(dgateUp: Tensor, dout: Tensor, gateUp: Tensor, M: number, F: number): void;
  /**
   * Softmax cross-entropy over logits [M, V] (replaced by the probabilities, or with `gradScale`
   * by dLoss/dlogits · gradScale, where loss = mean over rows). `targetProbs` [M] receives each
   * row's probability of its target (the loss is −mean(log p): computed on the host in f64, so
   * every backend reports the same loss bits for the same probabilities).
   */
  crossEntropy(
    logits: Tensor,
    targets: Tensor,
    targetProbs: Tensor,
    M: number,
    V: number,
    gradScale: number | null,
  ): void;
  /** True when any element of `t` is NaN or ±Inf. */
  hasNonFinite(t: Tensor): Promise<boolean>;

  // Optimizer (over a list of parameter ranges of one flat buffer).
  /** grads[i] *= inverseScale; resolves true when every element is finite. */
  unscale(grads: readonly Tensor[], inverseScale: number): Promise<boolean>;
  /** Scales the gradients so their global L2 norm is at most `maxNorm`; resolves the norm. */
  clipGradNorm(grads: readonly Tensor[], maxNorm: number): Promise<number>;
  /**
   * Averages the ranks' gradients through the FP8 E4M3 all-reduce codec; every
   * rank's tensors receive the mean. Resolves the bytes all ranks sent.
   */
  fp8AllReduce(rankGrads: readonly (readonly Tensor[])[]): Promise<number>;
  /** AdamW with f32 master weights `params` and moments stored as the options say. */
  adamwCreate(params: readonly Tensor[], options: BackendAdamWOptions): OptimizerHandle;
  /** Restores an optimizer from its checkpoint. */
  adamwImport(params: readonly Tensor[], checkpoint: AdamWCheckpoint): OptimizerHandle;
  /** One AdamW step at learning rate `lr`. */
  adamwStep(opt: OptimizerHandle, grads: readonly Tensor[], lr: number): void;
  /** The optimizer state as stored (codes, scales, hyperparameters). */
  adamwExport(opt: OptimizerHandle): Promise<AdamWCheckpoint>;
}
