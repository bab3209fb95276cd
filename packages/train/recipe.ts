/**
 * Precision recipes as data. A recipe says, for each of a linear layer's three
 * GEMMs (forward `Y = A·Wᵀ`, input gradient `dA = dY·W`, weight gradient `dW = dYᵀ·A`, with W
 * in Hugging Face layout [out, in]), which format and scale granularity each operand gets, and
 * whether DGE (weights) and OCC (activations) are on. Everything is JSON-able.
 *
 * @module
 */
import { parseFormat, type Rounding } from "@fp4lab/fp4-format";
import type { Granularity, QuantScheme, ScaleRule } from "@fp4lab/quant-granularity";
import type { MomentFormat } from "@fp4lab/mixed-optim";

/**
 * How one GEMM operand is rounded: a quant-granularity scheme (granularity, block size, scale
 * rule, rounding) with its format named by the fp4-format registry (`FORMATS`), so that a recipe
 * stays plain JSON. Rows are laid out with the contraction axis contiguous. `"fp32"` leaves the
 * operand untouched; granularity `"none"` rounds each value without a scale (BF16, FP16).
 */
export interface OperandSpec extends Omit<QuantScheme, "name" | "format" | "granularity" | "seed"> {
  /** `"fp32"` (untouched) or a registry name: `BF16`, `FP16`, `E4M3`, `E5M2`, `E2M1`, ... */
  readonly format: string;
  /** a quant-granularity granularity, or `"none"` (no scale; the default) */
  readonly granularity?: Granularity | "none";
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
  /** differentiable gradient estimator on the weight gradient (arXiv 2501.17116 §3.1), or null */
  readonly dge: { readonly k: number; readonly cap: number } | null;
  /**
   * outlier clamping and compensation on the forward activation (arXiv 2501.17116 §3.2), or null.
   * `residual` is the precision of the compensation product ΔA·Ŵᵀ: `"f32"` (the default: the
   * sparse residual as computed) or `"E4M3"` (the paper's FP8 compensation GEMM, App. B: ΔA
   * rounded to E4M3 with a per-tensor scale, and that rounded ΔA is also what the backward
   * sees). The E4M3 product runs as a dense GEMM over the mostly-zero ΔA: one extra forward
   * GEMM of cost, an option for fidelity, not for speed.
   */
  readonly occ: {
    readonly alpha: number;
    readonly scope: "row" | "tensor";
    readonly residual?: "f32" | "E4M3";
  } | null;
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
  /** AdamW moment storage */
  readonly optimizer: { readonly m1: MomentFormat; readonly m2: MomentFormat };
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

/**
 * Every named recipe. Two baselines, on purpose: `bf16` rounds every GEMM operand to BF16 and
 * keeps the FP4 paper's optimizer (FP8 E4M3 first moment, FP16 second moment), so
 * that it differs from `fp4` in GEMM precision only; `bf16-f32` is BF16 mixed precision as
 * practitioners run it (the same GEMMs, f32 AdamW moments). `fp4-paper-exact` is `fp4` with the
 * paper's E2M1 look-up-table rounding (ties upward, `"nearest-up"`) on the forward operands,
 * where `fp4` rounds ties to even as OCP does.
 */
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
  "bf16-f32": {
    name: "bf16-f32",
    description: "BF16 mixed precision as practitioners run it: BF16 GEMM operands, f32 moments",
    linear: BF16_LINEAR,
    lmHead: BF16_LINEAR,
    attention: "BF16",
    optimizer: { m1: "f32", m2: "f32" },
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
  "fp4-paper-exact": {
    name: "fp4-paper-exact",
    description: "fp4 with the paper's E2M1 rounding: forward A and W ties round up (its LUT)",
    linear: {
      ...FP4_DIRECT_LINEAR,
      forward: {
        a: { ...E2M1_ROW, rounding: "nearest-up" },
        w: { ...E2M1_ROW, rounding: "nearest-up" },
      },
      dge: { k: 5, cap: 3 },
      occ: { alpha: 0.99, scope: "row" },
    },
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

const GRANULARITIES: readonly (Granularity | "none")[] = [
  "none",
  "tensor",
  "row",
  "token",
  "channel",
  "block",
  "block2d",
];
const SCALE_RULES: readonly ScaleRule[] = [
  "absmax",
  "pow2-floor",
  "e8m0-floor",
  "e8m0-ceil",
  "e8m0-even",
  "e8m0-rceil",
  "nvfp4",
];
const ROUNDINGS: readonly Rounding[] = ["nearest-even", "nearest-up", "stochastic"];
const MOMENT_FORMATS: readonly MomentFormat[] = ["f32", "FP16", "BF16", "E4M3"];

/** A recipe that does not validate: the message names the field, e.g. `linear.forward.a.format`. */
export class RecipeError extends Error {
  /** always `"RecipeError"` */
  override name = "RecipeError";
}

type Json = Record<string, unknown>;

function fail(path: string, message: string): never {
  throw new RecipeError(`${path}: ${message}`);
}

function show(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 40 ? s.slice(0, 37) + "..." : s;
}

function object(v: unknown, path: string, keys: readonly string[]): Json {
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    fail(path, `expected an object, got ${show(v)}`);
  }
  for (const k of Object.keys(v)) {
    if (!keys.includes(k)) fail(path, `unknown field "${k}" (expected ${keys.join(", ")})`);
  }
  return v as Json;
}

function oneOf<T>(v: unknown, path: string, values: readonly T[], optional = false): T | undefined {
  if (v === undefined && optional) return undefined;
  if (!values.includes(v as T)) {
    fail(
      path,
      `expected one of ${values.map((x) => JSON.stringify(x)).join(", ")}, got ${show(v)}`,
    );
  }
  return v as T;
}

function num(v: unknown, path: string, check: (x: number) => boolean, what: string): number {
  if (typeof v !== "number" || !Number.isFinite(v) || !check(v)) {
    fail(path, `expected ${what}, got ${show(v)}`);
  }
  return v;
}

function operand(v: unknown, path: string): OperandSpec {
  const o = object(v, path, [
    "format",
    "granularity",
    "blockSize",
    "blockRows",
    "scaleRule",
    "rounding",
  ]);
  if (typeof o.format !== "string") {
    fail(`${path}.format`, `expected a string, got ${show(o.format)}`);
  }
  if (o.format !== "fp32") {
    try {
      parseFormat(o.format);
    } catch {
      fail(
        `${path}.format`,
        `unknown format ${show(o.format)} (use fp32 or E2M1, E4M3, BF16, ... any ExMy)`,
      );
    }
  }
  const granularity = oneOf(o.granularity, `${path}.granularity`, GRANULARITIES, true);
  const positive = (x: number) => Number.isInteger(x) && x >= 1 && x <= 65536;
  if (o.blockSize !== undefined) {
    num(o.blockSize, `${path}.blockSize`, positive, "an integer in [1, 65536]");
  }
  if (o.blockRows !== undefined) {
    num(o.blockRows, `${path}.blockRows`, positive, "an integer in [1, 65536]");
  }
  oneOf(o.scaleRule, `${path}.scaleRule`, SCALE_RULES, true);
  oneOf(o.rounding, `${path}.rounding`, ROUNDINGS, true);
  const scaled = granularity !== undefined && granularity !== "none";
  if (o.format === "fp32" && scaled) {
    fail(`${path}.granularity`, `fp32 operands are not scaled: leave granularity out`);
  }
  if (!scaled && (o.blockSize !== undefined || o.scaleRule !== undefined)) {
    fail(
      path,
      `blockSize and scaleRule need a scaled granularity, got ${show(granularity ?? "none")}`,
    );
  }
  return o as unknown as OperandSpec;
}

function operandOrReuse(v: unknown, path: string): OperandSpec | "reuse" {
  return v === "reuse" ? "reuse" : operand(v, path);
}

function linearRecipe(v: unknown, path: string): LinearRecipe {
  const o = object(v, path, ["forward", "inputGrad", "weightGrad", "dge", "occ"]);
  const f = object(o.forward, `${path}.forward`, ["a", "w"]);
  operand(f.a, `${path}.forward.a`);
  operand(f.w, `${path}.forward.w`);
  const ig = object(o.inputGrad, `${path}.inputGrad`, ["dy", "w"]);
  operand(ig.dy, `${path}.inputGrad.dy`);
  operandOrReuse(ig.w, `${path}.inputGrad.w`);
  const wg = object(o.weightGrad, `${path}.weightGrad`, ["dy", "a", "hadamard"]);
  operandOrReuse(wg.dy, `${path}.weightGrad.dy`);
  operandOrReuse(wg.a, `${path}.weightGrad.a`);
  oneOf(wg.hadamard, `${path}.weightGrad.hadamard`, [16, 32], true);
  if (o.dge === undefined) fail(`${path}.dge`, "missing (null turns DGE off)");
  if (o.dge !== null) {
    const d = object(o.dge, `${path}.dge`, ["k", "cap"]);
    num(d.k, `${path}.dge.k`, (x) => x > 0 && x <= 100, "a number in (0, 100]");
    num(d.cap, `${path}.dge.cap`, (x) => x > 0, "a positive number");
    const w = f.w as Json;
    if (w.format === "fp32" || (w.granularity ?? "none") === "none") {
      fail(`${path}.dge`, "DGE needs a scaled forward weight format (forward.w)");
    }
  }
  if (o.occ === undefined) fail(`${path}.occ`, "missing (null turns OCC off)");
  if (o.occ !== null) {
    const c = object(o.occ, `${path}.occ`, ["alpha", "scope", "residual"]);
    num(c.alpha, `${path}.occ.alpha`, (x) => x > 0.5 && x < 1, "a number in (0.5, 1)");
    oneOf(c.scope, `${path}.occ.scope`, ["row", "tensor"]);
    oneOf(c.residual, `${path}.occ.residual`, ["f32", "E4M3"], true);
  }
  return o as unknown as LinearRecipe;
}

/**
 * Validates a recipe given as JSON text or as a parsed value and returns it as a {@link Recipe}.
 * Built-in recipes are the same data ({@link RECIPES}); a checkpoint's `recipe.json` is read back
 * through here, never cast.
 *
 * @param input JSON text, or the value `JSON.parse` gave
 * @returns the recipe (a deep copy of the input, frozen)
 * @throws {RecipeError} one line naming the field, e.g.
 *   `linear.forward.a.format: unknown format "E9M9" (...)`
 * @example
 * ```ts
 * import { parseRecipe, RECIPES } from "@fp4lab/train";
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseRecipe(JSON.stringify(RECIPES.fp4)), RECIPES.fp4);
 * const bad = JSON.parse(JSON.stringify(RECIPES.fp4));
 * bad.linear.forward.a.format = "E9M9";
 * assert.throws(() => parseRecipe(bad), /^RecipeError: linear\.forward\.a\.format: unknown format "E9M9"/);
 * ```
 */
export function parseRecipe(input: string | unknown): Recipe {
  let value: unknown = input;
  if (typeof input === "string") {
    try {
      value = JSON.parse(input);
    } catch (e) {
      throw new RecipeError(`not JSON: ${(e as Error).message}`);
    }
  }
  const o = object(value, "recipe", [
    "name",
    "description",
    "linear",
    "lmHead",
    "attention",
    "optimizer",
  ]);
  if (typeof o.name !== "string" || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(o.name)) {
    fail("name", `expected 1-64 letters, digits, ".", "_" or "-", got ${show(o.name)}`);
  }
  if (o.description !== undefined && typeof o.description !== "string") {
    fail("description", `expected a string, got ${show(o.description)}`);
  }
  linearRecipe(o.linear, "linear");
  linearRecipe(o.lmHead, "lmHead");
  oneOf(o.attention, "attention", ["fp32", "BF16"]);
  const opt = object(o.optimizer, "optimizer", ["m1", "m2"]);
  oneOf(opt.m1, "optimizer.m1", MOMENT_FORMATS);
  oneOf(opt.m2, "optimizer.m2", MOMENT_FORMATS);
  const copy = structuredClone({ description: "", ...o }) as unknown as Recipe;
  return deepFreeze(copy);
}

function deepFreeze<T>(v: T): T {
  if (typeof v === "object" && v !== null) {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}

/**
 * Looks recipes up by a comma-separated list.
 *
 * @param list e.g. `"bf16,fp4"`
 * @returns the recipes, in order, without duplicates
 * @throws {RangeError} naming an unknown recipe and the known ones
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseRecipes } from "./recipe.ts";
 * assert.deepEqual(parseRecipes("bf16,fp4").map((r) => r.name), ["bf16", "fp4"]);
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
