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
import { gemmFp4Wgsl } from "./wgsl/gemm_fp4.ts";
import { QUANTIZE_WGSL } from "./wgsl/quantize.ts";

/** One kernel of the set. */
export interface KernelEntry {
  /** Stable kernel name. */
  readonly name: string;
  /** What it computes and its exactness contract. */
  readonly description: string;
  /** WGSL source (run by `@fp4lab/gemm-webgpu`), or null when there is no GPU version yet. */
  readonly wgsl: string | null;
  /** The WebAssembly SIMD CPU twin (exported by this package). */
  // deno-lint-ignore no-explicit-any
  readonly cpu: (...args: any[]) => unknown;
  /**
   * The reference it is tested against: a function of this package, or the name of the
   * `@fp4lab/fp4-format` export it is checked against bit for bit.
   */
  // deno-lint-ignore no-explicit-any
  readonly reference: ((...args: any[]) => unknown) | string;
  /** How CPU twin, WGSL and reference must agree. */
  readonly agreement: "bit-identical" | "1e-5 relative" | "1e-6 relative";
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
    "fake-quantize-pool",
    "fakeQuantTask",
    "fake-quantize on the pool (granularity none)",
    "@fp4lab/fp4-format quantize",
    "bit-identical",
  ],
  [
    "occ-clamp",
    "occClampTask",
    "exact per-row (or tensor) quantile clamp, residual in row slots",
    "@fp4lab/outlier-comp clampOutliers",
    "bit-identical",
  ],
  [
    "occ-residual-matmul",
    "residualMatmulTask",
    "out += ΔA·Wᵀ, f64 sums in entry order",
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
];

/**
 * Every kernel of the set.
 *
 * @example
 * ```ts
 * import { KERNELS } from "@fp4lab/kernels";
 * console.log(KERNELS.map((k) => k.name));
 * // ["matmul-f32", "fp4-matmul", "quantize-pack", "dequantize", "fake-quantize"]
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
    wgsl: gemmFp4Wgsl(false),
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
  ...RESIDENT.map(([name, task, description, reference, agreement]): KernelEntry => ({
    name,
    description: `${description} (resident: pool task ${task} on shared-memory offsets)`,
    wgsl: null,
    cpu: resident(task),
    reference,
    agreement,
  })),
];
