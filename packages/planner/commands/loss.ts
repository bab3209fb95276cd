import { criticalTokens, lossTerms } from "@fp4lab/scaling-law";
import * as args from "../args.ts";
import { type Command, str } from "../command.ts";
import { count, fixed } from "../format.ts";
import { lossCurvePlot } from "./curves.ts";

export const lossCommand: Command = {
  name: "loss",
  summary: "predicted loss of one run, split into the Chinchilla part and the precision penalty",
  usage: `plan loss --params N --tokens D --format F [--block B]

Predicts the final loss of a run with the unified law
  L = n/N^a + d/D^b + e + (D^b/N^a) * log2 B / (g (E+0.5)^d (M+0.5)^v)
and shows each part: the Chinchilla (unquantized) loss and the precision penalty.

  --params N    non-embedding parameters (1e9, 7B, 300M)
  --tokens D    training tokens (1e12, 1T)
  --format F    ExMy (E2M1, e4m3) or fp4, fp8, bf16, fp16, fp32
  --block B     scaling block: a number (default 128), channel or none
  --svg FILE    plot loss vs tokens for this format (and BF16), D_crit marked`,
  flags: ["params", "tokens", "format", "block"],
  run(values, constants) {
    const params = args.positive("params", str(values, "params"));
    const tokens = args.positive("tokens", str(values, "tokens"));
    const format = args.format(str(values, "format"));
    const block = args.block(str(values, "block"));
    const run = {
      params,
      tokens,
      exponentBits: format.exponentBits,
      mantissaBits: format.mantissaBits,
      log2Block: block.log2Block,
    };
    const t = lossTerms(run, constants);
    const crit = criticalTokens(run, constants);
    const json = {
      loss: t.loss,
      chinchilla: t.chinchilla,
      penalty: t.penalty,
      paramsTerm: t.paramsTerm,
      tokensTerm: t.tokensTerm,
      irreducible: t.irreducible,
      params,
      tokens,
      format: format.name,
      exponentBits: format.exponentBits,
      mantissaBits: format.mantissaBits,
      block: block.label,
      log2Block: block.log2Block,
      criticalTokens: Number.isFinite(crit) ? crit : null,
    };
    const share = (100 * t.penalty / t.loss).toFixed(2);
    const critLine = Number.isFinite(crit)
      ? `${count(crit, "tokens")}: ${
        tokens > crit ? "this run is past it, more tokens raise the loss" : "more tokens still help"
      }`
      : "none (B = 1 has no precision penalty)";
    const human = [
      `Predicted loss: N = ${count(params, "params")}, D = ${
        count(tokens, "tokens")
      }, ${format.name}, ${args.describeBlock(block)}`,
      ``,
      `  loss                ${fixed(t.loss)}`,
      `  Chinchilla (BF16)   ${fixed(t.chinchilla)}  = n/N^a ${fixed(t.paramsTerm)} + d/D^b ${
        fixed(t.tokensTerm)
      } + e ${fixed(t.irreducible)}`,
      `  precision penalty   ${fixed(t.penalty)}  (${share}% of the loss)`,
      `  critical data size  ${critLine}`,
    ].join("\n");
    const formats = format.name === "E8M7" ? [format] : [args.format("bf16"), format];
    return {
      json,
      human,
      table: {
        columns: Object.keys(json),
        rows: [Object.values(json).map((v) => (v === null ? "" : String(v)))],
      },
      plot: () =>
        lossCurvePlot(params, formats, block.log2Block, args.describeBlock(block), constants),
    };
  },
};
