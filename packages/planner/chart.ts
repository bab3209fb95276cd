// The chart defaults shared by the CLI's SVG files and the web page's interactive charts.

/**
 * A Vega-Lite specification, kept loose: each command writes its spec inline as plain data.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { VegaLiteSpec } from "@fp4lab/planner";
 * const spec: VegaLiteSpec = { mark: "line", data: { values: [] } };
 * assert.equal(spec.mark, "line");
 * ```
 */
// deno-lint-ignore no-explicit-any
export type VegaLiteSpec = Record<string, any>;

/**
 * A command's plot as a complete Vega-Lite document: the schema, the default size (560 x 340) and
 * font, then the command's own spec (which may override any of them). The CLI renders this to
 * SVG headless; the web page hands the same object to vega-embed.
 *
 * @param spec the spec a command's `plot()` returns
 * @returns a new object; `spec` is not changed
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { chartSpec } from "@fp4lab/planner";
 * const full = chartSpec({ mark: "point", height: 200 });
 * assert.equal(full.width, 560);
 * assert.equal(full.height, 200);
 * assert.ok(full.$schema.endsWith("v6.json"));
 * ```
 */
export function chartSpec(spec: VegaLiteSpec): VegaLiteSpec {
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    width: 560,
    height: 340,
    config: { font: "sans-serif", background: "white" },
    ...spec,
  };
}
