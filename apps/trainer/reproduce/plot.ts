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
