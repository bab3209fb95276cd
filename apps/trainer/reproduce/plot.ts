/**
 * SVG figures for the reproduction pages: Vega-Lite specs compiled to Vega and rendered headless,
 * the same approach as the trainer's `loss.svg` and the planner's `--svg`. Each figure's spec is
 * saved beside its SVG (`x.svg` and `x.vl.json`) so a reader can restyle it.
 *
 * @module
 */
import * as vega from "vega";
import * as vl from "vega-lite";
import { writeFileAtomic } from "../../_shared/files.ts";

const BASE_CONFIG = { font: "sans-serif", background: "white" };

/**
 * The spec as it is rendered: the Vega-Lite schema URL (so editors and the online editor know
 * it), the page's font and white background under the figure's own `config` (which wins where
 * both set a key).
 *
 * @param spec a Vega-Lite specification
 * @returns a copy with the merged `config`
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { figureSpec } from "./plot.ts";
 * const full = figureSpec({ mark: "point", config: { legend: { orient: "bottom" } } });
 * assert.deepEqual(full.config, {
 *   font: "sans-serif",
 *   background: "white",
 *   legend: { orient: "bottom" },
 * });
 * ```
 */
export function figureSpec(spec: Record<string, unknown>): Record<string, unknown> {
  const own = (spec.config ?? {}) as Record<string, unknown>;
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    ...spec,
    config: { ...BASE_CONFIG, ...own },
  };
}

/**
 * Compiles and renders a Vega-Lite spec to an SVG document.
 *
 * @param spec a Vega-Lite specification
 * @returns SVG text
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderSvg } from "./plot.ts";
 * const svg = await renderSvg({ data: { values: [{ x: 1, y: 2 }] }, mark: "point" });
 * assert.match(svg, /<svg/);
 * ```
 */
export async function renderSvg(spec: Record<string, unknown>): Promise<string> {
  // deno-lint-ignore no-explicit-any
  const compiled = vl.compile(figureSpec(spec) as any).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  try {
    return `<?xml version="1.0" encoding="UTF-8"?>\n${await view.toSVG()}\n`;
  } finally {
    view.finalize();
  }
}

/**
 * Where a figure's Vega-Lite spec goes: `x.svg` -> `x.vl.json`.
 *
 * @param svgPath the SVG's path
 * @returns the spec's path
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { specPath } from "./plot.ts";
 * assert.equal(specPath("docs/reproduce-fp4/gap.svg"), "docs/reproduce-fp4/gap.vl.json");
 * ```
 */
export function specPath(svgPath: string): string {
  return svgPath.replace(/\.svg$/i, "") + ".vl.json";
}

/**
 * Renders a figure to `svgPath` and saves the spec it was rendered from beside it
 * ({@link specPath}), each file written atomically. Non-finite numbers in the data are written
 * as `null` (JSON has no NaN), which Vega-Lite skips as it does NaN.
 *
 * @param svgPath where the SVG goes
 * @param spec the figure's Vega-Lite specification
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeFigure } from "./plot.ts";
 * const dir = Deno.makeTempDirSync();
 * await writeFigure(`${dir}/f.svg`, { data: { values: [{ x: 1, y: 2 }] }, mark: "point" });
 * const spec = JSON.parse(Deno.readTextFileSync(`${dir}/f.vl.json`));
 * assert.equal(spec.mark, "point");
 * assert.match(spec.$schema, /vega-lite/);
 * assert.equal(spec.config.font, "sans-serif"); // as rendered
 * assert.match(Deno.readTextFileSync(`${dir}/f.svg`), /<svg/);
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export async function writeFigure(svgPath: string, spec: Record<string, unknown>): Promise<void> {
  const full = figureSpec(spec);
  writeFileAtomic(svgPath, await renderSvg(full));
  const json = JSON.stringify(
    full,
    (_k, v) => typeof v === "number" && !Number.isFinite(v) ? null : v,
    1,
  );
  writeFileAtomic(specPath(svgPath), json + "\n");
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
