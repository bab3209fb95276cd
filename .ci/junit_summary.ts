// Reads JUnit reports (Deno's, then any others such as the browser tests') and prints the one
// line CI is judged by. A report that is missing counts as one failure.
const paths = Deno.args.length ? Deno.args : [".ci/junit.xml"];
const cases: string[] = [];
let missing = 0;
for (const path of paths) {
  try {
    const xml = await Deno.readTextFile(path);
    cases.push(...(xml.match(/<testcase\b[^>]*?(\/>|>[\s\S]*?<\/testcase>)/g) ?? []));
  } catch {
    console.log(`${path}: no report`);
    missing++;
  }
}
let failed = missing;
let skipped = 0;
for (const c of cases) {
  if (/<(failure|error)\b/.test(c)) failed++;
  else if (/<skipped\b/.test(c)) skipped++;
}
const passed = cases.length - (failed - missing) - skipped;
console.log(`tests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
