// The train page's report: what ran, where, and every step, as JSON and CSV.
import type { StepRecord } from "./train_engine.ts";

/** One recipe's progress as the page has it. */
export interface RecipeProgress {
  records: StepRecord[];
  tokensPerSec: number;
  parameters: number;
  skipped: number;
}

/** Everything the report says. */
export interface ReportInput {
  readonly settings: Record<string, unknown>;
  readonly device: string;
  readonly webgpu: string;
  readonly userAgent: string;
  readonly data: string;
  readonly recipes: Readonly<Record<string, RecipeProgress>>;
}

/**
 * The report as JSON: settings, device, and per recipe the final loss (mean of the last 10% of
 * steps, as the CLI reports it), the last validation loss, tokens/s and every step.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { reportJson } from "./train_report.ts";
 * const r = reportJson({ settings: {}, device: "cpu", webgpu: "none", userAgent: "x", data: "d",
 *   recipes: { fp4: { records: [{ step: 1, loss: 5, lr: 1e-3, valLoss: 4.9, seconds: 1 }], tokensPerSec: 10, parameters: 3, skipped: 0 } } });
 * assert.equal(r.recipes.fp4.finalTrainLoss, 5);
 * assert.equal(r.recipes.fp4.valLoss, 4.9);
 * ```
 */
export function reportJson(input: ReportInput) {
  const recipes: Record<string, {
    parameters: number;
    steps: number;
    finalTrainLoss: number | null;
    valLoss: number | null;
    tokensPerSec: number;
    skippedSteps: number;
    records: StepRecord[];
  }> = {};
  for (const [name, p] of Object.entries(input.recipes)) {
    const tail = p.records.slice(-Math.max(1, Math.floor(p.records.length / 10)));
    const vals = p.records.filter((r) => r.valLoss !== null);
    recipes[name] = {
      parameters: p.parameters,
      steps: p.records.length,
      finalTrainLoss: tail.length ? tail.reduce((a, r) => a + r.loss, 0) / tail.length : null,
      valLoss: vals.at(-1)?.valLoss ?? null,
      tokensPerSec: p.tokensPerSec,
      skippedSteps: p.skipped,
      records: p.records,
    };
  }
  return {
    tool: "fp4lab web trainer",
    settings: input.settings,
    device: input.device,
    webgpu: input.webgpu,
    userAgent: input.userAgent,
    data: input.data,
    recipes,
  };
}

/**
 * Every step of every recipe as CSV: `recipe,step,loss,lr,val_loss,seconds`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { metricsCsv } from "./train_report.ts";
 * assert.equal(
 *   metricsCsv({ fp4: { records: [{ step: 1, loss: 5, lr: 0.001, valLoss: null, seconds: 0.5 }], tokensPerSec: 1, parameters: 1, skipped: 0 } }),
 *   "recipe,step,loss,lr,val_loss,seconds\nfp4,1,5,0.001,,0.5\n",
 * );
 * ```
 */
export function metricsCsv(recipes: Readonly<Record<string, RecipeProgress>>): string {
  const lines = ["recipe,step,loss,lr,val_loss,seconds"];
  for (const [name, p] of Object.entries(recipes)) {
    for (const r of p.records) {
      lines.push([name, r.step, r.loss, r.lr, r.valLoss ?? "", r.seconds].join(","));
    }
  }
  return lines.join("\n") + "\n";
}
