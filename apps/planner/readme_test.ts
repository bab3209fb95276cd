// The README promises real output: every `$ deno task plan ...` block in it is run here (in
// process, through main()) and must print exactly what the README shows.
import assert from "node:assert/strict";
import { formatRunsCsv, paperGrid, simulateRuns } from "@fp4lab/scaling-law";
import { main } from "./main.ts";

const README = new URL("./README.md", import.meta.url);
const FILES = ["runs.csv", "fit.json", "bad.csv"];

Deno.test("README: every plan command prints what the README shows", async () => {
  const text = await Deno.readTextFile(README);
  const dir = await Deno.makeTempDir();
  try {
    // The files the README's examples use: the synthetic runs (as examples/synthetic_runs.ts
    // writes them, noise 0.005, seed 1) and the bad CSV shown there.
    await Deno.writeTextFile(
      `${dir}/runs.csv`,
      formatRunsCsv(simulateRuns(paperGrid(), { noise: 0.005, seed: 1 })),
    );
    const bad = /\$ cat bad\.csv\n([\s\S]*?)\$ /.exec(text);
    assert.ok(bad, "README shows bad.csv");
    await Deno.writeTextFile(`${dir}/bad.csv`, bad[1]);
    let checked = 0;
    for (const block of text.matchAll(/```\n([\s\S]*?)```/g)) {
      for (const chunk of block[1].split(/^\$ /m)) {
        if (!chunk.startsWith("deno task plan ")) continue;
        const newline = chunk.indexOf("\n");
        const argv = chunk.slice("deno task plan ".length, newline).split(" ").map((a) =>
          FILES.includes(a)
            ? `${dir}/${a}`
            : a.startsWith("apps/planner/img/")
            ? `${dir}/${a.split("/").pop()}`
            : a
        );
        const expected = chunk.slice(newline + 1).trimEnd();
        const lines: string[] = [];
        const code = await main(argv, (t) => lines.push(t), (t) => lines.push(t));
        const got = lines.join("\n").replaceAll(`${dir}/`, "").trimEnd();
        const want = expected.replaceAll("apps/planner/img/", "");
        assert.equal(got, want, `README block for: plan ${argv.join(" ")}`);
        assert.equal(code, /^plan \w+: /.test(got) ? 2 : 0);
        checked++;
      }
    }
    assert.ok(checked >= 20, `only ${checked} commands found in the README`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
