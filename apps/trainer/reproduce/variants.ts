/**
 * The reproduction's recipes, as data built from the trainer's {@link Recipe} shape (no change to
 * the named recipes of `recipe.ts`): the FP4 paper's ablations (W4A8 with DGE k, W8A4 with OCC α,
 * scaling granularity) and the scaling-law paper's generic ExMy fake-quant with block size B.
 *
 * @module
 */
import { type LinearRecipe, type OperandSpec, type Recipe, RECIPES } from "@fp4lab/train";

const BF16: OperandSpec = { format: "BF16", granularity: "none" };
const E4M3_T: OperandSpec = { format: "E4M3", granularity: "tensor" };
const E5M2_T: OperandSpec = { format: "E5M2", granularity: "tensor" };
const E2M1_ROW: OperandSpec = { format: "E2M1", granularity: "row" };
const E2M1_TENSOR: OperandSpec = { format: "E2M1", granularity: "tensor" };

function linear(
  a: OperandSpec,
  w: OperandSpec,
  extra: Partial<Pick<LinearRecipe, "dge" | "occ">> = {},
): LinearRecipe {
  return {
    forward: { a, w },
    inputGrad: { dy: E5M2_T, w: "reuse" },
    weightGrad: { dy: "reuse", a: "reuse" },
    dge: extra.dge ?? null,
    occ: extra.occ ?? null,
  };
}

function variant(name: string, description: string, lin: LinearRecipe): Recipe {
  // Everything but the decoder blocks' linear layers as the paper's fp4 recipe keeps it.
  const base = RECIPES.fp4;
  return {
    name,
    description,
    linear: lin,
    lmHead: base.lmHead,
    attention: base.attention,
    optimizer: base.optimizer,
  };
}

/** One row of the FP4 ablation table: the recipe and the paper panel it belongs to. */
export interface Fp4Variant {
  /** the recipe (its name is the row label) */
  readonly recipe: Recipe;
  /** Figure 6 panel of the paper: `precision`, `w4a8`, `w8a4`, `granularity`, `formats` */
  readonly panel: "precision" | "w4a8" | "w8a4" | "granularity" | "formats";
}

/**
 * The FP4 paper's ablations (its Figure 6, section 4.3) at the trainer's scale, in report order.
 *
 * @returns the variants: bf16 (the paper's FP8/FP16 moments), bf16-f32 (f32 moments), fp8, fp4,
 *   fp4-paper-exact (ties round up), fp4-direct; W4A8 direct and DGE k = 3, 5, 10; W8A4
 *   direct and OCC α = 0.999, 0.99, 0.97; W/A per-tensor vs per-channel/per-token (direct cast);
 *   mxfp4 and nvfp4
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fp4Variants } from "./variants.ts";
 * assert.equal(fp4Variants().length, 19);
 * ```
 */
export function fp4Variants(): Fp4Variant[] {
  const v: Fp4Variant[] = [
    { recipe: RECIPES.bf16, panel: "precision" },
    { recipe: RECIPES["bf16-f32"], panel: "precision" },
    { recipe: RECIPES.fp8, panel: "precision" },
    { recipe: RECIPES.fp4, panel: "precision" },
    { recipe: RECIPES["fp4-paper-exact"], panel: "precision" },
    { recipe: RECIPES["fp4-direct"], panel: "precision" },
  ];
  // W4A8: weights E2M1 per output channel, activations FP8 E4M3 per tensor.
  v.push({
    recipe: variant(
      "w4a8-direct",
      "W E2M1 per channel (STE), A E4M3 per tensor",
      linear(E4M3_T, E2M1_ROW),
    ),
    panel: "w4a8",
  });
  for (const k of [3, 5, 10]) {
    v.push({
      recipe: variant(
        `w4a8-dge-k${k}`,
        `W E2M1 per channel + DGE k=${k}, A E4M3 per tensor`,
        linear(E4M3_T, E2M1_ROW, { dge: { k, cap: 3 } }),
      ),
      panel: "w4a8",
    });
  }
  // W8A4: activations E2M1 per token, weights FP8 E4M3 per tensor.
  v.push({
    recipe: variant(
      "w8a4-direct",
      "A E2M1 per token (no clamp), W E4M3 per tensor",
      linear(E2M1_ROW, E4M3_T),
    ),
    panel: "w8a4",
  });
  for (const alpha of [0.999, 0.99, 0.97]) {
    v.push({
      recipe: variant(
        `w8a4-occ-${alpha}`,
        `A E2M1 per token + OCC a=${alpha}, W E4M3 per tensor`,
        linear(E2M1_ROW, E4M3_T, { occ: { alpha, scope: "row" } }),
      ),
      panel: "w8a4",
    });
  }
  // Granularity (direct cast, as the paper's dev runs appear to be): fp4-direct is W per
  // channel / A per token; the other three corners follow.
  v.push({
    recipe: variant(
      "w-tensor-a-token",
      "direct W4A4: W E2M1 per tensor, A per token",
      linear(E2M1_ROW, E2M1_TENSOR),
    ),
    panel: "granularity",
  });
  v.push({
    recipe: variant(
      "w-channel-a-tensor",
      "direct W4A4: W E2M1 per channel, A per tensor",
      linear(E2M1_TENSOR, E2M1_ROW),
    ),
    panel: "granularity",
  });
  v.push({
    recipe: variant(
      "w-tensor-a-tensor",
      "direct W4A4: W and A E2M1 per tensor",
      linear(E2M1_TENSOR, E2M1_TENSOR),
    ),
    panel: "granularity",
  });
  v.push({ recipe: RECIPES.mxfp4, panel: "formats" });
  v.push({ recipe: RECIPES.nvfp4, panel: "formats" });
  return v;
}

/**
 * The scaling-law paper's quantization (arXiv 2501.02423): ExMy with absmax scales over
 * blocks of B elements along each GEMM's contraction axis, round to nearest, on the weights of
 * the forward and the input-gradient GEMM and on the activations feeding the weight-gradient
 * GEMM (P2, P4, P6). Forward activations and every output gradient are BF16, as are the LM head
 * and attention. B = `"channel"` is one scale per row (the whole contraction axis).
 *
 * @param exponentBits E
 * @param mantissaBits M
 * @param block B (elements per scale) or `"channel"`
 * @returns the recipe, named like `E2M1-B32`
 * @throws {RangeError} for a block size below 1
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { exmyRecipe } from "./variants.ts";
 * const r = exmyRecipe(2, 1, 32);
 * assert.equal(r.name, "E2M1-B32");
 * assert.equal(r.linear.forward.w.blockSize, 32);
 * ```
 */
export function exmyRecipe(
  exponentBits: number,
  mantissaBits: number,
  block: number | "channel",
): Recipe {
  if (block !== "channel" && !(Number.isInteger(block) && block >= 1)) {
    throw new RangeError(`block must be a positive integer or "channel", got ${block}`);
  }
  const format = `E${exponentBits}M${mantissaBits}`;
  const q: OperandSpec = block === "channel"
    ? { format, granularity: "row" }
    : { format, granularity: "block", blockSize: block, scaleRule: "absmax" };
  const base = RECIPES.bf16;
  return {
    name: `${format}-B${block === "channel" ? "ch" : block}`,
    description: `${format} absmax blocks of ${block} on W (fwd, dgrad) and A (wgrad); rest BF16`,
    linear: {
      forward: { a: BF16, w: q },
      // requantized along the output axis: the contraction axis of dA = dY·W
      inputGrad: { dy: BF16, w: q },
      // A requantized along tokens (the contraction axis of dW = dYᵀ·A); dY stays BF16
      weightGrad: { dy: BF16, a: q },
      dge: null,
      occ: null,
    },
    lmHead: base.lmHead,
    attention: base.attention,
    optimizer: base.optimizer,
  };
}
