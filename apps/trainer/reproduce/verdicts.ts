/**
 * The "against the paper" table every reproduction page ends its results with: one line per
 * claim with the paired difference, its 95% interval, the Holm-adjusted p-value and the verdict,
 * preceded by a paragraph that says how the verdicts are reached and how many comparisons the
 * page makes.
 *
 * @module
 */
import { formatDifference, type Judged } from "./stats.ts";

/** A judged claim as a page shows it. */
export interface ClaimLine extends Judged {
  /** the claim, in words (the compared configurations are appended) */
  readonly claim: string;
  /** the side the paper expects worse */
  readonly worse: string;
  /** the other side */
  readonly better: string;
}

function verdictText(c: Judged): string {
  if (c.verdict === "agrees") return "agrees";
  if (c.verdict === "disagrees") return "**disagrees with the paper**";
  if (c.verdict === "n/a") return "n/a (no pairs)";
  if (c.kind === "match") return "within noise (as the claim predicts)";
  return c.diff > 0 ? "within noise (paper's direction)" : "within noise (opposite direction)";
}

/**
 * Markdown lines: the method paragraph, the table, and a one-line tally.
 *
 * @param checks the page's judged claims (the whole family the Holm correction ran over)
 * @param unit what a difference is measured in, e.g. `nats per byte, paired by seed`
 * @returns lines of Markdown
 * @example
 * ```ts
 * import { claimsTable } from "./verdicts.ts";
 * import { judgeFamily } from "./stats.ts";
 * import assert from "node:assert/strict";
 * const [j] = judgeFamily([{ worse: [2.1, 2.2, 2.3], better: [2.0, 2.1, 2.2] }]);
 * const md = claimsTable([{ ...j, claim: "A is worse", worse: "a", better: "b" }], "nats").join("\n");
 * assert.match(md, /1 comparison/);
 * assert.match(md, /\| A is worse \(`a` vs `b`\) \| \+0\.1000 \[/);
 * ```
 */
export function claimsTable(checks: readonly ClaimLine[], unit: string): string[] {
  const tested = checks.filter((c) => c.pHolm !== null).length;
  const L = [
    `Each line compares two configurations seed by seed (difference = the paper's worse minus its`,
    `better, in ${unit}; mean and 95% confidence interval, Student's t with n − 1 degrees of`,
    `freedom). This page makes ${checks.length} comparison${
      checks.length === 1 ? "" : "s"
    } (${tested}`,
    "with a t-test); their p-values are Holm-adjusted together, so the chance of *any* false call",
    "on the page is at most 5%. **agrees** means the adjusted test is significant and the",
    "difference points the paper's way (its interval excludes zero on that side); **disagrees**",
    "means significant the other way; *within noise* means these seeds cannot tell, which is",
    "evidence of nothing. A claim that two configurations *match* can only be disagreed with.",
    "A run that diverges while its pair does not decides the comparison only when it happens in",
    "every pair.",
    "",
    "| paper's claim | difference [95% interval] | Holm p | result |",
    "| --- | ---: | ---: | --- |",
  ];
  for (const c of checks) {
    const p = c.pHolm === null ? "—" : c.pHolm < 0.001 ? "<0.001" : c.pHolm.toFixed(3);
    L.push(
      `| ${c.claim} (\`${c.worse}\` vs \`${c.better}\`) | ${formatDifference(c)} | ${p} | ${
        verdictText(c)
      } |`,
    );
  }
  const count = (v: Judged["verdict"]) => checks.filter((c) => c.verdict === v).length;
  L.push(
    "",
    `Of ${checks.length}: ${count("agrees")} agree, ${count("disagrees")} disagree, ` +
      `${count("within noise")} within noise${count("n/a") ? `, ${count("n/a")} n/a` : ""}.`,
    "",
  );
  return L;
}
