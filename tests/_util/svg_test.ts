import assert from "node:assert/strict";
import { elements, groups, parseSvg } from "./svg.ts";

Deno.test("parseSvg: element tree, texts and Vega line groups of a well-formed SVG", async () => {
  const svg = await parseSvg(
    `<svg xmlns="http://www.w3.org/2000/svg"><g class="mark-line role-mark"><path d="M0,0"/></g>` +
      `<g class="mark-text"><text x="1">a &amp; b</text></g></svg>`,
  );
  assert.equal(svg.root.name, "svg");
  assert.deepEqual(svg.texts, ["a & b"]);
  assert.equal(svg.lines.length, 1);
  assert.equal(elements(svg.lines[0], "path")[0].attrs.d, "M0,0");
  assert.equal(groups(svg.root, "mark-text").length, 1);
});

Deno.test("parseSvg: rejects XML that is not well-formed, and a root that is not <svg>", async () => {
  await assert.rejects(parseSvg("<svg><g></svg>"), /not valid XML/);
  await assert.rejects(parseSvg("<html></html>"), /not <svg>/);
});
