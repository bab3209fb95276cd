// The loss-versus-tokens picture shared by `loss` and `dcrit`: one line per format, D_crit marked.
import { criticalTokens, type Layout, loss, type ScalingLawConstants } from "@fp4lab/scaling-law";
import type { VegaLiteSpec } from "../chart.ts";
import { short } from "../format.ts";

/** Vega expression for log-axis labels: 1e12 rather than 1,000,000,000,000. */
export const LOG_LABEL = "replace(format(datum.value, '.0e'), '+', '')";

export function lossCurvePlot(
  params: number,
  formats: readonly Layout[],
  log2Block: number,
  blockText: string,
  constants: ScalingLawConstants,
): VegaLiteSpec {
  const crit = formats.map((f) =>
    criticalTokens({
      params,
      exponentBits: f.exponentBits,
      mantissaBits: f.mantissaBits,
      log2Block,
    }, constants)
  );
  const finite = crit.filter(Number.isFinite);
  const lo = Math.max(1e8, Math.min(...finite, 1e12) / 100);
  const hi = Math.min(1e18, Math.max(...finite, 1e12) * 20);
  const curve: { tokens: number; loss: number; format: string }[] = [];
  const marks: { tokens: number; loss: number; format: string; label: string }[] = [];
  formats.forEach((f, i) => {
    const at = (tokens: number) =>
      loss({
        params,
        tokens,
        exponentBits: f.exponentBits,
        mantissaBits: f.mantissaBits,
        log2Block,
      }, constants);
    for (let j = 0; j <= 120; j++) {
      const tokens = lo * (hi / lo) ** (j / 120);
      curve.push({ tokens, loss: at(tokens), format: f.name });
    }
    if (Number.isFinite(crit[i])) {
      marks.push({
        tokens: crit[i],
        loss: at(crit[i]),
        format: f.name,
        label: `D_crit ${short(crit[i])}`,
      });
    }
  });
  // Keep the interesting part in view: from the lowest point to the loss at the left edge (the
  // penalty grows without bound far past D_crit; those lines are clipped).
  const yLo = Math.min(...curve.map((p) => p.loss));
  const yHi = Math.max(...curve.filter((p) => p.tokens === lo).map((p) => p.loss));
  const x = {
    field: "tokens",
    type: "quantitative",
    scale: { type: "log" },
    title: "training tokens D",
    axis: { labelExpr: LOG_LABEL },
  };
  const y = {
    field: "loss",
    type: "quantitative",
    scale: { zero: false, domain: [yLo - 0.02 * (yHi - yLo), yHi] },
    title: "predicted loss (nats per token)",
  };
  const color = { field: "format", type: "nominal", title: "format" };
  return {
    title: `Predicted loss vs tokens, N = ${short(params)} params, ${blockText} (D_crit marked)`,
    layer: [
      { data: { values: curve }, mark: { type: "line", clip: true }, encoding: { x, y, color } },
      {
        data: { values: marks },
        mark: { type: "point", filled: true, size: 90, shape: "diamond", clip: true },
        encoding: { x, y, color },
      },
      {
        data: { values: marks },
        mark: { type: "text", dy: -12, fontSize: 10 },
        encoding: { x, y, text: { field: "label" }, color },
      },
    ],
  };
}
