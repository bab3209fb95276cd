// A JUnit XML report of the browser tests, in the shape `deno test --junit-path` writes, so
// .ci/junit_summary.ts counts both the same way.

/** One test's result. */
export interface CaseResult {
  /** the suite, e.g. "chromium" */
  readonly suite: string;
  readonly name: string;
  readonly status: "passed" | "failed" | "skipped";
  readonly seconds: number;
  /** why it failed or was skipped */
  readonly message?: string;
}

function escape(text: string): string {
  return text.replace(
    /[<>&"']/g,
    (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[c]!,
    // deno-lint-ignore no-control-regex
  ).replace(/[\x00-\x08\x0b\x0c\x0e-\x1f]/g, "");
}

/**
 * The report as XML text: one `<testsuite>` per suite, one `<testcase>` per result.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { junitXml } from "./junit.ts";
 * const xml = junitXml([{ suite: "chromium", name: "a < b", status: "failed", seconds: 1, message: "no" }]);
 * assert.ok(xml.includes('<testcase name="a &lt; b"'));
 * assert.ok(xml.includes("<failure"));
 * ```
 */
export function junitXml(results: readonly CaseResult[]): string {
  const suites = new Map<string, CaseResult[]>();
  for (const r of results) suites.set(r.suite, [...(suites.get(r.suite) ?? []), r]);
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>'];
  const failures = results.filter((r) => r.status === "failed").length;
  lines.push(`<testsuites name="browser" tests="${results.length}" failures="${failures}">`);
  for (const [suite, cases] of suites) {
    const f = cases.filter((r) => r.status === "failed").length;
    const s = cases.filter((r) => r.status === "skipped").length;
    lines.push(
      `  <testsuite name="${
        escape(suite)
      }" tests="${cases.length}" failures="${f}" skipped="${s}">`,
    );
    for (const c of cases) {
      const open = `    <testcase name="${escape(c.name)}" classname="${escape(suite)}" time="${
        c.seconds.toFixed(3)
      }"`;
      if (c.status === "passed") {
        lines.push(`${open}/>`);
      } else {
        const tag = c.status === "failed" ? "failure" : "skipped";
        lines.push(
          `${open}>`,
          `      <${tag} message="${escape(c.message ?? "")}"/>`,
          "    </testcase>",
        );
      }
    }
    lines.push("  </testsuite>");
  }
  lines.push("</testsuites>");
  return lines.join("\n") + "\n";
}
