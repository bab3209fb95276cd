// Interactive charts: vega-embed is loaded the first time a chart is drawn (it is most of the
// pages' bytes), and each container keeps one view, finalized before the next is drawn.
import type { VegaLiteSpec } from "@fp4lab/planner";

/** The parts of a Vega view the pages use (vega-embed's `result.view`). */
export interface ChartView {
  insert(dataset: string, rows: unknown[]): ChartView;
  /** asks for a new layout on the next run (axes grow as data arrives) */
  resize(): ChartView;
  runAsync(): Promise<ChartView>;
}
type EmbedResult = { finalize(): void; view: ChartView };
const views = new WeakMap<HTMLElement, EmbedResult>();

/**
 * Draws a Vega-Lite spec into `container` (replacing what was there), narrowed to fit a phone
 * screen: the spec is the CLI's, only its width follows the container.
 */
export async function drawChart(container: HTMLElement, spec: VegaLiteSpec): Promise<ChartView> {
  const { default: embed } = await import("vega-embed");
  views.get(container)?.finalize();
  // vega-embed styles the element it is given (inline-block, room for its menu): give it an
  // inner one, so the container keeps its width and scrolls a chart wider than a phone.
  const target = document.createElement("div");
  container.replaceChildren(target);
  const available = Math.max(220, container.clientWidth - 170);
  const fitted = typeof spec.width === "number" && spec.width > available
    ? { ...spec, width: available }
    : spec;
  // deno-lint-ignore no-explicit-any
  const result = await embed(target, fitted as any, {
    renderer: "svg",
    logLevel: 0, // no console warnings (an empty live chart warns about its extent)
    actions: { export: true, source: false, compiled: false, editor: false },
  });
  views.set(container, result as unknown as EmbedResult);
  return (result as unknown as EmbedResult).view;
}
