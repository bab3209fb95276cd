/**
 * The run's outputs: `metrics.csv`, `report.json`, `report.md`, `loss.svg` (vega-lite, rendered
 * headless), one folder per recipe, and the summary table printed at the end.
 *
 * @module
 */
import { join } from "node:path";
import * as vega from "vega";
import * as vl from "vega-lite";
import type { ModelConfig, Recipe } from "@fp4lab/train";
import { writeFileAtomic } from "../_shared/files.ts";
import type { RecipeResult } from "./train.ts";
import { eventsJsonl } from "./events.ts";

/** Everything a report holds besides the per-recipe results. */
export interface RunInfo {
  /** run folder name */
  name: string;
  /** the command line */
  command: string;
  /** CPU model line */
  machine: string;
  /** model configuration */
  config: ModelConfig;
  /** run settings */
  settings: { steps: number; batch: number; ranks: number; lr: number; seed: number };
  /** data description */
  data: {
    source: string;
    trainBytes: number;
    valBytes: number;
    entropyRate: number | null;
    /** the tokenizer's name (`byte` when absent) */
    tokenizer?: string;
    /** the model's vocabulary */
    vocabSize?: number;
    /** training tokens */
    trainTokens?: number;
    /** validation tokens */
    valTokens?: number;
    /** UTF-8 bytes per validation token (1 for bytes) */
    valBytesPerToken?: number;
    /** validation windows evaluated */
    valWindows?: number;
  };
  /** wall-clock seconds of the whole run */
  seconds: number;
}

/** One row of the summary table. */
export interface SummaryRow {
  /** recipe */
  recipe: string;
  /** mean training loss over the last 10% of steps */
  finalTrainLoss: number;
  /** validation loss */
  valLoss: number;
  /** validation loss minus bf16's, or null without a bf16 run */
  gapToBf16: number | null;
  /** validation loss in bits per UTF-8 byte (= valLoss / ln 2 / bytes per token) */
  valBitsPerByte?: number;
  /** standard error of the validation loss over its windows, nats */
  valStandardError?: number;
  /** training tokens per second */
  tokensPerSec: number;
  /** bytes of weights and optimizer state */
  memoryBytes: number;
}

/**
 * The summary rows, with the gap to the bf16 run's validation loss, the validation loss in
 * bits per byte, and its standard error when known.
 *
 * @param results per-recipe results
 * @param bytesPerToken UTF-8 bytes per validation token (1 for bytes)
 * @param standardErrors per recipe, the validation loss's standard error
 * @returns rows in run order
 * @example
 * ```ts ignore
 * const rows = summarize(results);
 * ```
 */
export function summarize(
  results: RecipeResult[],
  bytesPerToken = 1,
  standardErrors?: number[],
): SummaryRow[] {
  const bf16 = results.find((r) => r.recipe === "bf16");
  return results.map((r, i) => ({
    recipe: r.recipe,
    finalTrainLoss: r.finalTrainLoss,
    valLoss: r.valLoss,
    gapToBf16: bf16 ? r.valLoss - bf16.valLoss : null,
    valBitsPerByte: r.valLoss / Math.LN2 / bytesPerToken,
    ...(standardErrors?.[i] !== undefined ? { valStandardError: standardErrors[i] } : {}),
    tokensPerSec: r.tokensPerSec,
    memoryBytes: r.memoryBytes,
  }));
}

/**
 * Bytes as `1.2 MB` (powers of 1000).
 *
 * @param bytes count
 * @returns text
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatBytes } from "./report.ts";
 * assert.equal(formatBytes(6_431_000), "6.43 MB");
 * ```
 */
export function formatBytes(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(2)} GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(2)} MB`;
  if (bytes >= 1e3) return `${(bytes / 1e3).toFixed(1)} kB`;
  return `${bytes} B`;
}

/**
 * The summary as a Markdown table, for report.md ({@link terminalTable} is the terminal's).
 *
 * @param rows summary rows
 * @returns Markdown
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { markdownTable } from "./report.ts";
 * const md = markdownTable([{ recipe: "bf16", finalTrainLoss: 2, valLoss: 2.1, gapToBf16: 0,
 *   tokensPerSec: 100, memoryBytes: 1000 }]);
 * assert.equal(md.split("\n").length, 3); // header, rule, one row per recipe
 * ```
 */
export function markdownTable(rows: SummaryRow[]): string {
  const head =
    "| recipe | final train loss | val loss | ± s.e. | val bits/byte | gap to bf16 | tokens/s | weights+optimizer |";
  const sep = "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |";
  const lines = rows.map((r) =>
    `| ${r.recipe} | ${r.finalTrainLoss.toFixed(4)} | ${r.valLoss.toFixed(4)} | ${
      r.valStandardError === undefined ? "—" : r.valStandardError.toFixed(4)
    } | ${r.valBitsPerByte === undefined ? "—" : r.valBitsPerByte.toFixed(4)} | ${
      r.gapToBf16 === null ? "—" : (r.gapToBf16 >= 0 ? "+" : "") + r.gapToBf16.toFixed(4)
    } | ${Math.round(r.tokensPerSec)} | ${formatBytes(r.memoryBytes)} |`
  );
  return [head, sep, ...lines].join("\n");
}

/** A column of the terminal table: its name, its unit line, its alignment and its cell. */
interface Column {
  name: string;
  unit: string;
  right: boolean;
  cell: (r: SummaryRow) => string;
}

const NATS = "(nats per byte)";
const TERMINAL_COLUMNS: Column[] = [
  { name: "recipe", unit: "", right: false, cell: (r) => r.recipe },
  { name: "final train loss", unit: NATS, right: true, cell: (r) => r.finalTrainLoss.toFixed(4) },
  { name: "val loss", unit: NATS, right: true, cell: (r) => r.valLoss.toFixed(4) },
  {
    name: "± s.e.",
    unit: NATS,
    right: true,
    cell: (r) => r.valStandardError === undefined ? "—" : r.valStandardError.toFixed(4),
  },
  {
    name: "val bits",
    unit: "(per byte)",
    right: true,
    cell: (r) => r.valBitsPerByte === undefined ? "—" : r.valBitsPerByte.toFixed(4),
  },
  {
    name: "gap to bf16",
    unit: NATS,
    right: true,
    cell: (r) =>
      r.gapToBf16 === null ? "—" : (r.gapToBf16 >= 0 ? "+" : "") + r.gapToBf16.toFixed(4),
  },
  {
    name: "throughput",
    unit: "(tokens/s)",
    right: true,
    cell: (r) => `${Math.round(r.tokensPerSec)}`,
  },
  {
    name: "weights+optimizer",
    unit: "(MB)",
    right: true,
    cell: (r) => (r.memoryBytes / 1e6).toFixed(2),
  },
];

/**
 * The summary as the terminal shows it at the end of `deno task train`: aligned columns two
 * spaces apart, numbers right-aligned, each column's unit on a second header line (losses in nats
 * per token, which is per byte for the byte vocabulary, the validation loss with its standard
 * error and in bits per byte, throughput in tokens/s, weights + optimizer state in MB), a rule
 * under the header.
 *
 * @param rows summary rows
 * @returns the table, one line per row after the three header lines
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { terminalTable } from "./report.ts";
 * const text = terminalTable([
 *   { recipe: "bf16", finalTrainLoss: 2, valLoss: 2.1, gapToBf16: 0, tokensPerSec: 1234.4,
 *     memoryBytes: 6_431_000, valBitsPerByte: 3.0297, valStandardError: 0.0031 },
 *   { recipe: "fp4", finalTrainLoss: 2.05, valLoss: 2.13, gapToBf16: 0.03, tokensPerSec: 987,
 *     memoryBytes: 6_431_000, valBitsPerByte: 3.0730, valStandardError: 0.0032 },
 * ]);
 * const lines = text.split("\n");
 * assert.match(lines[1], /\(nats per byte\).*\(per byte\).*\(tokens\/s\).*\(MB\)/);
 * assert.deepEqual(lines[4].split(/ +/), [
 *   "fp4", "2.0500", "2.1300", "0.0032", "3.0730", "+0.0300", "987", "6.43",
 * ]);
 * assert.equal(lines[4].length, lines[0].length); // numbers end under their headers
 * ```
 */
export function terminalTable(rows: SummaryRow[]): string {
  const columns = TERMINAL_COLUMNS;
  const cells = rows.map((r) => columns.map((c) => c.cell(r)));
  const widths = columns.map((c, j) =>
    Math.max(c.name.length, c.unit.length, ...cells.map((row) => row[j].length))
  );
  const line = (texts: string[]) =>
    texts.map((t, j) => columns[j].right ? t.padStart(widths[j]) : t.padEnd(widths[j]))
      .join("  ").trimEnd();
  return [
    line(columns.map((c) => c.name)),
    line(columns.map((c) => c.unit)),
    line(widths.map((w) => "-".repeat(w))),
    ...cells.map(line),
  ].join("\n");
}

/**
 * The per-step metrics as CSV: recipe,step,tokens,train_loss,val_loss,lr,elapsed_s.
 *
 * @param results per-recipe results
 * @param tokensPerStep batch · T
 * @returns CSV text
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { metricsCsv } from "./report.ts";
 * assert.equal(metricsCsv([], 1), "recipe,step,tokens,train_loss,val_loss,lr,elapsed_s\n");
 * ```
 */
export function metricsCsv(results: RecipeResult[], tokensPerStep: number): string {
  let csv = "recipe,step,tokens,train_loss,val_loss,lr,elapsed_s\n";
  for (const r of results) {
    for (const s of r.records) {
      csv += `${r.recipe},${s.step},${s.step * tokensPerStep},${s.loss},${
        s.valLoss ?? ""
      },${s.lr},${s.elapsed.toFixed(3)}\n`;
    }
  }
  return csv;
}

function smooth(values: number[], window: number): number[] {
  const out: number[] = [];
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    sum += values[i];
    if (i >= window) sum -= values[i - window];
    out.push(sum / Math.min(i + 1, window));
  }
  return out;
}

/**
 * Renders the loss curves (and, with a bf16 run, each recipe's smoothed per-step gap to it:
 * every recipe sees the same batches, so the difference is paired) as SVG via vega-lite.
 *
 * @param results per-recipe results
 * @returns SVG text
 * @example
 * ```ts ignore
 * const svg = await lossSvg(results);
 * ```
 */
export async function lossSvg(results: RecipeResult[]): Promise<string> {
  // deno-lint-ignore no-explicit-any
  const compiled = vl.compile(lossSpec(results) as any).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  return await view.toSVG();
}

/**
 * The Vega-Lite spec {@link lossSvg} renders, saved as loss.vl.json beside loss.svg so the chart
 * can be restyled. Each recipe has its own colour and dash pattern, so a line lying on another
 * (bf16 under fp4 early in a run) still shows; validation points take their recipe's colour and
 * the subtitle says what the points and lines are (a shape legend would show a grey dot).
 *
 * @param results per-recipe results
 * @returns the spec (a JSON-able object)
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lossSpec } from "./report.ts";
 * const spec = lossSpec([]) as { $schema: string };
 * assert.match(spec.$schema, /vega-lite/);
 * ```
 */
export function lossSpec(results: RecipeResult[]): Record<string, unknown> {
  const steps = results[0]?.records.length ?? 1;
  // One colour per recipe in both panels.
  const color = {
    field: "recipe",
    type: "nominal",
    scale: { domain: results.map((r) => r.recipe) },
  };
  const dashes = [[1, 0], [6, 3], [2, 2], [8, 2, 2, 2], [4, 4], [1, 3], [10, 4]];
  const strokeDash = {
    field: "recipe",
    type: "nominal",
    scale: {
      domain: results.map((r) => r.recipe),
      range: results.map((_, i) => dashes[i % dashes.length]),
    },
  };
  const window = Math.max(1, Math.round(steps / 20));
  const curves = [];
  for (const r of results) {
    const sm = smooth(r.records.map((s) => s.loss), window);
    for (let i = 0; i < r.records.length; i++) {
      const s = r.records[i];
      curves.push({ recipe: r.recipe, step: s.step, loss: sm[i], kind: "train (smoothed)" });
      if (s.valLoss !== null) {
        curves.push({ recipe: r.recipe, step: s.step, loss: s.valLoss, kind: "validation" });
      }
    }
  }
  const lossChart = {
    title: {
      text: "loss (nats per byte)",
      subtitle: "lines: training loss (smoothed); dots: validation loss",
    },
    width: 420,
    height: 280,
    data: { values: curves },
    layer: [
      {
        transform: [{ filter: "datum.kind === 'train (smoothed)'" }],
        mark: { type: "line", strokeWidth: 2 },
        encoding: {
          x: { field: "step", type: "quantitative", title: "step" },
          y: {
            field: "loss",
            type: "quantitative",
            scale: { zero: false },
            title: "loss (nats per byte)",
          },
          color,
          strokeDash,
        },
      },
      {
        transform: [{ filter: "datum.kind === 'validation'" }],
        mark: { type: "point", filled: true, size: 50, opacity: 1 },
        encoding: {
          x: { field: "step", type: "quantitative" },
          y: { field: "loss", type: "quantitative" },
          color,
        },
      },
    ],
  };
  const bf16 = results.find((r) => r.recipe === "bf16");
  const charts: unknown[] = [lossChart];
  if (bf16) {
    const gaps = [];
    for (const r of results) {
      if (r === bf16) continue;
      const d = r.records.map((s, i) => s.loss - bf16.records[i].loss);
      const sm = smooth(d, window);
      for (let i = 0; i < sm.length; i++) gaps.push({ recipe: r.recipe, step: i + 1, gap: sm[i] });
    }
    if (gaps.length > 0) {
      charts.push({
        title: "train loss minus bf16 (smoothed, same batches)",
        width: 420,
        height: 280,
        data: { values: gaps },
        layer: [
          {
            mark: { type: "line", strokeWidth: 2 },
            encoding: {
              x: { field: "step", type: "quantitative", title: "step" },
              y: { field: "gap", type: "quantitative", title: "gap (nats per byte)" },
              color,
              strokeDash,
            },
          },
          { mark: { type: "rule", strokeDash: [4, 4] }, encoding: { y: { datum: 0 } } },
        ],
      });
    }
  }
  return { $schema: "https://vega.github.io/schema/vega-lite/v6.json", hconcat: charts };
}

/**
 * Writes the run's reports: metrics.csv, events.jsonl, report.json, report.md, loss.svg and its
 * Vega-Lite spec loss.vl.json. The `<recipe>/` folders (final weights, config.json, recipe.json)
 * are the checkpoints', written by checkpoint_save.ts.
 *
 * @param dir run folder
 * @param info run description
 * @param recipes the recipes, in run order
 * @param results their results
 * @param standardErrors per recipe, the final validation loss's standard error (optional)
 * @returns the JSON report object
 * @example
 * ```ts ignore
 * await writeReport("runs/x", info, recipes, results);
 * ```
 */
export async function writeReport(
  dir: string,
  info: RunInfo,
  recipes: Recipe[],
  results: RecipeResult[],
  standardErrors?: number[],
): Promise<Record<string, unknown>> {
  await Deno.mkdir(dir, { recursive: true });
  const T = info.config.contextLength;
  const rows = summarize(results, info.data.valBytesPerToken ?? 1, standardErrors);
  const report = {
    name: info.name,
    command: info.command,
    machine: info.machine,
    preset: info.config.name,
    config: info.config,
    parameters: results[0]?.parameters ?? 0,
    settings: info.settings,
    data: info.data,
    seconds: info.seconds,
    created: new Date().toISOString(),
    recipes: results.map((r, i) => ({
      ...rows[i],
      description: recipes[i].description,
      stepSeconds: r.stepSeconds,
      parameters: r.parameters,
      skippedSteps: r.skippedSteps,
      allReduceBytesPerStep: r.allReduceBytesPerStep,
      allReduceBytesTotal: r.allReduceBytesPerStep * info.settings.steps,
      spec: recipes[i],
      gemmStats: r.gemmStats,
    })),
  };
  // Each file atomically; the recipe folders are the checkpoints' (checkpoint_save.ts writes
  // them, the final weights included): one writer per file.
  writeFileAtomic(join(dir, "metrics.csv"), metricsCsv(results, info.settings.batch * T));
  writeFileAtomic(join(dir, "events.jsonl"), eventsJsonl(results, info.settings.batch * T));
  writeFileAtomic(join(dir, "report.json"), JSON.stringify(report, null, 2) + "\n");
  writeFileAtomic(join(dir, "loss.svg"), await lossSvg(results));
  writeFileAtomic(join(dir, "loss.vl.json"), JSON.stringify(lossSpec(results), null, 1) + "\n");
  writeFileAtomic(join(dir, "report.md"), reportMarkdown(info, rows, results));
  return report;
}

function reportMarkdown(info: RunInfo, rows: SummaryRow[], results: RecipeResult[]): string {
  const s = info.settings;
  const lines = [
    `# Training run ${info.name}`,
    "",
    `\`${info.command}\``,
    "",
    `- preset \`${info.config.name}\`: ${results[0]?.parameters ?? 0} parameters, ` +
    `${info.config.numLayers} layers, hidden ${info.config.hiddenSize}, context ${info.config.contextLength}`,
    `- ${s.steps} steps x ${s.batch} sequences (${
      s.batch * info.config.contextLength
    } tokens per step), ` +
    `${s.ranks} rank(s), peak lr ${s.lr}, seed ${s.seed}`,
    `- data: ${info.data.source}; ${
      info.data.trainTokens ?? info.data.trainBytes
    } training tokens, ` +
    `${info.data.valTokens ?? info.data.valBytes} validation tokens (tokenizer ${
      info.data.tokenizer ?? "byte"
    }, vocabulary ${info.config.vocabSize}, ${
      (info.data.valBytesPerToken ?? 1).toFixed(3)
    } bytes per validation token; ${
      info.data.valWindows ?? "?"
    } validation windows spread over the split)` +
    (info.data.entropyRate === null
      ? ""
      : `; entropy rate ${info.data.entropyRate.toFixed(4)} nats/byte`),
    `- machine: ${info.machine}; ${info.seconds.toFixed(0)} s in all`,
    ...(s.ranks > 1 && results[0]
      ? [
        `- FP8 ring all-reduce over ${s.ranks} ranks: ${
          formatBytes(results[0].allReduceBytesPerStep)
        } sent per step by all ranks together, ${
          formatBytes(results[0].allReduceBytesPerStep * s.steps)
        } per recipe in all`,
      ]
      : []),
    "",
    markdownTable(rows),
    "",
    "Final train loss is the mean over the last 10% of steps; the gap is validation loss minus bf16's.",
    "At this scale (about 1M parameters) seed-to-seed noise is about 0.02 nats per byte: compare recipes over several seeds.",
    "",
    "![loss curves](loss.svg)",
    "",
    "## Quantized GEMM inputs at the last step",
    "",
    "Crest = max|a| / rms(a) per row (mean over rows); zero = fraction of entries flushed to zero.",
    "",
    "| recipe | layer | A crest | A zero | W crest | W zero | DGE mean factor | DGE capped | OCC sparsity |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  const f = (v: number | undefined, d = 3) => v === undefined ? "—" : v.toFixed(d);
  for (const r of results) {
    for (const [name, st] of Object.entries(r.gemmStats)) {
      if (!st.a && !st.w) continue;
      lines.push(
        `| ${r.recipe} | ${name} | ${f(st.a?.crestMean, 2)} | ${f(st.a?.zeroFraction, 4)} | ${
          f(st.w?.crestMean, 2)
        } | ${f(st.w?.zeroFraction, 4)} | ${f(st.dge?.meanFactor)} | ${
          f(st.dge?.cappedFraction, 4)
        } | ${f(st.occSparsity, 4)} |`,
      );
    }
  }
  return lines.join("\n") + "\n";
}
