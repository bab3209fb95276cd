/**
 * Named quantization schemes: the OCP MX formats, NVFP4, and the FP4 paper's per-token
 * activation and per-output-channel weight schemes.
 *
 * @module
 */
import { E2M1, E2M3, E3M2, E4M3, E5M2 } from "@fp4lab/fp4-format";
import type { QuantScheme } from "./types.ts";

function mx(name: string, format: QuantScheme["format"]): QuantScheme {
  return Object.freeze({
    name,
    format,
    granularity: "block",
    blockSize: 32,
    scaleRule: "e8m0-floor",
  });
}

/** OCP MXFP4: E2M1 elements, blocks of 32 along K, E8M0 scales with the spec's `floor` rule. */
export const MXFP4: QuantScheme = mx("mxfp4", E2M1);
/** OCP MXFP6 (E2M3): blocks of 32 along K, E8M0 scales, `floor` rule. */
export const MXFP6_E2M3: QuantScheme = mx("mxfp6-e2m3", E2M3);
/** OCP MXFP6 (E3M2): blocks of 32 along K, E8M0 scales, `floor` rule. */
export const MXFP6_E3M2: QuantScheme = mx("mxfp6-e3m2", E3M2);
/** OCP MXFP8 (E4M3): blocks of 32 along K, E8M0 scales, `floor` rule. */
export const MXFP8_E4M3: QuantScheme = mx("mxfp8-e4m3", E4M3);
/** OCP MXFP8 (E5M2): blocks of 32 along K, E8M0 scales, `floor` rule. */
export const MXFP8_E5M2: QuantScheme = mx("mxfp8-e5m2", E5M2);

/**
 * NVFP4: E2M1 elements, blocks of 16 along K with UE4M3 scales, plus an f32 tensor scale, in
 * TransformerEngine's f32 operation order.
 */
export const NVFP4: QuantScheme = Object.freeze({
  name: "nvfp4",
  format: E2M1,
  granularity: "block",
  blockSize: 16,
  scaleRule: "nvfp4",
});

/** NVFP4 with one UE4M3 scale per 16 × 16 tile: the recipe's weight quantization. */
export const NVFP4_2D: QuantScheme = Object.freeze({
  name: "nvfp4-2d",
  format: E2M1,
  granularity: "block2d",
  blockSize: 16,
  blockRows: 16,
  scaleRule: "nvfp4",
});

/** The FP4 paper's activations: E2M1, one plain f32 absmax scale per token (row of A). */
export const FP4_PAPER_ACT: QuantScheme = Object.freeze({
  name: "fp4-paper-act",
  format: E2M1,
  granularity: "token",
  scaleRule: "absmax",
});

/**
 * The FP4 paper's weights: E2M1, one plain f32 absmax scale per output channel (row of Wᵀ stored
 * [N, K]; use {@link transpose} first for a weight held as [K, N]).
 */
export const FP4_PAPER_WEIGHT: QuantScheme = Object.freeze({
  name: "fp4-paper-weight",
  format: E2M1,
  granularity: "channel",
  scaleRule: "absmax",
});

/** Every named scheme, by its upper-case constant name. */
export const PRESETS: Readonly<Record<string, QuantScheme>> = Object.freeze({
  MXFP4,
  MXFP6_E2M3,
  MXFP6_E3M2,
  MXFP8_E4M3,
  MXFP8_E5M2,
  NVFP4,
  NVFP4_2D,
  FP4_PAPER_ACT,
  FP4_PAPER_WEIGHT,
});
