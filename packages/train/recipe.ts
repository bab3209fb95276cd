/**
 * Precision recipes as data (SPEC.md 11-12). A recipe says, for each of a linear layer's three
 * GEMMs (forward `Y = A·Wᵀ`, input gradient `dA = dY·W`, weight gradient `dW = dYᵀ·A`, with W
 * in Hugging Face layout [out, in]), which format and scale granularity each operand gets, and
 * whether DGE (weights) and OCC (activations) are on. Everything is JSON-able.
 *
 * @module
 */

/** How one GEMM operand is rounded. Rows are laid out with the contraction axis contiguous. */
export interface OperandSpec {
  /** `"fp32"` (untouched) or an `@fp4lab/fp4-format` name: `BF16`, `FP16`, `E4M3`, `E5M2`, `E2M1` */
  readonly format: string;
  /**
   * `"none"`: round each value, no scale (BF16). `"tensor"`, `"row"` (per token / per output
   * channel), `"block"` (1 x blockSize along the contraction axis), `"block2d"` (16 x 16 tiles).
   */
  readonly granularity?: "none" | "tensor" | "row" | "block" | "block2d";
  /** block length for `"block"` (32 MX, 16 NVFP4) */
  readonly blockSize?: number;
  /** `"absmax"` (scale = absmax / maxNormal, the default), `"e8m0-floor"` (OCP MX), `"nvfp4"` */
  readonly scaleRule?: "absmax" | "e8m0-floor" | "nvfp4";
  /** `"nearest-even"` (default) or seeded `"stochastic"` */
  readonly rounding?: "nearest-even" | "stochastic";
}

/** The recipe of one linear layer's three GEMMs. `"reuse"` takes the operand quantized earlier. */
export interface LinearRecipe {
  /** forward Y = A·Wᵀ: A [tokens, in] by rows, W [out, in] by rows */
  readonly forward: { readonly a: OperandSpec; readonly w: OperandSpec };
  /** dA = dY·W: dY [tokens, out] by rows; W either the forward's quantized W or requantized along out */
  readonly inputGrad: { readonly dy: OperandSpec; readonly w: OperandSpec | "reuse" };
  /**
   * dW = dYᵀ·A: both along tokens; "reuse" takes dY from inputGrad / A from forward. `hadamard`
   * applies the random Hadamard transform of that size along tokens to both (requantized)
   * operands first; it cancels in the product (H is orthogonal) and spreads outliers.
   */
  readonly weightGrad: {
    readonly dy: OperandSpec | "reuse";
    readonly a: OperandSpec | "reuse";
    readonly hadamard?: 16 | 32;
  };
  /** differentiable gradient estimator on the weight gradient (SPEC.md 9), or null (STE) */
  readonly dge: { readonly k: number; readonly cap: number } | null;
  /** outlier clamping and compensation on the forward activation (SPEC.md 10), or null */
  readonly occ: { readonly alpha: number; readonly scope: "row" | "tensor" } | null;
}

/** A named training recipe. */
export interface Recipe {
  /** name, e.g. `fp4` */
  readonly name: string;
  /** one line for reports */
  readonly description: string;
  /** the decoder blocks' linear layers (q/k/v, o, gate/up, down) */
  readonly linear: LinearRecipe;
  /** the LM head (kept in higher precision by the low-bit recipes) */
  readonly lmHead: LinearRecipe;
  /** attention scores, softmax and P·V: `"fp32"` or `"BF16"` (operands rounded to BF16) */
  readonly attention: "fp32" | "BF16";
  /** AdamW moment storage (SPEC.md 13) */
  readonly optimizer: { readonly m1: "f32" | "E4M3"; readonly m2: "f32" | "FP16" };
}

const F32: OperandSpec = { format: "fp32" };
const BF16: OperandSpec = { format: "BF16", granularity: "none" };
const E4M3_T: OperandSpec = { format: "E4M3", granularity: "tensor" };
const E5M2_T: OperandSpec = { format: "E5M2", granularity: "tensor" };
const E2M1_ROW: OperandSpec = { format: "E2M1", granularity: "row" };

function plain(a: OperandSpec, w: OperandSpec, g: OperandSpec): LinearRecipe {
  return {
    forward: { a, w },
    inputGrad: { dy: g, w: "reuse" },
    weightGrad: { dy: "reuse", a: "reuse" },
    dge: null,
    occ: null,
  };
}

const F32_LINEAR = plain(F32, F32, F32);
const BF16_LINEAR = plain(BF16, BF16, BF16);
const LOW_OPT = { m1: "E4M3", m2: "FP16" } as const;

const FP4_DIRECT_LINEAR = plain(E2M1_ROW, E2M1_ROW, E5M2_T);

function mx(blockSize: number, scaleRule: "e8m0-floor" | "nvfp4", w2d: boolean): LinearRecipe {
  const along = { format: "E2M1", granularity: "block", blockSize, scaleRule } as const;
  const grad = { ...along, rounding: "stochastic" } as const;
  return {
    forward: {
      a: along,
      w: w2d ? { format: "E2M1", granularity: "block2d", blockSize: 16, scaleRule } : along,
    },
    // 2-D weight tiles read the same transposed, so NVFP4 reuses them; MX requantizes W along
    // the output axis, as a 1-D block layout must.
    inputGrad: { dy: grad, w: w2d ? "reuse" : along },
    weightGrad: { dy: grad, a: along, ...(w2d ? { hadamard: 16 as const } : {}) },
    dge: null,
    occ: null,
  };
}

/** Every named recipe. */
export const RECIPES: Readonly<Record<string, Recipe>> = Object.freeze({
  fp32: {
    name: "fp32",
    description: "no rounding anywhere (f32 reference)",
    linear: F32_LINEAR,
    lmHead: F32_LINEAR,
    attention: "fp32",
    optimizer: { m1: "f32", m2: "f32" },
  },
  bf16: {
    name: "bf16",
    description: "every GEMM operand rounded to BF16, f32 accumulation",
    linear: BF16_LINEAR,
    lmHead: BF16_LINEAR,
    attention: "BF16",
    optimizer: LOW_OPT,
  },
  fp8: {
    name: "fp8",
    description: "E4M3 forward operands, E5M2 output gradients, per-tensor scales",
    linear: plain(E4M3_T, E4M3_T, E5M2_T),
    lmHead: BF16_LINEAR,
    attention: "BF16",
    optimizer: LOW_OPT,
  },
  fp4: {
    name: "fp4",
    description: "E2M1 A per token (+OCC a=0.99), W per channel (+DGE k=5), dY E5M2 (the paper)",
    linear: { ...FP4_DIRECT_LINEAR, dge: { k: 5, cap: 3 }, occ: { alpha: 0.99, scope: "row" } },
    lmHead: BF16_LINEAR,
    attention: "BF16",
    optimizer: LOW_OPT,
  },
  "fp4-direct": {
    name: "fp4-direct",
    description: "fp4 without DGE and OCC (straight-through estimator)",
    linear: FP4_DIRECT_LINEAR,
    lmHead: BF16_LINEAR,
    attention: "BF16",
    optimizer: LOW_OPT,
  },
  mxfp4: {
    name: "mxfp4",
    description: "OCP MXFP4: E2M1, 1x32 blocks along K, E8M0 floor scales, SR gradients",
    linear: mx(32, "e8m0-floor", false),
    lmHead: BF16_LINEAR,
    attention: "BF16",
    optimizer: LOW_OPT,
  },
  nvfp4: {
    name: "nvfp4",
    description:
      "NVFP4: E2M1, 1x16 blocks (16x16 for W), E4M3 + f32 scales, SR grads, RHT on wgrad",
    linear: mx(16, "nvfp4", true),
    lmHead: BF16_LINEAR,
    attention: "BF16",
    optimizer: LOW_OPT,
  },
});

/**
 * Looks recipes up by a comma-separated list.
 *
 * @param list e.g. `"bf16,fp4"`
 * @returns the recipes, in order, without duplicates
 * @throws {RangeError} naming an unknown recipe and the known ones
 *
 * @example
 * ```ts
 * import { parseRecipes } from "./recipe.ts";
 * console.log(parseRecipes("bf16,fp4").map((r) => r.name)); // ["bf16", "fp4"]
 * ```
 */
export function parseRecipes(list: string): Recipe[] {
  const names = list.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
  if (names.length === 0) throw new RangeError("--recipes is empty");
  const out: Recipe[] = [];
  for (const name of names) {
    const recipe = RECIPES[name];
    if (!recipe) {
      throw new RangeError(
        `unknown recipe "${name}": expected one of ${Object.keys(RECIPES).join(", ")}`,
      );
    }
    if (!out.includes(recipe)) out.push(recipe);
  }
  return out;
}
