/**
 * SVG figures for the reproduction pages: Vega-Lite specs compiled to Vega and rendered headless,
 * the same approach as the trainer's `loss.svg` and the planner's `--svg`.
 *
 * @module
 */
import * as vega from "vega";
import * as vl from "vega-lite";

/**
 * Compiles and renders a Vega-Lite spec to an SVG document.
 *
 * @param spec a Vega-Lite specification
 * @returns SVG text
 * @example
 * ```ts ignore
 * const svg = await renderSvg({ data: { values: [{ x: 1, y: 2 }] }, mark: "point" });
 * ```
 */
export async function renderSvg(spec: Record<string, unknown>): Promise<string> {
  const full = { config: { font: "sans-serif", background: "white" }, ...spec };
  // deno-lint-ignore no-explicit-any
  const compiled = vl.compile(full as any).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  try {
    return `<?xml version="1.0" encoding="UTF-8"?>\n${await view.toSVG()}\n`;
  } finally {
    view.finalize();
  }
}

/**
 * Trailing moving average (the first values average what there is so far), for loss curves.
 *
 * @param values the series
 * @param window values per average (at least 1)
 * @returns the smoothed series, same length
 * @example
 * ```ts
 * import { smooth } from "./plot.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(smooth([2, 4, 6, 8], 2), [2, 3, 5, 7]);
 * ```
 */
export function smooth(values: readonly number[], window: number): number[] {
  const out: number[] = [];
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    sum += values[i];
    if (i >= window) sum -= values[i - window];
    out.push(sum / Math.min(i + 1, window));
  }
  return out;
}
