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
