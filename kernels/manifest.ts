/**
 * The kernel set, each kernel once: its name, WGSL source, CPU twin and the plain TypeScript
 * reference it is tested against. Tests and benchmarks iterate over this list; adding a kernel
 * means adding its entry here.
 *
 * @module
 */
import { matmul } from "./matmul.ts";
import { fp4Matmul } from "./fp4_matmul.ts";
import { dequantizeCodes, fakeQuantize, quantizePack } from "./quantize.ts";
import { fp4MatmulReference, matmulReference } from "./reference.ts";
import { runTasks } from "./runtime.ts";
import { GEMM_F32_WGSL } from "./wgsl/gemm_f32.ts";
import { GEMM_FP4_SIMPLE, GEMM_FP4_WGSL } from "./wgsl/gemm_fp4.ts";
import { QUANTIZE_WGSL } from "./wgsl/quantize.ts";
import type { WgslKernel } from "./wgsl/_kernel.ts";
import {
  ADD_WGSL,
  COPY_WGSL,
  FILL_WGSL,
  NONFINITE_WGSL,
  PROBE_WGSL,
  SCALE_WGSL,
  TRANSPOSE_WGSL,
} from "./wgsl/elementwise.ts";
import {
  HADAMARD_WGSL,
  OPERAND_STATS_WGSL,
  QUANT_AMAX_WGSL,
  QUANT_APPLY_WGSL,
  QUANT_SCALES_WGSL,
} from "./wgsl/quant_scheme.ts";
import {
  ATTENTION_BACKWARD_KV_WGSL,
  ATTENTION_BACKWARD_Q_WGSL,
  ATTENTION_FORWARD_WGSL,
  CROSS_ENTROPY_WGSL,
  EMBEDDING_BACKWARD_WGSL,
  EMBEDDING_FORWARD_WGSL,
  RMSNORM_BACKWARD_DW_WGSL,
  RMSNORM_BACKWARD_DX_WGSL,
  RMSNORM_FORWARD_WGSL,
  ROPE_WGSL,
  SWIGLU_BACKWARD_WGSL,
  SWIGLU_FORWARD_WGSL,
} from "./wgsl/layers.ts";
import {
  OCC_HIST_WGSL,
  OCC_PICK_WGSL,
  OCC_ROW_WGSL,
  RESIDUAL_ADD_WGSL,
  RESIDUAL_MATMUL_WGSL,
} from "./wgsl/occ.ts";
import {
  ADAMW_UPDATE_WGSL,
  AR_HOP_WGSL,
  AR_PREP_WGSL,
  AR_SCALE_WGSL,
  CLIP_FACTOR_WGSL,
  DGE_WGSL,
  MOMENT_ROUND_WGSL,
  MOMENT_SCALE_WGSL,
  SCALE_BY_WGSL,
  SUMSQ_WGSL,
  UNSCALE_WGSL,
} from "./wgsl/optim.ts";

/** One kernel of the set. */
export interface KernelEntry {
  /** Stable kernel name. */
  readonly name: string;
  /** What it computes and its exactness contract. */
  readonly description: string;
  /** WGSL source (run by `@fp4lab/gemm-webgpu`), or null when there is no GPU version yet. */
  readonly wgsl: string | null;
  /**
   * The WebAssembly SIMD CPU twin (exported by this package), or null for the training
   * backend's GPU kernels, whose CPU side is the `reference` / `cpu` backend of `@fp4lab/train`.
   */
  // deno-lint-ignore no-explicit-any
  readonly cpu: ((...args: any[]) => unknown) | null;
  /**
   * The reference it is tested against: a function of this package, or the name of the
   * `@fp4lab/fp4-format` export it is checked against bit for bit.
   */
  // deno-lint-ignore no-explicit-any
  readonly reference: ((...args: any[]) => unknown) | string;
  /** How CPU twin, WGSL and reference must agree. */
  readonly agreement:
    | "bit-identical"
    | "1e-5 relative"
    | "1e-6 relative"
    | "f32 summation order";
}

// A training-backend GPU kernel: tested against the TypeScript its reference names
// (packages/train/backends/webgpu_test.ts).
function gpu(
  kernel: WgslKernel,
  description: string,
  reference: string,
  agreement: KernelEntry["agreement"],
): KernelEntry {
  return {
    name: kernel.name.replaceAll("_", "-"),
    description,
    wgsl: kernel.source,
    cpu: null,
    reference,
    agreement,
  };
}

/**
 * A resident kernel's CPU twin: its pool task run on byte offsets into the shared memory (the
 * arguments before the task index, and the number of tasks).
 */
function resident(task: string): (args: number[], tasks: number) => void {
  return (args, tasks) => runTasks(task, args, tasks);
}

/** The resident training-step kernels (kernels/assembly/layers.ts, attention.ts, quant_ops.ts,
 * occ.ts, optim.ts): their pool task, the TypeScript they are tested against, the agreement. */
const RESIDENT: readonly [string, string, string, string, KernelEntry["agreement"]][] = [
  ["fill", "fillTask", "t[i] = value", "@fp4lab/train reference backend fill", "bit-identical"],
  ["copy", "copyTask", "dst[i] = src[i]", "@fp4lab/train reference backend copy", "bit-identical"],
  [
    "add",
    "addTask",
    "out[i] = a[i] + b[i]",
    "@fp4lab/train reference backend add",
    "bit-identical",
  ],
  [
    "scale",
    "scale64Task",
    "t[i] = f32(t[i] · s), s in f64, with a finiteness flag (scale, unscale, clipping)",
    "@fp4lab/mixed-optim clipGradNorm",
    "bit-identical",
  ],
  [
    "transpose",
    "transposeTask",
    "dst = srcᵀ in 32 x 32 tiles",
    "@fp4lab/train reference backend transpose",
    "bit-identical",
  ],
  [
    "sum-squares",
    "sumSquaresTask",
    "f64 Σx² and non-finite flag per chunk (gradient norm, hasNonFinite)",
    "@fp4lab/mixed-optim gradNorm",
    "1e-6 relative",
  ],
  [
    "embedding-forward",
    "embeddingForwardTask",
    "out[m] = table[tokens[m]]",
    "@fp4lab/train embeddingForward",
    "bit-identical",
  ],
  [
    "embedding-backward",
    "embeddingBackwardTask",
    "dtable[tokens[m]] += dout[m], tasks own columns",
    "@fp4lab/train embeddingBackward",
    "bit-identical",
  ],
  [
    "rmsnorm-forward",
    "rmsnormForwardTask",
    "RMSNorm: f64 Σx², the reference's f32 order after it",
    "@fp4lab/train rmsnormForward",
    "1e-6 relative",
  ],
  [
    "rmsnorm-backward",
    "rmsnormBackwardTask",
    "RMSNorm backward, weight gradient by per-task partial rows (addRowsTask sums them)",
    "@fp4lab/train rmsnormBackward",
    "1e-5 relative",
  ],
  [
    "rope",
    "ropeTask",
    "rotate-half RoPE in place, forward and inverse",
    "@fp4lab/train ropeApply",
    "1e-6 relative",
  ],
  [
    "swiglu-forward",
    "swigluForwardTask",
    "silu(gate) ⊙ up, four-lane exp",
    "@fp4lab/train swigluForward",
    "1e-6 relative",
  ],
  [
    "swiglu-backward",
    "swigluBackwardTask",
    "SwiGLU backward, accumulating",
    "@fp4lab/train swigluBackward",
    "1e-6 relative",
  ],
  [
    "cross-entropy",
    "crossEntropyTask",
    "softmax, target probabilities, (p − onehot)·gradScale/M",
    "@fp4lab/train softmaxCrossEntropy",
    "1e-6 relative",
  ],
  [
    "attention-forward",
    "attentionForwardTask",
    "causal softmax(q kᵀ/√hd) v per (sequence, head) task, heads read in place from qkv, optional BF16 probabilities",
    "@fp4lab/train attentionForward",
    "1e-5 relative",
  ],
  [
    "attention-backward",
    "attentionBackwardTask",
    "dq, dk, dv accumulated in place per (sequence, head) task",
    "@fp4lab/train attentionBackward",
    "1e-5 relative",
  ],
  [
    "amax",
    "amaxTask",
    "max |x| per chunk (tensor scales)",
    "@fp4lab/quant-granularity quantizeTensor",
    "bit-identical",
  ],
  [
    "quantize-operand",
    "quantTask",
    "a recipe operand: absmax / E8M0 floor / NVFP4 scales per row, tensor, 1-D block or 16 x 16 tile, nearest-even or stochastic; codes, dequantized values and grid units in one pass",
    "@fp4lab/quant-granularity quantizeTensor + dequantize, @fp4lab/train quantizeOperand",
    "bit-identical",
  ],
  [
    "qg-quantize",
    "qgQuantTask",
    "quant-granularity's quantizer: any signed ExMy of at most 8 bits, nearest-even, absmax / pow2-floor / E8M0 floor, ceil, even, rceil / NVFP4 scales per tensor, row, 1-D block or 2-D tile; codes or dequantized values, scales, scale bytes, saturation count and NaN flag in one pass per band of rows",
    "@fp4lab/quant-granularity quantizeTensor / fakeQuant (their TypeScript path, _reference.ts)",
    "bit-identical",
  ],
  [
    "fake-quantize-pool",
    "fakeQuantTask",
    "fake-quantize on the pool (granularity none)",
    "@fp4lab/fp4-format quantize",
    "bit-identical",
  ],
  [
    "occ-clamp",
    "occClampTask",
    "exact per-row (or tensor) quantile clamp, residual in row slots; optionally the clamped rows quantized to E2M1 codes (row absmax) in the same pass",
    "@fp4lab/outlier-comp clampOutliers",
    "bit-identical",
  ],
  [
    "occ-residual-matmul",
    "residualMatmulTask",
    "out += ΔA·Wᵀ (W given transposed), f64 sums in entry order",
    "@fp4lab/outlier-comp csrMatmul",
    "bit-identical",
  ],
  [
    "occ-residual-add",
    "residualAddTask",
    "dense += ΔA",
    "@fp4lab/train reference backend residualAdd",
    "bit-identical",
  ],
  [
    "dge",
    "dgeTask",
    "acc += raw ⊙ DGE factor (f64), with its statistics",
    "@fp4lab/dge applyGradientFactor",
    "1e-6 relative",
  ],
  [
    "gemm-f32-codes",
    "gemmF32CodesTask",
    "C (+)= op(A)·B̂ with B̂ the values of E2M1 codes and scales, decoded while packing B's panels (no dequantized copy)",
    "@fp4lab/kernels gemmF32Task on the dequantized copy",
    "bit-identical",
  ],
  [
    "gemm-f32-dge",
    "gemmF32DgeTask",
    "acc += (op(A)·op(B)) ⊙ DGE factor: the f32 GEMM with dgeTask's factor in its epilogue (no raw temporary)",
    "@fp4lab/kernels gemmF32Task then dgeTask",
    "bit-identical",
  ],
  [
    "hadamard",
    "hadamardTask",
    "random Hadamard transform (16 or 32) in place",
    "@fp4lab/quant-granularity randomHadamard",
    "bit-identical",
  ],
  [
    "operand-stats",
    "operandStatsTask",
    "per-row crest factor and flushed-to-zero count",
    "@fp4lab/train operandStats",
    "bit-identical",
  ],
  [
    "adamw",
    "adamwTask",
    "AdamW in f64 with the moment rounding (E4M3 / FP16 / BF16, per-tensor pow2 scale) fused into the pass",
    "@fp4lab/mixed-optim adamwStep",
    "bit-identical",
  ],
  [
    "adamw-update",
    "adamwPkgTask",
    "AdamW in f64 (two lanes): weights updated, moments stored as f32(m / old scale), max |m| and max v of the step per chunk (the new moment scales): mixed-optim's adamwStep, first pass",
    "@fp4lab/mixed-optim adamwStepReference",
    "bit-identical",
  ],
  [
    "adamw-round",
    "adamwRoundTask",
    "AdamW's second pass: the stored moments rescaled onto this step's scale and rounded (E4M3 / FP16 / BF16)",
    "@fp4lab/mixed-optim adamwStepReference",
    "bit-identical",
  ],
];

/**
 * Every kernel of the set.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { KERNELS } from "@fp4lab/kernels";
 * assert.deepEqual(
 *   KERNELS.slice(0, 7).map((k) => k.name),
 *   ["matmul-f32", "fp4-matmul", "quantize-pack", "dequantize", "fake-quantize", "gemm-fp4-simple", "fill"],
 * );
 * ```
 */
export const KERNELS: readonly KernelEntry[] = mergeByName([
  {
    name: "matmul-f32",
    description: "f32 GEMM, layouts nn / nt / tn, optional accumulation",
    wgsl: GEMM_F32_WGSL,
    cpu: matmul,
    reference: matmulReference,
    agreement: "1e-5 relative",
  },
  {
    name: "fp4-matmul",
    description:
      "exact E2M1 GEMM: int32 block sums of codes x 2, per-row / per-tensor / MXFP4 / NVFP4 / 2-D block scales in the epilogue",
    wgsl: GEMM_FP4_WGSL,
    cpu: fp4Matmul,
    reference: fp4MatmulReference,
    agreement: "bit-identical",
  },
  {
    name: "quantize-pack",
    description: "codes of Q(x * scale) for E2M1 (packed nibbles), E4M3, E5M2, BF16",
    wgsl: QUANTIZE_WGSL,
    cpu: quantizePack,
    reference: "@fp4lab/fp4-format encode + packNibbles",
    agreement: "bit-identical",
  },
  {
    name: "dequantize",
    description: "decode(code) / scale for the codes quantize-pack writes",
    wgsl: null,
    cpu: dequantizeCodes,
    reference: "@fp4lab/fp4-format quantize",
    agreement: "bit-identical",
  },
  {
    name: "fake-quantize",
    description: "Q(x * scale) / scale in f32",
    wgsl: null,
    cpu: fakeQuantize,
    reference: "@fp4lab/fp4-format quantize",
    agreement: "bit-identical",
  },
  gpu(
    GEMM_FP4_SIMPLE,
    "exact E2M1 GEMM, one output per invocation, any K-block",
    "@fp4lab/kernels fp4MatmulReference",
    "bit-identical",
  ),
  gpu(
    FILL_WGSL,
    "t[i] = value (f32 or i32 bits)",
    "@fp4lab/train reference backend fill",
    "bit-identical",
  ),
  gpu(
    COPY_WGSL,
    "dst[i] = src[i] inside one buffer",
    "@fp4lab/train reference backend copy",
    "bit-identical",
  ),
  gpu(ADD_WGSL, "out = a + b", "@fp4lab/train reference backend add", "bit-identical"),
  gpu(SCALE_WGSL, "t *= s", "@fp4lab/train reference backend scale", "bit-identical"),
  gpu(
    TRANSPOSE_WGSL,
    "dst = srcᵀ through 16 × 16 tiles",
    "@fp4lab/train reference backend transpose",
    "bit-identical",
  ),
  gpu(
    NONFINITE_WGSL,
    "any NaN or ±Inf",
    "@fp4lab/train reference backend hasNonFinite",
    "bit-identical",
  ),
  gpu(
    PROBE_WGSL,
    "adapter numerics: subnormal products, multiply-add contraction",
    "@fp4lab/train webgpu probe",
    "bit-identical",
  ),
  gpu(
    QUANT_AMAX_WGSL,
    "scale-group absmax (tensor, row, block, 2-D tile) by atomic max of bit patterns",
    "@fp4lab/quant-granularity quantizeTensor",
    "bit-identical",
  ),
  gpu(
    QUANT_SCALES_WGSL,
    "group scales: absmax, E8M0 floor, NVFP4 two-level (correctly rounded divisions)",
    "@fp4lab/quant-granularity quantizeTensor",
    "bit-identical",
  ),
  gpu(
    QUANT_APPLY_WGSL,
    "round to the group grid (nearest even or stochastic), dequantized values, grid units, E2M1 codes",
    "@fp4lab/quant-granularity fakeQuant / quantizeTensor",
    "bit-identical",
  ),
  gpu(
    OPERAND_STATS_WGSL,
    "per-row crest factor and flushed-to-zero count",
    "@fp4lab/train operandStats",
    "1e-5 relative",
  ),
  gpu(
    HADAMARD_WGSL,
    "random Hadamard transform of 16 or 32 along rows",
    "@fp4lab/quant-granularity randomHadamard",
    "bit-identical",
  ),
  gpu(
    EMBEDDING_FORWARD_WGSL,
    "token embedding lookup",
    "@fp4lab/train embeddingForward",
    "bit-identical",
  ),
  gpu(
    EMBEDDING_BACKWARD_WGSL,
    "embedding gradient, rows in order",
    "@fp4lab/train embeddingBackward",
    "bit-identical",
  ),
  gpu(
    RMSNORM_FORWARD_WGSL,
    "RMSNorm forward, one workgroup per row",
    "@fp4lab/train rmsnormForward",
    "f32 summation order",
  ),
  gpu(
    RMSNORM_BACKWARD_DX_WGSL,
    "RMSNorm input gradient",
    "@fp4lab/train rmsnormBackward",
    "f32 summation order",
  ),
  gpu(
    RMSNORM_BACKWARD_DW_WGSL,
    "RMSNorm gain gradient",
    "@fp4lab/train rmsnormBackward",
    "f32 summation order",
  ),
  gpu(
    ROPE_WGSL,
    "rotate-half rotary embedding, forward and inverse",
    "@fp4lab/train ropeApply",
    "f32 summation order",
  ),
  gpu(
    ATTENTION_FORWARD_WGSL,
    "causal attention, fused scores + softmax + P·V per query row",
    "@fp4lab/train attentionForward",
    "f32 summation order",
  ),
  gpu(
    ATTENTION_BACKWARD_Q_WGSL,
    "attention backward: dS and dq per query row",
    "@fp4lab/train attentionBackward",
    "f32 summation order",
  ),
  gpu(
    ATTENTION_BACKWARD_KV_WGSL,
    "attention backward: dk and dv per key row",
    "@fp4lab/train attentionBackward",
    "f32 summation order",
  ),
  gpu(SWIGLU_FORWARD_WGSL, "SwiGLU forward", "@fp4lab/train swigluForward", "f32 summation order"),
  gpu(
    SWIGLU_BACKWARD_WGSL,
    "SwiGLU backward",
    "@fp4lab/train swigluBackward",
    "f32 summation order",
  ),
  gpu(
    CROSS_ENTROPY_WGSL,
    "softmax cross-entropy: probabilities, target probabilities, gradient",
    "@fp4lab/train softmaxCrossEntropy",
    "f32 summation order",
  ),
  gpu(
    OCC_ROW_WGSL,
    "OCC per row: radix-select quantiles, clamp, ELL residual in column order",
    "@fp4lab/outlier-comp clampOutliers",
    "bit-identical",
  ),
  gpu(
    OCC_HIST_WGSL,
    "OCC per tensor: one radix pass's histograms",
    "@fp4lab/outlier-comp clampOutliers",
    "bit-identical",
  ),
  gpu(
    OCC_PICK_WGSL,
    "OCC per tensor: bins of one radix pass",
    "@fp4lab/outlier-comp clampOutliers",
    "bit-identical",
  ),
  gpu(
    RESIDUAL_MATMUL_WGSL,
    "out += ΔA·Wᵀ over the sparse residual",
    "@fp4lab/outlier-comp csrMatmul",
    "f32 summation order",
  ),
  gpu(
    RESIDUAL_ADD_WGSL,
    "dense += ΔA",
    "@fp4lab/train reference backend residualAdd",
    "bit-identical",
  ),
  gpu(
    DGE_WGSL,
    "DGE correction factor applied to a weight gradient, with statistics",
    "@fp4lab/dge applyGradientFactor",
    "1e-5 relative",
  ),
  gpu(
    UNSCALE_WGSL,
    "loss-scale unscaling with a finite check",
    "@fp4lab/train reference backend unscale",
    "bit-identical",
  ),
  gpu(
    SUMSQ_WGSL,
    "per-workgroup sums of squares",
    "@fp4lab/mixed-optim gradNorm",
    "f32 summation order",
  ),
  gpu(
    CLIP_FACTOR_WGSL,
    "global norm and clip factor, on the GPU",
    "@fp4lab/mixed-optim clipGradNorm",
    "f32 summation order",
  ),
  gpu(
    SCALE_BY_WGSL,
    "g *= a factor held on the GPU",
    "@fp4lab/mixed-optim clipGradNorm",
    "bit-identical",
  ),
  gpu(
    ADAMW_UPDATE_WGSL,
    "AdamW update with moments behind per-tensor scales (f32 arithmetic)",
    "@fp4lab/mixed-optim adamwStep",
    "1e-5 relative",
  ),
  gpu(
    MOMENT_SCALE_WGSL,
    "a moment's new power-of-two scale",
    "@fp4lab/mixed-optim pow2Scale",
    "bit-identical",
  ),
  gpu(
    MOMENT_ROUND_WGSL,
    "rescale and round a stored moment (E4M3, FP16, BF16)",
    "@fp4lab/fp4-format quantize",
    "bit-identical",
  ),
  gpu(
    AR_PREP_WGSL,
    "FP8 all-reduce: divide by the ranks, amax, finite check",
    "@fp4lab/mixed-optim ringAllReduce",
    "bit-identical",
  ),
  gpu(
    AR_SCALE_WGSL,
    "FP8 all-reduce: the shared power-of-two scale",
    "@fp4lab/mixed-optim fp8GradScale",
    "bit-identical",
  ),
  gpu(
    AR_HOP_WGSL,
    "FP8 all-reduce: one ring hop through E4M3 codes",
    "@fp4lab/mixed-optim ringAllReduce",
    "bit-identical",
  ),
  ...RESIDENT.map(([name, task, description, reference, agreement]): KernelEntry => ({
    name,
    description: `${description} (resident: pool task ${task} on shared-memory offsets)`,
    wgsl: null,
    cpu: resident(task),
    reference,
    agreement,
  })),
]);

// One entry per operation: a WGSL kernel and a resident CPU twin of the same op (say `fill`) are
// one entry with both sources, as the manifest promises.
function mergeByName(entries: readonly KernelEntry[]): readonly KernelEntry[] {
  const byName = new Map<string, KernelEntry>();
  for (const e of entries) {
    const prev = byName.get(e.name);
    if (!prev) {
      byName.set(e.name, e);
      continue;
    }
    byName.set(e.name, {
      ...prev,
      description: prev.description === e.description
        ? prev.description
        : `${prev.description}; ${e.description}`,
      wgsl: prev.wgsl ?? e.wgsl,
      cpu: prev.cpu ?? e.cpu,
    });
  }
  return [...byName.values()];
}
