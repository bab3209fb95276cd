import {
  bestFormatPlan,
  computeOptimal,
  type ComputePlan,
  type FormatPlan,
  PAPER_COMPUTE_FACTOR,
  type ScalingLawConstants,
} from "@fp4lab/scaling-law";
import * as args from "../args.ts";
import { checkLawAnswer } from "../range.ts";
import { type Command, str } from "../command.ts";
import { count, fixed, ratio, renderTable, sci } from "../format.ts";
import { LOG_LABEL } from "./curves.ts";

interface BudgetRow {
  plan: ComputePlan;
  best: FormatPlan;
}

function computeFactor(raw: string | undefined): number {
  return raw === undefined ? PAPER_COMPUTE_FACTOR : args.positive("k", raw);
}

export const budgetCommand: Command = {
  name: "budget",
  summary: "compute-optimal precision, model size and data size for a FLOP budget",
  usage: `plan budget --compute C[,C...] [--block B] [--params N | --tokens D] [--k K]

The precision P, parameters N and tokens D that minimise the predicted loss for C FLOPs under
the cost model C = k P N D (k = 6/16 by default: a 16-bit run costs 6 N D). With neither --params
nor --tokens: the joint optimum (paper Eq. 25); with one fixed: the constrained optimum (Eq. 23 for
N, Eq. 22 for D). P is real; "format" is the best whole-bit ExMy, planned with its own N and D.

  --compute C   FLOPs (1e24), or a comma list
  --block B     scaling block: a number (default 128), channel (none has no optimum)
  --params N    hold the model size fixed
  --tokens D    hold the data size fixed
  --k K         FLOPs per parameter, token and bit (default 0.375)
  --svg FILE    plot optimal precision vs compute, 1e19 to 1e33
JSON: an array, one object {precision, format, params, tokens, loss, ...} per budget in the order
given (one budget too: always an array).`,
  flags: ["compute", "block", "params", "tokens", "k"],
  run(values, constants) {
    const computes = args.positiveList("compute", str(values, "compute"));
    const block = args.block(str(values, "block"));
    if (block.log2Block === 0) {
      throw new args.UsageError(
        "--block none has no precision penalty, so no optimal precision: use a block size or channel",
      );
    }
    const params = args.optionalPositive("params", str(values, "params"));
    const tokens = args.optionalPositive("tokens", str(values, "tokens"));
    if (params !== undefined && tokens !== undefined) {
      throw new args.UsageError(
        "give at most one of --params and --tokens (with both, the budget fixes P)",
      );
    }
    const k = computeFactor(str(values, "k"));
    const options = { log2Block: block.log2Block, k, params, tokens };
    const rows: BudgetRow[] = computes.map((c) => {
      // The closed form first: an answer outside the law's range is refused before the
      // whole-bit search runs on it.
      const plan = computeOptimal(c, options, constants);
      checkLawAnswer(
        `at ${sci(c)} FLOPs${params !== undefined ? ` and --params ${sci(params)}` : ""}${
          tokens !== undefined ? ` and --tokens ${sci(tokens)}` : ""
        }`,
        plan,
        params !== undefined
          ? "give a larger --compute or a smaller --params"
          : tokens !== undefined
          ? "give a larger --compute or fewer --tokens"
          : "give a larger --compute",
      );
      return { plan, best: bestFormatPlan(c, options, constants) };
    });
    const toJson = ({ plan, best }: BudgetRow) => ({
      precision: plan.precision,
      format: best.format.name,
      exponentBits: best.format.exponentBits,
      mantissaBits: best.format.mantissaBits,
      params: plan.params,
      tokens: plan.tokens,
      loss: plan.loss,
      compute: plan.compute,
      constraint: plan.constraint,
      tokensPerParam: plan.tokens / plan.params,
      block: block.label,
      log2Block: block.log2Block,
      k,
      formatPlan: {
        precision: best.precision,
        format: best.format.name,
        params: best.params,
        tokens: best.tokens,
        loss: best.loss,
      },
    });
    const json = rows.map(toJson);
    const what = params !== undefined
      ? `N fixed at ${count(params, "params")}`
      : tokens !== undefined
      ? `D fixed at ${count(tokens, "tokens")}`
      : "joint optimum over P, N and D";
    const human = [
      `Compute-optimal plan (${what}), ${args.describeBlock(block)}, C = k*P*N*D with k = ${k}`,
      ``,
      renderTable({
        columns: ["compute", "plan", "bits", "format", "params", "tokens", "tokens/param", "loss"],
        rows: rows.flatMap(({ plan, best }) => [
          [
            `${sci(plan.compute)} FLOPs`,
            "optimal P",
            plan.precision.toFixed(3),
            "",
            count(plan.params, "params"),
            count(plan.tokens, "tokens"),
            ratio(plan.tokens / plan.params),
            fixed(plan.loss),
          ],
          [
            "",
            "best format",
            String(best.precision),
            best.format.name,
            count(best.params, "params"),
            count(best.tokens, "tokens"),
            ratio(best.tokens / best.params),
            fixed(best.loss),
          ],
        ]),
      }),
      ``,
      params === undefined && tokens === undefined
        ? "The law favours big models in low precision trained on few tokens per parameter (Chinchilla\nwould use about 20); the 'optimal P' row is the paper's closed form, 'best format' a whole-bit ExMy."
        : "The 'optimal P' row is the paper's closed form, 'best format' a whole-bit ExMy.",
    ].join("\n");
    const table = {
      columns: [
        "compute",
        "precision",
        "format",
        "params",
        "tokens",
        "loss",
        "format_params",
        "format_tokens",
        "format_loss",
      ],
      rows: rows.map(({ plan, best }) =>
        [
          plan.compute,
          plan.precision,
          best.format.name,
          plan.params,
          plan.tokens,
          plan.loss,
          best.params,
          best.tokens,
          best.loss,
        ]
          .map(String)
      ),
    };
    return {
      json,
      human,
      table,
      plot: () =>
        precisionVsCompute(
          options,
          constants,
          what,
          args.describeBlock(block),
          rows.map((r) => ({
            compute: r.plan.compute,
            precision: r.plan.precision,
          })),
        ),
    };
  },
};

function precisionVsCompute(
  options: { log2Block: number; k: number; params?: number; tokens?: number },
  constants: ScalingLawConstants,
  what: string,
  blockText: string,
  asked: { compute: number; precision: number }[],
) {
  const values = [];
  for (let e = 19; e <= 33.0001; e += 0.1) {
    const c = 10 ** e;
    const plan = computeOptimal(c, options, constants);
    values.push({ compute: c, precision: plan.precision, series: "optimal P (closed form)" });
    if (Math.abs(e * 2 - Math.round(e * 2)) < 1e-6) {
      const best = bestFormatPlan(c, options, constants);
      values.push({
        compute: c,
        precision: best.precision,
        series: "best whole-bit format",
        format: best.format.name,
      });
    }
  }
  const x = {
    field: "compute",
    type: "quantitative",
    scale: { type: "log" },
    title: "compute C (FLOPs)",
    axis: { labelExpr: LOG_LABEL },
  };
  const y = {
    field: "precision",
    type: "quantitative",
    scale: { zero: false },
    title: "precision P (bits)",
  };
  const color = {
    field: "series",
    type: "nominal",
    title: null,
    legend: { orient: "bottom", labelLimit: 400 },
  };
  return {
    title: `Compute-optimal precision (${what}), ${blockText}, k = ${options.k}`,
    layer: [
      {
        data: { values },
        transform: [{ filter: "datum.series === 'optimal P (closed form)'" }],
        mark: "line",
        encoding: { x, y, color },
      },
      {
        data: { values },
        transform: [{ filter: "datum.series === 'best whole-bit format'" }],
        mark: { type: "point", filled: true },
        encoding: {
          x,
          y,
          color,
          tooltip: [{ field: "format" }, { field: "compute", type: "quantitative" }],
        },
      },
      // The budgets asked for: a dashed rule at each C, its optimum labelled.
      {
        data: { values: asked },
        mark: { type: "rule", strokeDash: [4, 3], color: "#555" },
        encoding: { x },
      },
      {
        data: {
          values: asked.map((a) => ({
            ...a,
            label: `C = ${sci(a.compute)}: P = ${a.precision.toFixed(2)}`,
          })),
        },
        mark: { type: "text", align: "left", dx: 4, dy: -8, fontSize: 10 },
        encoding: { x, y, text: { field: "label" } },
      },
    ],
  };
}
