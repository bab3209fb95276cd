/**
 * Observed training runs: the CSV the trainer's sweep writes and the fitter reads
 * (`params,tokens,exponent_bits,mantissa_bits,block,loss`), and synthetic runs drawn from the law.
 *
 * @module
 */
import { CHANNEL_LOG2_BLOCK, PAPER_CONSTANTS, type ScalingLawConstants } from "./constants.ts";
import { loss, type TrainingRun } from "./loss.ts";
import { resolveBlock } from "./names.ts";
import { createRandom } from "./_random.ts";

/** A training run with its measured final loss. */
export interface ObservedRun extends TrainingRun {
  /** The measured loss (> 0). */
  readonly loss: number;
}

/** The columns a runs CSV must have, in the order {@link formatRunsCsv} writes them. */
export const RUNS_CSV_COLUMNS: readonly string[] = Object.freeze([
  "params",
  "tokens",
  "exponent_bits",
  "mantissa_bits",
  "block",
  "loss",
]);

/**
 * Parses a runs CSV. The header names the columns (any order, extra columns ignored); `block` is
 * a positive integer, `channel` or `none`. Blank lines and lines starting with `#` are skipped.
 *
 * @param text The file's contents.
 * @returns One run per data line.
 * @throws {RangeError} Naming the missing column, or the line and column of a bad cell.
 *
 * @example
 * ```ts
 * import { parseRunsCsv } from "@fp4lab/scaling-law";
 * import assert from "node:assert/strict";
 * const runs = parseRunsCsv("params,tokens,exponent_bits,mantissa_bits,block,loss\n1e8,1e10,2,1,channel,3.4\n");
 * assert.equal(runs[0].log2Block, 13.1567); // "channel"
 * assert.equal(runs[0].loss, 3.4);
 * ```
 */
export function parseRunsCsv(text: string): ObservedRun[] {
  const lines = text.split(/\r?\n/);
  let headerLine = -1;
  for (let i = 0; i < lines.length; i++) {
    const t = lines[i].trim();
    if (t !== "" && !t.startsWith("#")) {
      headerLine = i;
      break;
    }
  }
  if (headerLine < 0) throw new RangeError("runs CSV is empty: it needs a header line and runs");
  const header = lines[headerLine].split(",").map((h) => h.trim().toLowerCase());
  const column: Record<string, number> = {};
  for (const name of RUNS_CSV_COLUMNS) {
    const at = header.indexOf(name);
    if (at < 0) {
      throw new RangeError(
        `runs CSV is missing column "${name}" (needs ${RUNS_CSV_COLUMNS.join(",")})`,
      );
    }
    column[name] = at;
  }
  const runs: ObservedRun[] = [];
  for (let i = headerLine + 1; i < lines.length; i++) {
    const t = lines[i].trim();
    if (t === "" || t.startsWith("#")) continue;
    const cells = t.split(",").map((c) => c.trim());
    const lineNo = i + 1;
    const cell = (name: string) => {
      const v = cells[column[name]];
      if (v === undefined || v === "") {
        throw new RangeError(`runs CSV line ${lineNo}: column "${name}" is empty`);
      }
      return v;
    };
    const num = (name: string, kind: "positive" | "bits") => {
      const raw = cell(name);
      const v = Number(raw);
      if (!Number.isFinite(v)) {
        throw new RangeError(`runs CSV line ${lineNo}: column "${name}" is not a number: "${raw}"`);
      }
      const ok = kind === "bits" ? Number.isInteger(v) && v >= 0 : v > 0;
      if (!ok) {
        throw new RangeError(
          `runs CSV line ${lineNo}: column "${name}" must be ${
            kind === "bits" ? "an integer >= 0" : "a positive number"
          }, got ${raw}`,
        );
      }
      return v;
    };
    let log2Block: number;
    try {
      log2Block = resolveBlock(cell("block"));
    } catch (e) {
      throw new RangeError(`runs CSV line ${lineNo}: ${(e as Error).message}`);
    }
    runs.push({
      params: num("params", "positive"),
      tokens: num("tokens", "positive"),
      exponentBits: num("exponent_bits", "bits"),
      mantissaBits: num("mantissa_bits", "bits"),
      log2Block,
      loss: num("loss", "positive"),
    });
  }
  if (runs.length === 0) throw new RangeError("runs CSV has a header but no runs");
  return runs;
}

/**
 * Writes runs as CSV in the {@link RUNS_CSV_COLUMNS} layout (`channel` for log2 B = 13.1567,
 * `none` for 0, otherwise B = 2^log2B rounded).
 *
 * @param runs The runs.
 * @returns The CSV text, header first, one line per run.
 *
 * @example
 * ```ts
 * import { formatRunsCsv } from "@fp4lab/scaling-law";
 * import assert from "node:assert/strict";
 * const csv = formatRunsCsv([{ params: 1e8, tokens: 1e10, exponentBits: 2, mantissaBits: 1, log2Block: 7, loss: 3.4 }]);
 * assert.equal(csv.split("\n")[1], "100000000,10000000000,2,1,128,3.4");
 * ```
 */
export function formatRunsCsv(runs: readonly ObservedRun[]): string {
  const rows = runs.map((r) => {
    const block = r.log2Block === CHANNEL_LOG2_BLOCK
      ? "channel"
      : r.log2Block === 0
      ? "none"
      : String(Math.round(2 ** r.log2Block));
    return [r.params, r.tokens, r.exponentBits, r.mantissaBits, block, r.loss].join(",");
  });
  return [RUNS_CSV_COLUMNS.join(","), ...rows].join("\n") + "\n";
}

/**
 * Synthetic runs: the law's prediction for each configuration times `exp(noise·z)` with z
 * standard normal (log-normal noise, as the fitter's log-loss residuals assume). For testing
 * the fitter and demonstrating `plan fit`.
 *
 * @param configs The configurations to simulate.
 * @param options `noise` (standard deviation of the log-loss, default 0), `seed` (default 0),
 *   `constants` (default the paper's).
 * @returns One observed run per configuration.
 *
 * @example
 * ```ts
 * import { simulateRuns } from "@fp4lab/scaling-law";
 * import assert from "node:assert/strict";
 * const [run] = simulateRuns([{ params: 1e9, tokens: 1e12, exponentBits: 4, mantissaBits: 3, log2Block: 7 }]);
 * assert.equal(run.loss.toFixed(6), "2.463458"); // no noise: the law itself
 * ```
 */
export function simulateRuns(
  configs: readonly TrainingRun[],
  options: { noise?: number; seed?: number; constants?: ScalingLawConstants } = {},
): ObservedRun[] {
  const noise = options.noise ?? 0;
  if (!(noise >= 0) || !Number.isFinite(noise)) {
    throw new RangeError(`noise must be a finite number >= 0, got ${noise}`);
  }
  const rng = createRandom(options.seed ?? 0);
  const constants = options.constants ?? PAPER_CONSTANTS;
  return configs.map((c) => ({ ...c, loss: loss(c, constants) * Math.exp(noise * rng.normal()) }));
}

/**
 * The paper's experimental grid (spec §7, Table 3 style): N ∈ {41M, 85M, 154M, 679M} ×
 * D ∈ {10B, 20B, 50B, 100B} × 22 format/block configurations (E1M1 at B = 32..512, the rest
 * channel-wise). 352 configurations, a stand-in for the paper's 359 runs.
 *
 * @returns The configurations.
 *
 * @example
 * ```ts
 * import { paperGrid } from "@fp4lab/scaling-law";
 * import assert from "node:assert/strict";
 * assert.equal(paperGrid().length, 352);
 * ```
 */
export function paperGrid(): TrainingRun[] {
  const sizes = [40_894_464, 84_934_656, 154_140_672, 679_477_248];
  const tokens = [10_485_760_000, 20_971_520_000, 52_428_800_000, 104_857_600_000];
  const formats: [number, number, number][] = [
    [0, 7, CHANNEL_LOG2_BLOCK],
    ...[5, 6, 7, 8, 9].map((lb): [number, number, number] => [1, 1, lb]),
    [1, 1, CHANNEL_LOG2_BLOCK],
    ...[2, 3, 4, 5, 6].map((m): [number, number, number] => [1, m, CHANNEL_LOG2_BLOCK]),
    ...[[2, 1], [2, 3], [3, 1], [3, 2], [4, 1], [4, 3], [4, 5], [5, 1], [5, 2], [6, 1]].map((
      [e, m],
    ): [number, number, number] => [e, m, CHANNEL_LOG2_BLOCK]),
  ];
  const grid: TrainingRun[] = [];
  for (const params of sizes) {
    for (const d of tokens) {
      for (const [exponentBits, mantissaBits, log2Block] of formats) {
        grid.push({ params, tokens: d, exponentBits, mantissaBits, log2Block });
      }
    }
  }
  return grid;
}
