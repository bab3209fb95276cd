/**
 * The planner page's form as data: which inputs each planner command gets, how a slider maps to
 * the flag's text, and how the inputs travel in a shareable URL and as the equivalent CLI
 * command. The numbers themselves come from `@fp4lab/planner`, the code behind
 * `deno task plan`.
 *
 * @module
 */
import { resolveFormat } from "@fp4lab/scaling-law";

/** A slider bound to a text field: reads the slider position from the text, writes it back. */
export interface Slider {
  /** accessible label */
  readonly label: string;
  readonly min: number;
  readonly max: number;
  readonly step: number;
  /** slider position for the field's text; undefined when the text has none */
  read(text: string): number | undefined;
  /** the field's new text for a slider position (the text before, for sliders sharing a field) */
  write(position: number, text: string): string;
  /** the position shown beside the slider */
  show(position: number): string;
}

/** One input of a command's form: a flag of `deno task plan <command>`. */
export interface Field {
  /** the flag without dashes */
  readonly flag: string;
  readonly label: string;
  /** initial text; "" leaves the flag out (the CLI's default) */
  readonly initial: string;
  /** what to type, shown under the field */
  readonly hint: string;
  /** a multi-line field (the runs CSV) */
  readonly multiline?: boolean;
  /** choices offered (a datalist; still free text) */
  readonly suggestions?: readonly string[];
  readonly sliders?: readonly Slider[];
}

const SUFFIX: Record<string, number> = { k: 1e3, m: 1e6, b: 1e9, g: 1e9, t: 1e12, p: 1e15 };

/**
 * A planner number as the CLI reads it (`1e9`, `7B`, `1.5T`), or NaN.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parsePlannerNumber } from "./planner_form.ts";
 * assert.equal(parsePlannerNumber("7B"), 7e9);
 * assert.ok(Number.isNaN(parsePlannerNumber("x")));
 * ```
 */
export function parsePlannerNumber(text: string): number {
  const m = /^\s*([0-9.]+(?:e[+-]?\d+)?)\s*([kmbgtp]?)\s*$/i.exec(text);
  return m ? Number(m[1]) * (m[2] ? SUFFIX[m[2].toLowerCase()] : 1) : NaN;
}

/**
 * 10^x written the way a person types it: `1e9`, `3.16e9`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pow10Text } from "./planner_form.ts";
 * assert.deepEqual([pow10Text(9), pow10Text(9.5), pow10Text(12.999)], ["1e9", "3.16e9", "9.98e12"]);
 * assert.equal(pow10Text(12.9999), "1e13"); // 9.9977 rounds to 10.00: carried into the exponent
 * ```
 */
export function pow10Text(x: number): string {
  let e = Math.floor(x + 1e-9);
  let m = Math.round(10 ** (x - e) * 100) / 100;
  if (m >= 10) {
    m = 1;
    e += 1;
  }
  return m === 1 ? `1e${e}` : `${m}e${e}`;
}

function log10Slider(label: string, min: number, max: number): Slider {
  return {
    label,
    min,
    max,
    step: 0.05,
    read: (text) => {
      const v = parsePlannerNumber(text);
      return v > 0 ? Math.log10(v) : undefined;
    },
    write: (x) => pow10Text(x),
    show: (x) => pow10Text(x),
  };
}

const BLOCK_SLIDER: Slider = {
  label: "block size (log2)",
  min: 0,
  max: 12,
  step: 1,
  read: (
    text,
  ) => (/^\s*\d+\s*$/.test(text) && Number(text) >= 1 ? Math.log2(Number(text)) : undefined),
  write: (x) => String(2 ** Math.round(x)),
  show: (x) => `B = ${2 ** Math.round(x)}`,
};

function layoutOf(text: string): [number, number] | undefined {
  try {
    const l = resolveFormat(text);
    return [l.exponentBits, l.mantissaBits];
  } catch {
    return undefined;
  }
}

/** Sliders for exponent and mantissa bits of a single-format field. */
const FORMAT_SLIDERS: readonly Slider[] = [
  {
    label: "exponent bits E",
    min: 0,
    max: 8,
    step: 1,
    read: (text) => layoutOf(text)?.[0],
    write: (e, text) => `E${Math.round(e)}M${layoutOf(text)?.[1] ?? 1}`,
    show: (e) => `E = ${Math.round(e)}`,
  },
  {
    label: "mantissa bits M",
    min: 0,
    max: 10,
    step: 1,
    read: (text) => layoutOf(text)?.[1],
    write: (m, text) => `E${layoutOf(text)?.[0] ?? 2}M${Math.round(m)}`,
    show: (m) => `M = ${Math.round(m)}`,
  },
];

const PARAMS: Field = {
  flag: "params",
  label: "Parameters N",
  initial: "1e9",
  hint: "non-embedding parameters: 1e9, 7B, 300M",
  sliders: [log10Slider("parameters N (log10)", 6, 13)],
};
const TOKENS: Field = {
  flag: "tokens",
  label: "Tokens D",
  initial: "1e12",
  hint: "training tokens: 1e12, 1.5T",
  sliders: [log10Slider("tokens D (log10)", 8, 16)],
};
const BLOCK: Field = {
  flag: "block",
  label: "Scaling block B",
  initial: "128",
  hint: "a block size, channel (log2 B = 13.1567) or none (no penalty)",
  suggestions: ["16", "32", "64", "128", "256", "channel", "none"],
  sliders: [BLOCK_SLIDER],
};
const COMPUTE: Field = {
  flag: "compute",
  label: "Compute C (FLOPs)",
  initial: "1e24",
  hint: "FLOPs: 1e24",
  sliders: [log10Slider("compute C (log10 FLOPs)", 18, 33)],
};
const K: Field = {
  flag: "k",
  label: "k (FLOPs per parameter, token and bit)",
  initial: "",
  hint: "empty: 0.375 (a 16-bit run costs 6 N D)",
};

/** The inputs of each planner command, by command name. */
export const FORMS: Readonly<Record<string, readonly Field[]>> = {
  loss: [
    PARAMS,
    TOKENS,
    {
      flag: "format",
      label: "Format",
      initial: "E2M1",
      hint: "ExMy (E2M1, e4m3) or fp4, fp8, bf16, fp16, fp32",
      suggestions: ["E2M1", "E3M2", "E2M3", "E4M3", "E5M2", "bf16", "fp16", "fp32"],
      sliders: FORMAT_SLIDERS,
    },
    BLOCK,
  ],
  dcrit: [
    PARAMS,
    {
      flag: "format",
      label: "Formats",
      initial: "bf16,e4m3,e2m1",
      hint: "one format or a comma list: bf16,e4m3,e2m1",
    },
    BLOCK,
  ],
  format: [
    {
      flag: "bits",
      label: "Bits P",
      initial: "4",
      hint: "total bits 1..64 (sign included), or a range such as 1-16",
      sliders: [{
        label: "bits P",
        min: 1,
        max: 16,
        step: 1,
        read: (text) => (/^\s*\d+\s*$/.test(text) ? Number(text) : undefined),
        write: (p) => String(Math.round(p)),
        show: (p) => `P = ${Math.round(p)}`,
      }],
    },
    { ...PARAMS, hint: "for the heatmap's penalty: " + PARAMS.hint },
    { ...TOKENS, hint: "for the heatmap's penalty: " + TOKENS.hint },
    BLOCK,
  ],
  budget: [
    COMPUTE,
    { ...BLOCK, suggestions: ["16", "32", "64", "128", "256", "channel"] },
    {
      ...PARAMS,
      initial: "",
      label: "Hold N fixed (optional)",
      hint: "empty: optimise N too",
      sliders: undefined,
    },
    {
      ...TOKENS,
      initial: "",
      label: "Hold D fixed (optional)",
      hint: "empty: optimise D too",
      sliders: undefined,
    },
    K,
  ],
  tradeoff: [
    COMPUTE,
    {
      flag: "params",
      label: "Model sizes N",
      initial: "",
      hint: "comma list; empty: 1e8,1e9,...,1e13",
    },
    { ...BLOCK, suggestions: ["16", "32", "64", "128", "256", "channel"] },
    K,
  ],
  fit: [
    {
      flag: "runs",
      label: "Runs (CSV)",
      initial: "",
      hint:
        "columns params,tokens,exponent_bits,mantissa_bits,block,loss (the trainer's sweep writes it)",
      multiline: true,
    },
    { flag: "bootstrap", label: "Bootstrap resamples", initial: "50", hint: "0 for none" },
    { flag: "confidence", label: "Confidence", initial: "", hint: "empty: 0.95" },
    {
      flag: "robust",
      label: "Loss",
      initial: "",
      hint: "l2 (default) or huber",
      suggestions: ["l2", "huber"],
    },
    { flag: "huber-delta", label: "Huber delta", initial: "", hint: "empty: 1e-3" },
    { flag: "fix", label: "Hold constants fixed", initial: "", hint: "e.g. alpha,beta" },
    { flag: "seed", label: "Seed", initial: "", hint: "empty: 0" },
  ],
};

/** The file name the runs CSV goes by on the page, in messages and in the CLI line. */
export const RUNS_FILE = "runs.csv";

/** A command and its inputs' texts, by flag. */
export interface PlannerState {
  readonly command: string;
  readonly inputs: Readonly<Record<string, string>>;
}

/**
 * The state in a page URL's query (`?cmd=loss&params=7B`); unknown commands fall back to `loss`,
 * missing inputs to their initial text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { stateFromQuery } from "./planner_form.ts";
 * const s = stateFromQuery("?cmd=dcrit&params=7B");
 * assert.deepEqual([s.command, s.inputs.params, s.inputs.block], ["dcrit", "7B", "128"]);
 * ```
 */
export function stateFromQuery(search: string): PlannerState {
  const q = new URLSearchParams(search);
  const name = q.get("cmd") ?? "loss";
  const command = name in FORMS ? name : "loss";
  const inputs: Record<string, string> = {};
  for (const f of FORMS[command]) inputs[f.flag] = q.get(f.flag) ?? f.initial;
  return { command, inputs };
}

/**
 * The query string for a state: every input that differs from its initial text is written, so
 * a link keeps meaning the same numbers while the page's defaults stay as they are.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { queryFromState } from "./planner_form.ts";
 * assert.equal(
 *   queryFromState({ command: "loss", inputs: { params: "7B", tokens: "1e12" } }),
 *   "?cmd=loss&params=7B",
 * );
 * ```
 */
export function queryFromState(state: PlannerState): string {
  const q = new URLSearchParams({ cmd: state.command });
  for (const f of FORMS[state.command]) {
    const v = state.inputs[f.flag];
    if (v !== undefined && v !== f.initial) q.set(f.flag, v);
  }
  return `?${q}`;
}

/**
 * The flag values to hand the command: every non-empty input, trimmed; the runs CSV goes by
 * {@link RUNS_FILE}.
 */
export function valuesFromState(state: PlannerState): Record<string, string> {
  const values: Record<string, string> = {};
  for (const f of FORMS[state.command]) {
    const v = (state.inputs[f.flag] ?? "").trim();
    if (v === "") continue;
    values[f.flag] = f.flag === "runs" ? RUNS_FILE : v;
  }
  return values;
}

/**
 * The `deno task plan` arguments that compute the same result (after `deno task plan`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cliArgs } from "./planner_form.ts";
 * assert.deepEqual(
 *   cliArgs({ command: "loss", inputs: { params: "7B", tokens: "1T", format: "fp4", block: "" } }),
 *   ["loss", "--params", "7B", "--tokens", "1T", "--format", "fp4"],
 * );
 * ```
 */
export function cliArgs(state: PlannerState): string[] {
  const args = [state.command];
  for (const [flag, value] of Object.entries(valuesFromState(state))) args.push(`--${flag}`, value);
  return args;
}
