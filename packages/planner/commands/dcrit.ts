import { criticalTokens, loss } from "@fp4lab/scaling-law";
import * as args from "../args.ts";
import { type Command, str } from "../command.ts";
import { count, fixed, renderTable } from "../format.ts";
import { lossCurvePlot } from "./curves.ts";

/** A format as the user typed it, with its ExMy name when that differs ("bf16 (E8M7)"). */
function typedName(typed: string, name: string): string {
  return typed.toUpperCase() === name ? name : `${typed} (${name})`;
}

export const dcritCommand: Command = {
  name: "dcrit",
  summary: "critical data size: the token count past which more data raises the loss",
  usage: `plan dcrit --params N --format F[,F...] [--block B]

The critical data size D_crit = [d g N^a (E+0.5)^d (M+0.5)^v / log2 B]^(1/2b): below it more
tokens lower the loss, beyond it the precision penalty (which grows as D^b) wins and more tokens
raise it. Shows the loss at D_crit too.

  --params N    non-embedding parameters (1e9, 7B)
  --format F    one format or a comma list (E2M1, e4m3, bf16, fp8,fp4)
  --block B     scaling block: a number (default 128), channel or none
  --svg FILE    plot loss vs tokens for each format, D_crit marked
JSON: an array, one object {criticalTokens, loss, ...} per format in the order given (one format
too: always an array).`,
  flags: ["params", "format", "block"],
  run(values, constants) {
    const params = args.positive("params", str(values, "params"));
    const raw = str(values, "format");
    if (!raw) throw new args.UsageError("--format is required (e.g. E4M3, or bf16,e4m3,e2m1)");
    const typed = raw.split(",").map((f) => f.trim());
    const formats = typed.map((f) => args.format(f));
    const block = args.block(str(values, "block"));
    const rows = formats.map((f) => {
      const m = {
        params,
        exponentBits: f.exponentBits,
        mantissaBits: f.mantissaBits,
        log2Block: block.log2Block,
      };
      const crit = criticalTokens(m, constants);
      return {
        criticalTokens: Number.isFinite(crit) ? crit : null,
        loss: Number.isFinite(crit) ? loss({ ...m, tokens: crit }, constants) : null,
        params,
        format: f.name,
        exponentBits: f.exponentBits,
        mantissaBits: f.mantissaBits,
        block: block.label,
        log2Block: block.log2Block,
      };
    });
    const human = [
      `Critical data size: N = ${count(params, "params")}, ${args.describeBlock(block)}`,
      ``,
      renderTable({
        columns: ["format", "critical data size", "loss there"],
        rows: rows.map((r) => [
          r.format,
          r.criticalTokens === null ? "none (no penalty)" : count(r.criticalTokens, "tokens"),
          r.loss === null ? "-" : fixed(r.loss),
        ]),
      }),
      ``,
      `Past D_crit more tokens raise the loss: train longer only in a wider format.`,
    ].join("\n");
    const columns = Object.keys(rows[0]);
    return {
      json: rows,
      human,
      table: {
        columns,
        rows: rows.map((r) => Object.values(r).map((v) => (v === null ? "" : String(v)))),
      },
      // The legend says what was typed, with the format it stands for: "bf16 (E8M7)".
      plot: () =>
        lossCurvePlot(
          params,
          formats.map((f, i) => ({ ...f, name: typedName(typed[i], f.name) })),
          block.log2Block,
          args.describeBlock(block),
          constants,
        ),
    };
  },
};
