import { continuousLayout, formatFactor, lossTerms, optimalLayout } from "@fp4lab/scaling-law";
import * as args from "../args.ts";
import { type Command, str } from "../command.ts";
import { renderTable, sci, short } from "../format.ts";

export const formatCommand: Command = {
  name: "format",
  summary: "the best ExMy split of P bits (P = 1 + E + M)",
  usage: `plan format --bits P | --bits A-B [--params N --tokens D --block B]

The exponent/mantissa split that minimises the precision penalty for P total bits (sign
included): maximise (E+0.5)^d (M+0.5)^v with E + M = P - 1. The continuous optimum is
E + 0.5 : M + 0.5 = d : v (slightly more exponent than mantissa).

  --bits P      total bits, 1..64, or a range such as 1-16 for the whole table
  --svg FILE    heatmap of the predicted penalty over (E, M) with the optimum per P marked;
                the penalty is in loss units at --params (default 1e9), --tokens (default
                1e12) and --block (default 128)
JSON: an array, one object {bits, format, exponentBits, mantissaBits, ...} per P (one P too:
always an array).`,
  flags: ["bits", "params", "tokens", "block"],
  run(values, constants) {
    const raw = str(values, "bits");
    if (raw === undefined) throw new args.UsageError("--bits is required (e.g. 4, or 1-16)");
    const range = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(raw);
    let from: number, to: number;
    if (range) {
      from = args.integer("bits", range[1], 1, 64);
      to = args.integer("bits", range[2], 1, 64);
      if (to < from) throw new args.UsageError(`--bits range must be low-high, got "${raw}"`);
    } else {
      from = to = args.integer("bits", raw, 1, 64);
    }
    const params = args.positive("params", str(values, "params") ?? "1e9");
    const tokens = args.positive("tokens", str(values, "tokens") ?? "1e12");
    const block = args.block(str(values, "block"));
    const rows = [];
    for (let p = from; p <= to; p++) {
      const best = optimalLayout(p, constants);
      const cont = continuousLayout(p, constants);
      rows.push({
        bits: p,
        format: best.name,
        exponentBits: best.exponentBits,
        mantissaBits: best.mantissaBits,
        continuousExponentBits: cont.exponentBits,
        continuousMantissaBits: cont.mantissaBits,
        formatFactor: formatFactor(best.exponentBits, best.mantissaBits, constants),
      });
    }
    const human = [
      `Best ExMy split per bit budget (P = 1 + E + M; continuous optimum E+0.5 : M+0.5 = ${
        constants.delta.toFixed(4)
      } : ${constants.nu.toFixed(4)})`,
      ``,
      renderTable({
        columns: ["bits", "format", "E", "M", "continuous E / M", "(E+.5)^-d (M+.5)^-v"],
        rows: rows.map((r) => [
          String(r.bits),
          r.format,
          String(r.exponentBits),
          String(r.mantissaBits),
          `${r.continuousExponentBits.toFixed(2)} / ${r.continuousMantissaBits.toFixed(2)}`,
          sci(r.formatFactor, 3),
        ]),
      }),
    ].join("\n");
    // Heatmap over (E, M): wide enough to show every marked optimum.
    const maxE = Math.max(8, ...rows.map((r) => r.exponentBits));
    const maxM = Math.max(10, ...rows.map((r) => r.mantissaBits));
    const cells: { E: number; M: number; penalty: number; log10Penalty: number }[] = [];
    for (let e = 0; e <= maxE; e++) {
      for (let m = 0; m <= maxM; m++) {
        const t = lossTerms({
          params,
          tokens,
          exponentBits: e,
          mantissaBits: m,
          log2Block: block.log2Block,
        }, constants);
        cells.push({
          E: e,
          M: m,
          penalty: t.penalty,
          log10Penalty: Math.log10(Math.max(t.penalty, 1e-300)),
        });
      }
    }
    const best = rows.map((r) => ({ E: r.exponentBits, M: r.mantissaBits, label: `${r.bits}b` }));
    const x = { field: "M", type: "ordinal", title: "mantissa bits M" };
    const y = { field: "E", type: "ordinal", title: "exponent bits E", sort: "descending" };
    return {
      json: rows.map((r) => ({
        format: r.format,
        exponentBits: r.exponentBits,
        mantissaBits: r.mantissaBits,
        bits: r.bits,
        continuousExponentBits: r.continuousExponentBits,
        continuousMantissaBits: r.continuousMantissaBits,
      })),
      human,
      table: {
        columns: [
          "bits",
          "format",
          "exponent_bits",
          "mantissa_bits",
          "continuous_exponent_bits",
          "continuous_mantissa_bits",
        ],
        rows: rows.map((r) => [
          String(r.bits),
          r.format,
          String(r.exponentBits),
          String(r.mantissaBits),
          String(r.continuousExponentBits),
          String(r.continuousMantissaBits),
        ]),
      },
      plot: () => ({
        title: {
          text: "Predicted precision penalty over (E, M), best split per bit budget marked",
          subtitle: `N = ${short(params)}, D = ${short(tokens)}, ${args.describeBlock(block)}`,
        },
        layer: [
          {
            data: { values: cells },
            mark: "rect",
            encoding: {
              x,
              y,
              color: {
                field: "log10Penalty",
                type: "quantitative",
                title: "log10 penalty",
                scale: { scheme: "viridis", reverse: true },
              },
              tooltip: [{ field: "E" }, { field: "M" }, { field: "penalty", type: "quantitative" }],
            },
          },
          {
            data: { values: best },
            mark: { type: "text", fontSize: 9, color: "white", fontWeight: "bold" },
            encoding: { x, y, text: { field: "label" } },
          },
        ],
        width: Math.max(420, 40 * (maxM + 1)),
        height: 30 * (maxE + 1),
      }),
    };
  },
};
