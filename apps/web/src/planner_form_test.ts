// The planner page's state -> command values -> CLI line, checked against the CLI itself: the
// page's default inputs for every command give exactly `deno task plan ... --json`.
import assert from "node:assert/strict";
import { COMMANDS, type PlannerFiles } from "@fp4lab/planner";
import { formatRunsCsv, PAPER_CONSTANTS, paperGrid, simulateRuns } from "@fp4lab/scaling-law";
import {
  cliArgs,
  FORMS,
  pow10Text,
  queryFromState,
  RUNS_FILE,
  stateFromQuery,
  valuesFromState,
} from "./planner_form.ts";

const ROOT = new URL("../../../", import.meta.url).pathname;

async function planJson(args: string[], cwd: string): Promise<unknown> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      `${ROOT}apps/planner/main.ts`,
      ...args,
      "--json",
    ],
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

Deno.test("planner page: every command's default form gives the CLI's --json", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const runs = formatRunsCsv(simulateRuns(paperGrid(), { noise: 0.005, seed: 1 }));
    await Deno.writeTextFile(`${dir}/${RUNS_FILE}`, runs);
    const files: PlannerFiles = { readText: () => runs, writeText: () => {} };
    for (const command of COMMANDS) {
      const base = stateFromQuery(`?cmd=${command.name}`);
      const state = command.name === "fit"
        ? { ...base, inputs: { ...base.inputs, runs, bootstrap: "20" } }
        : base;
      const page = command.run(valuesFromState(state), PAPER_CONSTANTS, files).json;
      assert.deepEqual(await planJson(cliArgs(state), dir), page, command.name);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("planner page: a link holds the inputs and gives the same state back", () => {
  for (const name of Object.keys(FORMS)) {
    const state = stateFromQuery(`?cmd=${name}`);
    const changed = {
      command: name,
      inputs: Object.fromEntries(Object.keys(state.inputs).map((k) => [k, `${k}-x y&z`])),
    };
    assert.deepEqual(stateFromQuery(queryFromState(changed)), changed);
    assert.equal(queryFromState(state), `?cmd=${name}`, "defaults stay out of the link");
  }
  assert.equal(stateFromQuery("?cmd=nope").command, "loss");
});

Deno.test("planner page: sliders write what the CLI reads", () => {
  const loss = FORMS.loss;
  const params = loss.find((f) => f.flag === "params")!.sliders![0];
  assert.equal(params.write(9.5, "1e9"), "3.16e9");
  assert.equal(params.read("7B")!.toFixed(4), Math.log10(7e9).toFixed(4));
  assert.equal(params.read("abc"), undefined);
  const [e, m] = loss.find((f) => f.flag === "format")!.sliders!;
  assert.equal(e.write(4, "E2M1"), "E4M1");
  assert.equal(m.write(3, "E4M1"), "E4M3");
  assert.equal(e.read("bf16"), 8);
  assert.equal(m.read("fp4"), 1);
  const block = loss.find((f) => f.flag === "block")!.sliders![0];
  assert.equal(block.write(5, "128"), "32");
  assert.equal(block.read("channel"), undefined);
  assert.equal(pow10Text(23.9999), "1e24");
  for (let x = 6; x <= 13; x += 0.05) {
    const text = pow10Text(x);
    assert.ok(Math.abs(params.read(text)! - x) < 0.003, `${x} -> ${text}`);
  }
});
