import {
  CONSTANT_NAMES,
  type ConstantName,
  fitConstants,
  type ObservedRun,
  PAPER_CONSTANTS,
  parseRunsCsv,
} from "@fp4lab/scaling-law";
import * as args from "../args.ts";
import { type Command, NO_FILES, str } from "../command.ts";
import { renderTable } from "../format.ts";

export const fitCommand: Command = {
  name: "fit",
  summary: "refit the law's constants to your own runs, with bootstrap intervals",
  usage: `plan fit --runs runs.csv [--bootstrap 200] [--confidence 0.95] [--robust l2|huber]
         [--huber-delta 1e-3] [--fix alpha,beta] [--seed 0] [--save-constants constants.json]

Fits n, alpha, d, beta, epsilon, gamma, delta, nu by Levenberg-Marquardt on ln(loss), starting
from the paper's constants (or --constants FILE), with percentile bootstrap intervals over runs
resampled with replacement.

  --runs FILE       CSV with columns params,tokens,exponent_bits,mantissa_bits,block,loss
                    (block: a number, channel or none); the trainer's sweep writes it
  --bootstrap B     resamples for the intervals (default 200, 0 for none)
  --confidence X    interval level (default 0.95)
  --robust R        l2 (default) or huber on the log residuals
  --huber-delta X   Huber threshold in log-loss units (default 1e-3)
  --fix LIST        constants held at their starting value, e.g. alpha,beta
  --seed S          bootstrap seed (default 0)
  --save-constants FILE  write the fit as JSON; pass it to --constants of any command
                    (formerly --out, still accepted: --out names a folder in train)
  --csv             the constants table; --json has the residuals of every run too
  --svg FILE        predicted vs observed loss`,
  flags: [
    "runs",
    "bootstrap",
    "confidence",
    "robust",
    "huber-delta",
    "fix",
    "seed",
    "save-constants",
  ],
  run(values, constants, files = NO_FILES) {
    const path = str(values, "runs");
    if (!path) {
      throw new args.UsageError(
        "--runs is required (a CSV: params,tokens,exponent_bits,mantissa_bits,block,loss)",
      );
    }
    let text: string;
    try {
      text = files.readText(path);
    } catch (e) {
      throw new args.UsageError(`--runs: cannot read ${path}: ${(e as Error).message}`);
    }
    let runs: ObservedRun[];
    try {
      runs = parseRunsCsv(text);
    } catch (e) {
      throw new args.UsageError(`--runs ${path}: ${(e as Error).message}`);
    }
    const bootstrap = args.integer("bootstrap", str(values, "bootstrap") ?? "200", 0, 100000);
    const confidence = Number(str(values, "confidence") ?? "0.95");
    if (!(confidence > 0 && confidence < 1)) {
      throw new args.UsageError(
        `--confidence must be in (0, 1), got "${str(values, "confidence")}"`,
      );
    }
    const robust = str(values, "robust") ?? "l2";
    if (robust !== "l2" && robust !== "huber") {
      throw new args.UsageError(`--robust must be l2 or huber, got "${robust}"`);
    }
    const huberDelta = args.positive("huber-delta", str(values, "huber-delta") ?? "1e-3");
    const fixRaw = str(values, "fix");
    const fixed = fixRaw ? fixRaw.split(",").map((s) => s.trim()) : [];
    for (const name of fixed) {
      if (!(CONSTANT_NAMES as readonly string[]).includes(name)) {
        throw new args.UsageError(
          `--fix: unknown constant "${name}" (allowed: ${CONSTANT_NAMES.join(", ")})`,
        );
      }
    }
    if (runs.length < CONSTANT_NAMES.length - fixed.length) {
      throw new args.UsageError(
        `--runs ${path}: ${runs.length} runs cannot fit ${
          CONSTANT_NAMES.length - fixed.length
        } constants`,
      );
    }
    const seed = args.integer("seed", str(values, "seed") ?? "0", -(2 ** 31), 2 ** 31 - 1);
    const fit = fitConstants(runs, {
      initial: constants,
      fixed: fixed as ConstantName[],
      robust,
      huberDelta,
      bootstrap,
      confidence,
      seed,
    });
    // Plain-words warnings about what these runs cannot determine.
    const notes: string[] = [];
    const distinct = (f: (r: ObservedRun) => number) => new Set(runs.map(f)).size;
    const spread: [string, number, string][] = [
      ["params", distinct((r) => r.params), "alpha"],
      ["tokens", distinct((r) => r.tokens), "beta"],
      ["exponent_bits", distinct((r) => r.exponentBits), "delta"],
      ["mantissa_bits", distinct((r) => r.mantissaBits), "nu"],
    ];
    for (const [column, n, constant] of spread) {
      if (n < 3 && !fixed.includes(constant)) {
        notes.push(
          `only ${n} distinct ${column} value(s): ${constant} is weakly determined (consider --fix ${constant})`,
        );
      }
    }
    if (runs.every((r) => r.log2Block === 0)) {
      notes.push("every run has block none (no penalty): gamma, delta and nu are not determined");
    }
    if (!fit.converged) notes.push("the fit did not converge: treat the constants with suspicion");
    for (const name of CONSTANT_NAMES) {
      const ci = fit.intervals?.[name];
      if (ci && !(ci[1] <= 10 * ci[0])) {
        notes.push(`${name}'s interval spans more than a factor 10`);
      }
    }
    const residuals = runs.map((r, i) => ({
      params: r.params,
      tokens: r.tokens,
      exponentBits: r.exponentBits,
      mantissaBits: r.mantissaBits,
      log2Block: r.log2Block,
      observed: r.loss,
      predicted: fit.predicted[i],
      residual: fit.residuals[i],
    }));
    const json = {
      constants: fit.constants,
      intervals: fit.intervals,
      confidence,
      runs: runs.length,
      rmse: fit.rmse,
      converged: fit.converged,
      iterations: fit.iterations,
      bootstrapSamples: fit.bootstrapSamples,
      robust,
      fixed,
      notes,
      residuals,
    };
    const out = str(values, "save-constants");
    if (out) files.writeText(out, JSON.stringify(json, null, 2) + "\n");
    const pct = Math.round(confidence * 100);
    const rows = CONSTANT_NAMES.map((name) => {
      const ci = fit.intervals?.[name];
      return [
        name,
        fit.constants[name].toPrecision(6),
        ci ? `[${ci[0].toPrecision(5)}, ${ci[1].toPrecision(5)}]` : "-",
        String(PAPER_CONSTANTS[name]),
      ];
    });
    const worst = residuals
      .map((r, i) => ({ ...r, line: i }))
      .sort((a, b) => Math.abs(b.residual) - Math.abs(a.residual))
      .slice(0, 3);
    const human = [
      `Fit of ${runs.length} runs from ${path} (${
        robust === "huber" ? `Huber, delta ${huberDelta}` : "least squares"
      } on ln loss${fixed.length ? `, fixed: ${fixed.join(", ")}` : ""})`,
      ``,
      renderTable({
        columns: [
          "constant",
          "fitted",
          `${pct}% interval (${fit.bootstrapSamples} bootstrap fits)`,
          "paper",
        ],
        rows,
      }),
      ``,
      `rms log residual ${fit.rmse.toExponential(3)} (${
        (100 * fit.rmse).toFixed(3)
      }% of the loss), ${
        fit.converged ? "converged" : "NOT converged"
      } in ${fit.iterations} iterations`,
      `largest residuals: ${
        worst.map((w) =>
          `run ${w.line + 1} (${w.residual >= 0 ? "+" : ""}${(100 * w.residual).toFixed(2)}%)`
        ).join(", ")
      }`,
      ...notes.map((n) => `note: ${n}`),
      out ? `wrote ${out}; use it with --constants ${out}` : "",
    ].filter((l, i, a) => l !== "" || i < a.length - 1).join("\n");
    const lo = Math.min(...residuals.map((r) => Math.min(r.observed, r.predicted)));
    const hi = Math.max(...residuals.map((r) => Math.max(r.observed, r.predicted)));
    return {
      json,
      human,
      table: {
        columns: ["constant", "value", "ci_low", "ci_high", "paper"],
        rows: CONSTANT_NAMES.map((name) => [
          name,
          String(fit.constants[name]),
          fit.intervals ? String(fit.intervals[name][0]) : "",
          fit.intervals ? String(fit.intervals[name][1]) : "",
          String(PAPER_CONSTANTS[name]),
        ]),
      },
      plot: () => ({
        title: `Fitted law vs observed loss (${runs.length} runs, rms log residual ${
          fit.rmse.toExponential(2)
        })`,
        layer: [
          {
            data: {
              values: [{ observed: lo, predicted: lo, series: "y = x" }, {
                observed: hi,
                predicted: hi,
                series: "y = x",
              }],
            },
            mark: { type: "line", strokeDash: [4, 4] },
            encoding: {
              x: {
                field: "observed",
                type: "quantitative",
                scale: { zero: false },
                title: "observed loss (the runs' unit)",
              },
              y: {
                field: "predicted",
                type: "quantitative",
                scale: { zero: false },
                title: "predicted loss (the runs' unit)",
              },
              color: { field: "series", type: "nominal", title: "" },
            },
          },
          {
            data: { values: residuals.map((r) => ({ ...r, series: "runs" })) },
            mark: { type: "point", filled: true, size: 20 },
            encoding: {
              x: { field: "observed", type: "quantitative" },
              y: { field: "predicted", type: "quantitative" },
              color: { field: "series", type: "nominal", title: "" },
            },
          },
        ],
      }),
    };
  },
};
