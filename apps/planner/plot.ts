// SVG plots: Vega-Lite specs compiled to Vega and rendered headless (no canvas, no browser).
import * as vega from "vega";
import * as vl from "vega-lite";

/** A Vega-Lite specification (kept loose: the specs are written inline by each command). */
// deno-lint-ignore no-explicit-any
export type VegaLiteSpec = Record<string, any>;

/** The spec with the defaults every plot shares: what is rendered, and what is saved beside it. */
export function fullSpec(spec: VegaLiteSpec): VegaLiteSpec {
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    width: 560,
    height: 340,
    config: { font: "sans-serif", background: "white" },
    ...spec,
  };
}

/** Compiles and renders a Vega-Lite spec to an SVG document string. */
export async function renderSvg(spec: VegaLiteSpec): Promise<string> {
  const full = fullSpec(spec);
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
