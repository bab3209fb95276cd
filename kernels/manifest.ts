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
  readonly agreement: "bit-identical" | "1e-5 relative";
}

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
];
