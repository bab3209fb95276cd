import {
  derivedConstants,
  optimalLayout,
  optimalPrecisionForParams,
  PAPER_COMPUTE_FACTOR,
  paramsPerBit,
  tradeoff,
  tradeoffConstant,
} from "@fp4lab/scaling-law";
import * as args from "../args.ts";
import { checkLawAnswer } from "../range.ts";
import { type Command, str } from "../command.ts";
import { count, fixed, renderTable, sci } from "../format.ts";
import { LOG_LABEL } from "./curves.ts";

export const tradeoffCommand: Command = {
  name: "tradeoff",
  summary: "the precision/parameter trade-off at a fixed compute budget",
  usage: `plan tradeoff --compute C [--params N,N,...] [--block B] [--k K]

At a fixed budget, each model size N has its own compute-optimal precision, and the pairs obey
P^(d+v+2b) * N^(a+2b) = const (paper Eq. 24). The table lists (N, best P) pairs; one bit less
of precision is worth a factor ((P+1)/P)^((d+v+2b)/(a+2b)) more parameters.

  --compute C   FLOPs (1e24)
  --params L    model sizes, comma list (default 1e8,1e9,...,1e13)
  --block B     scaling block: a number (default 128) or channel
  --k K         FLOPs per parameter, token and bit (default 0.375)
  --svg FILE    plot best precision vs model size`,
  flags: ["compute", "params", "block", "k"],
  run(values, constants) {
    const compute = args.positive("compute", str(values, "compute"));
    const sizes = str(values, "params") === undefined
      ? [1e8, 1e9, 1e10, 1e11, 1e12, 1e13]
      : args.positiveList("params", str(values, "params"));
    const block = args.block(str(values, "block"));
    if (block.log2Block === 0) {
      throw new args.UsageError(
        "--block none has no precision penalty, so no trade-off: use a block size or channel",
      );
    }
    const kRaw = str(values, "k");
    const k = kRaw === undefined ? PAPER_COMPUTE_FACTOR : args.positive("k", kRaw);
    for (const n of sizes) {
      const p = optimalPrecisionForParams(n, compute, block.log2Block, k, constants);
      checkLawAnswer(
        `at ${sci(compute)} FLOPs and N = ${sci(n)}`,
        { precision: p, params: n, tokens: compute / (k * p * n) },
        "give a --compute and --params the law can answer (N >= 1, P >= 1 bit)",
      );
    }
    const rows = tradeoff(compute, sizes, block.log2Block, k, constants);
    const dc = derivedConstants(constants);
    const pExp = dc.deltaPlusNu + 2 * constants.beta;
    const nExp = constants.alpha + 2 * constants.beta;
    const out = rows.map((r) => {
      const p = Math.round(r.precision);
      return {
        params: r.params,
        precision: r.precision,
        format: p >= 1 && p <= 64 ? optimalLayout(p, constants).name : null,
        tokens: r.tokens,
        loss: r.loss,
        paramsPerBit: paramsPerBit(r.precision, constants),
      };
    });
    const json = {
      compute,
      block: block.label,
      log2Block: block.log2Block,
      k,
      precisionExponent: pExp,
      paramsExponent: nExp,
      constant: tradeoffConstant(compute, block.log2Block, k, constants),
      rows: out,
    };
    const human = [
      `Precision/parameter trade-off at C = ${sci(compute)} FLOPs, ${
        args.describeBlock(block)
      }, k = ${k}`,
      `P^${pExp.toFixed(4)} * N^${nExp.toFixed(4)} = ${sci(json.constant, 4)} for every row`,
      ``,
      renderTable({
        columns: ["params", "best P", "format", "tokens", "loss", "1 bit less buys"],
        rows: out.map((r) => [
          count(r.params, "params"),
          r.precision.toFixed(3),
          r.format ?? "-",
          count(r.tokens, "tokens"),
          fixed(r.loss),
          `x${r.paramsPerBit.toFixed(2)} params`,
        ]),
      }),
      ``,
      `Doubling N lowers the best P by x${(2 ** (-nExp / pExp)).toFixed(3)}.`,
    ].join("\n");
    const values_: { params: number; precision: number; series: string }[] = [];
    for (
      let e = Math.log10(Math.min(...sizes));
      e <= Math.log10(Math.max(...sizes)) + 1e-9;
      e += 0.05
    ) {
      const [r] = tradeoff(compute, [10 ** e], block.log2Block, k, constants);
      values_.push({ params: r.params, precision: r.precision, series: "best P(N)" });
    }
    const x = {
      field: "params",
      type: "quantitative",
      scale: { type: "log" },
      title: "parameters N",
      axis: { labelExpr: LOG_LABEL },
    };
    const y = {
      field: "precision",
      type: "quantitative",
      scale: { zero: false },
      title: "best precision P (bits)",
    };
    return {
      json,
      human,
      table: {
        columns: ["params", "precision", "format", "tokens", "loss", "params_per_bit"],
        rows: out.map((r) =>
          [r.params, r.precision, r.format ?? "", r.tokens, r.loss, r.paramsPerBit].map(String)
        ),
      },
      plot: () => ({
        title: `Precision/parameter trade-off at C = ${sci(compute)} FLOPs, ${
          args.describeBlock(block)
        }`,
        layer: [
          {
            data: { values: values_ },
            mark: "line",
            encoding: {
              x,
              y,
              color: {
                field: "series",
                type: "nominal",
                title: null,
                legend: { orient: "bottom" },
              },
            },
          },
          {
            data: { values: out.map((r) => ({ ...r, series: "table rows" })) },
            mark: { type: "point", filled: true },
            encoding: {
              x,
              y,
              color: {
                field: "series",
                type: "nominal",
                title: null,
                legend: { orient: "bottom" },
              },
            },
          },
        ],
      }),
    };
  },
};
