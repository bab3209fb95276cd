// Moment format names to @fp4lab/fp4-format formats (internal: the public API speaks names).
import { BF16, E4M3, FP16 } from "@fp4lab/fp4-format";
import type { FloatFormat } from "@fp4lab/fp4-format";
import { MOMENT_FORMATS, type MomentFormat } from "./moment_format.ts";

const FORMAT_OF: Readonly<Record<string, FloatFormat | null>> = {
  f32: null,
  FP16,
  BF16,
  E4M3,
};

/**
 * The `@fp4lab/fp4-format` format behind a moment format (`null` for `"f32"`, which is not
 * rounded).
 *
 * @param name a moment format name
 * @returns the format object, or `null` for `"f32"`
 * @throws {RangeError} for an unknown name, listing the allowed ones
 */
export function momentFloatFormat(name: MomentFormat): FloatFormat | null {
  if (typeof name !== "string" || !Object.hasOwn(FORMAT_OF, name)) {
    throw new RangeError(
      `moment format must be one of ${MOMENT_FORMATS.map((f) => `"${f}"`).join(", ")}, ` +
        `got ${JSON.stringify(name)}`,
    );
  }
  return FORMAT_OF[name];
}

/**
 * Whether a moment format gets a per-tensor scale under `scaling`: FP16 and E4M3 do (their range
 * is far narrower than the moments'); BF16 never does, as its exponent range is f32's: a scale
 * would buy nothing and would park the stored values next to f32's overflow, where a moment that
 * grows between steps would overflow before it is rescaled.
 */
export function momentIsScaled(name: MomentFormat, scaling: string): boolean {
  return scaling === "tensor" && (name === "FP16" || name === "E4M3");
}
