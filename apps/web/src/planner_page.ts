// planner.html: every `deno task plan` command as a form with live results, charts and
// shareable URLs. The numbers come from @fp4lab/planner, the same code the CLI runs.
import { chartSpec, type CommandResult, COMMANDS, type PlannerFiles } from "@fp4lab/planner";
import { formatRunsCsv, PAPER_CONSTANTS, paperGrid, simulateRuns } from "@fp4lab/scaling-law";
import {
  cliArgs,
  type Field,
  FORMS,
  type PlannerState,
  queryFromState,
  RUNS_FILE,
  stateFromQuery,
  valuesFromState,
} from "./planner_form.ts";
import { drawChart } from "./charts.ts";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const select = $<HTMLSelectElement>("command");
const summary = $("summary");
const fields = $("fields");
const human = $("human");
const json = $("json");
const cli = $("cli");
const error = $("error");
const chart = $("chart");
const status = $("status");

let state: PlannerState = stateFromQuery(location.search);

for (const c of COMMANDS) {
  const option = document.createElement("option");
  option.value = c.name;
  option.textContent = `${c.name}: ${c.summary}`;
  select.append(option);
}

function exampleRuns(): string {
  // The README's synthetic runs: the paper's grid, noise 0.005, seed 1.
  return formatRunsCsv(simulateRuns(paperGrid(), { noise: 0.005, seed: 1 }));
}

function fieldInput(field: Field, value: string): HTMLInputElement | HTMLTextAreaElement {
  const id = `f-${field.flag}`;
  const input = field.multiline
    ? document.createElement("textarea")
    : document.createElement("input");
  input.id = id;
  input.name = field.flag;
  input.value = value;
  input.setAttribute("aria-describedby", `${id}-hint`);
  input.spellcheck = false;
  if (input instanceof HTMLInputElement) {
    input.type = "text";
    input.autocomplete = "off";
    if (field.suggestions) input.setAttribute("list", `${id}-list`);
  } else {
    input.rows = 8;
  }
  return input;
}

/** Builds the form of the current command. */
function buildForm(): void {
  fields.replaceChildren();
  const command = COMMANDS.find((c) => c.name === state.command)!;
  summary.textContent = command.summary;
  select.value = state.command;
  for (const field of FORMS[state.command]) {
    const row = document.createElement("div");
    row.className = "field";
    const label = document.createElement("label");
    label.htmlFor = `f-${field.flag}`;
    label.textContent = field.label;
    const input = fieldInput(field, state.inputs[field.flag] ?? "");
    const hint = document.createElement("small");
    hint.id = `f-${field.flag}-hint`;
    hint.textContent = field.hint;
    row.append(label, input);
    if (field.suggestions) {
      const list = document.createElement("datalist");
      list.id = `f-${field.flag}-list`;
      for (const s of field.suggestions) list.append(new Option(s, s));
      row.append(list);
    }
    const sliders: {
      slider: NonNullable<Field["sliders"]>[number];
      range: HTMLInputElement;
      out: HTMLOutputElement;
    }[] = [];
    for (const [i, slider] of (field.sliders ?? []).entries()) {
      const wrap = document.createElement("div");
      wrap.className = "slider";
      const range = document.createElement("input");
      range.type = "range";
      range.id = `f-${field.flag}-s${i}`;
      range.min = String(slider.min);
      range.max = String(slider.max);
      range.step = String(slider.step);
      range.setAttribute("aria-label", slider.label);
      const out = document.createElement("output");
      out.htmlFor.add(range.id);
      range.addEventListener("input", () => {
        input.value = slider.write(Number(range.value), input.value);
        out.textContent = slider.show(Number(range.value));
        sync(false);
      });
      wrap.append(range, out);
      row.append(wrap);
      sliders.push({ slider, range, out });
    }
    const syncSliders = () => {
      for (const { slider, range, out } of sliders) {
        const pos = slider.read(input.value);
        range.disabled = pos === undefined;
        if (pos !== undefined) {
          range.value = String(pos);
          out.textContent = slider.show(pos);
        } else {
          out.textContent = "";
        }
      }
    };
    // Typing moves the sliders; a slider writes the text (which fires no input event).
    input.addEventListener("input", () => {
      syncSliders();
      sync(false);
    });
    syncSliders();
    row.append(hint);
    if (field.flag === "runs") {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = "Use example runs";
      button.addEventListener("click", () => {
        input.value = exampleRuns();
        sync(false);
      });
      row.append(button);
    }
    fields.append(row);
  }
}

function readInputs(): PlannerState {
  const inputs: Record<string, string> = {};
  for (const field of FORMS[state.command]) {
    const el = document.getElementById(`f-${field.flag}`) as HTMLInputElement | null;
    inputs[field.flag] = el?.value ?? "";
  }
  return { command: state.command, inputs };
}

let timer: ReturnType<typeof setTimeout> | undefined;
let generation = 0;

/** Reads the form, updates the URL and schedules a recompute. */
function sync(immediate: boolean): void {
  state = readInputs();
  const query = queryFromState(state);
  // A runs CSV too long for a link stays out of it (the link says so by leaving it empty).
  const shareable = query.length > 6000
    ? queryFromState({ ...state, inputs: { ...state.inputs, runs: "" } })
    : query;
  history.replaceState(null, "", shareable);
  clearTimeout(timer);
  const delay = immediate ? 0 : state.command === "fit" ? 400 : 120;
  timer = setTimeout(compute, delay);
}

async function compute(): Promise<void> {
  const run = ++generation;
  const command = COMMANDS.find((c) => c.name === state.command)!;
  const files: PlannerFiles = {
    readText: (path) => {
      if (path !== RUNS_FILE) throw new Error(`no file ${path} here`);
      return state.inputs.runs ?? "";
    },
    writeText: () => {},
  };
  cli.textContent = `deno task plan ${cliArgs(state).join(" ")}`;
  cli.dataset.args = JSON.stringify(cliArgs(state));
  if (state.command === "fit" && (state.inputs.runs ?? "").trim() === "") {
    error.textContent = "Paste a runs CSV or press 'Use example runs'.";
    human.textContent = "";
    json.textContent = "";
    status.dataset.state = "error";
    return;
  }
  let result: CommandResult;
  status.dataset.state = "running";
  try {
    result = command.run(valuesFromState(state), PAPER_CONSTANTS, files);
  } catch (e) {
    const message = (e as Error).message.replaceAll("\n", " ");
    error.textContent = `plan ${state.command}: ${message}`;
    status.dataset.state = "error";
    return;
  }
  error.textContent = "";
  human.textContent = result.human;
  json.textContent = JSON.stringify(result.json, null, 2);
  if (result.plot) {
    try {
      await drawChart(chart, chartSpec(result.plot()));
    } catch (e) {
      if (run === generation) error.textContent = `chart: ${(e as Error).message}`;
    }
  } else {
    chart.replaceChildren();
  }
  if (run === generation) status.dataset.state = "done";
}

select.addEventListener("change", () => {
  state = stateFromQuery(`?cmd=${select.value}`);
  buildForm();
  sync(true);
});
$("form").addEventListener("submit", (e) => {
  e.preventDefault();
  sync(true);
});
$("copy-link").addEventListener("click", async () => {
  await navigator.clipboard?.writeText(location.href).catch(() => {});
  $("copy-note").textContent = "link copied";
});

buildForm();
sync(true);
