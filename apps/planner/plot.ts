// SVG plots: Vega-Lite specs compiled to Vega and rendered headless (no canvas, no browser).
import * as vega from "vega";
import * as vl from "vega-lite";
import { chartSpec, type VegaLiteSpec } from "@fp4lab/planner";

/** The spec with the defaults every plot shares (the package's `chartSpec`): what is rendered,
 * and what is saved beside it. */
export const fullSpec: (spec: VegaLiteSpec) => VegaLiteSpec = chartSpec;

/** Compiles and renders a Vega-Lite spec to an SVG document string. */
export async function renderSvg(spec: VegaLiteSpec): Promise<string> {
  const full = chartSpec(spec);
  // deno-lint-ignore no-explicit-any
  const compiled = vl.compile(full as any).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  try {
    const svg = await view.toSVG();
    return `<?xml version="1.0" encoding="UTF-8"?>\n${svg}\n`;
  } finally {
    view.finalize();
  }
}
