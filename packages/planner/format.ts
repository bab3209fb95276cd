// Human-readable output: numbers with units, aligned tables, CSV.

/** `1.73e15` rather than `1.73e+15`. */
export function sci(x: number, digits = 2): string {
  if (!Number.isFinite(x)) return x > 0 ? "inf" : x < 0 ? "-inf" : "nan";
  return x.toExponential(digits).replace("e+", "e");
}

const UNITS: [number, string][] = [[1e12, "T"], [1e9, "B"], [1e6, "M"], [1e3, "K"]];

/** `1730T`, `393B`, `27.3T`: three significant digits with a K/M/B/T suffix. */
export function short(x: number): string {
  if (!Number.isFinite(x)) return "inf";
  for (const [unit, suffix] of UNITS) {
    if (x >= unit) return `${Number((x / unit).toPrecision(3))}${suffix}`;
  }
  return `${Number(x.toPrecision(3))}`;
}

/** `1.73e15 tokens (1730T)`. */
export function count(x: number, unit: string): string {
  if (!Number.isFinite(x)) return `infinite ${unit}`;
  return `${sci(x)} ${unit} (${short(x)})`;
}

/** A ratio: three significant digits, scientific outside [0.01, 1000). */
export function ratio(x: number): string {
  return x >= 1000 || x < 0.01 ? sci(x) : x.toPrecision(3);
}

/** Fixed decimals for losses. */
export function fixed(x: number, digits = 6): string {
  return Number.isFinite(x) ? x.toFixed(digits) : String(x);
}

/**
 * A table: column names and rows of cells, all strings.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { Table } from "@fp4lab/planner";
 * const t: Table = { columns: ["format", "bits"], rows: [["E2M1", "4"]] };
 * assert.equal(t.rows[0][0], "E2M1");
 * ```
 */
export interface Table {
  /** Column names. */
  columns: string[];
  /** Rows, one cell per column. */
  rows: string[][];
}

/**
 * Left-aligned columns, two spaces apart, a rule under the header.
 *
 * @param table the table
 * @returns the lines joined by "\n", no trailing newline
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderTable } from "@fp4lab/planner";
 * assert.equal(
 *   renderTable({ columns: ["a", "bb"], rows: [["123", "x"]] }),
 *   "a    bb\n---  --\n123  x",
 * );
 * ```
 */
export function renderTable(table: Table): string {
  const widths = table.columns.map((c, j) =>
    Math.max(c.length, ...table.rows.map((r) => (r[j] ?? "").length))
  );
  const line = (cells: string[]) =>
    cells.map((c, j) => (c ?? "").padEnd(widths[j])).join("  ").trimEnd();
  return [
    line(table.columns),
    line(widths.map((w) => "-".repeat(w))),
    ...table.rows.map(line),
  ].join("\n");
}

/**
 * RFC 4180-style CSV (cells quoted only when they need it), snake_case column names.
 *
 * @param table the table
 * @returns the CSV text, ending in a newline
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderCsv } from "@fp4lab/planner";
 * assert.equal(
 *   renderCsv({ columns: ["exponentBits"], rows: [["2"], ["a,b"]] }),
 *   'exponent_bits\n2\n"a,b"\n',
 * );
 * ```
 */
export function renderCsv(table: Table): string {
  const cell = (s: string) => (/[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);
  const header = table.columns.map((c) => c.replace(/[A-Z]/g, (m) => "_" + m.toLowerCase()));
  return [header, ...table.rows].map((r) => r.map(cell).join(",")).join("\n") + "\n";
}
