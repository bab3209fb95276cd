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
  readonly agreement: "bit-identical" | "1e-5 relative" | "f32 summation order";
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
 * Every kernel of the set.
 *
 * @example
 * ```ts
 * import { KERNELS } from "@fp4lab/kernels";
 * console.log(KERNELS.map((k) => k.name));
 * // ["matmul-f32", "fp4-matmul", "quantize-pack", "dequantize", "fake-quantize", "fill", …]
 * ```
 */
export const KERNELS: readonly KernelEntry[] = [
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
];
