// formats.html: numbers in every format, and a tensor under every scaling scheme.
import { type FloatFormat, floatFormat, type Rounding } from "@fp4lab/fp4-format";
import {
  compareTensor,
  describeValue,
  type Distribution,
  generateTensor,
  histogramSpec,
  parseNumbers,
  PER_CHANNEL,
  SCHEMES,
  sqnrSpec,
  STANDARD_FORMATS,
} from "./formats.ts";
import { drawChart } from "./charts.ts";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const num = (id: string) => Number($<HTMLInputElement>(id).value);

function cell(tag: "td" | "th", text: string, className = ""): HTMLElement {
  const el = document.createElement(tag);
  el.textContent = text;
  if (className) el.className = className;
  if (tag === "th") el.setAttribute("scope", "col");
  return el;
}

function fmt(x: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0" : "0";
  const a = Math.abs(x);
  return a >= 1e-3 && a < 1e6 ? String(Number(x.toPrecision(7))) : x.toExponential(4);
}

// ---- numbers in every format ----------------------------------------------------------------

const formatBoxes = $("format-boxes");
for (const f of STANDARD_FORMATS) {
  const label = document.createElement("label");
  const box = document.createElement("input");
  box.type = "checkbox";
  box.checked = true;
  box.value = f.name;
  box.name = "format";
  label.append(box, ` ${f.name}`);
  formatBoxes.append(label);
}

function chosenFormats(): FloatFormat[] {
  const out: FloatFormat[] = [];
  for (const box of formatBoxes.querySelectorAll<HTMLInputElement>("input:checked")) {
    out.push(STANDARD_FORMATS.find((f) => f.name === box.value)!);
  }
  const custom = $<HTMLInputElement>("custom").value.trim();
  if (custom !== "") {
    for (const name of custom.split(/[\s,]+/)) {
      const m = /^e(\d+)m(\d+)$/i.exec(name);
      if (!m) throw new RangeError(`custom format "${name}" is not ExMy (e.g. E3M4)`);
      out.push(floatFormat(Number(m[1]), Number(m[2])));
    }
  }
  return out;
}

function renderNumbers(): void {
  const error = $("numbers-error");
  const body = $("numbers-table");
  error.textContent = "";
  let formats: FloatFormat[];
  try {
    formats = chosenFormats();
  } catch (e) {
    error.textContent = (e as Error).message;
    return;
  }
  const parsed = parseNumbers($<HTMLTextAreaElement>("numbers").value);
  if (parsed.bad.length) error.textContent = `not numbers, left out: ${parsed.bad.join(" ")}`;
  const rounding = $<HTMLSelectElement>("rounding").value as Rounding;
  const saturate = $<HTMLInputElement>("saturate").checked;
  const table = document.createElement("table");
  table.className = "data";
  const caption = document.createElement("caption");
  caption.className = "hint";
  caption.textContent = `Rounding ${rounding}, ${saturate ? "saturating" : "overflow to inf/NaN"}`;
  const head = document.createElement("tr");
  for (
    const h of ["x", "format", "rounded", "code", "bits (s e m)", "abs error", "rel error", "note"]
  ) {
    head.append(cell("th", h, h === "format" || h === "note" || h === "bits (s e m)" ? "l" : ""));
  }
  table.append(caption, head);
  for (const x of parsed.values) {
    formats.forEach((f, i) => {
      const c = describeValue(x, f, { rounding, seed: 0, saturate });
      const tr = document.createElement("tr");
      tr.append(
        cell("td", i === 0 ? fmt(x) : ""),
        cell("td", f.name, "l"),
        cell("td", fmt(c.rounded)),
        cell("td", c.hex),
        cell("td", c.bits, "l"),
        cell("td", fmt(c.absError)),
        cell("td", Number.isNaN(c.relError) ? "-" : `${(100 * c.relError).toPrecision(3)}%`),
        cell("td", c.note, c.note === "saturated" || c.note.startsWith("overflow") ? "l sat" : "l"),
      );
      table.append(tr);
    });
  }
  const info = document.createElement("table");
  info.className = "data";
  const infoHead = document.createElement("tr");
  for (
    const h of ["format", "bits", "bias", "max normal", "min normal", "min subnormal", "specials"]
  ) {
    infoHead.append(cell("th", h, h === "format" || h === "specials" ? "l" : ""));
  }
  info.append(infoHead);
  for (const f of formats) {
    const tr = document.createElement("tr");
    tr.append(
      cell("td", f.name, "l"),
      cell("td", String(f.bits)),
      cell("td", String(f.bias)),
      cell("td", fmt(f.maxNormal)),
      cell("td", fmt(f.minNormal)),
      cell("td", fmt(f.minSubnormal)),
      cell(
        "td",
        f.specials === "ieee" ? "Inf and NaN" : f.specials === "nan-only" ? "NaN only" : "none",
        "l",
      ),
    );
    info.append(tr);
  }
  body.replaceChildren(table);
  $("format-info").replaceChildren(info);
  $("numbers-section").dataset.state = "done";
}

// ---- a tensor under every scheme --------------------------------------------------------------

const schemeBoxes = $("scheme-boxes");
for (
  const name of [...Object.keys(SCHEMES).slice(0, 2), PER_CHANNEL, ...Object.keys(SCHEMES).slice(2)]
) {
  const label = document.createElement("label");
  const box = document.createElement("input");
  box.type = "checkbox";
  box.checked = true;
  box.value = name;
  box.name = "scheme";
  label.append(box, ` ${name}`);
  schemeBoxes.append(label);
}

function currentTensor(): { values: Float32Array; rows: number; cols: number; title: string } {
  const source = $<HTMLSelectElement>("source").value;
  if (source === "paste") {
    const parsed = parseNumbers($<HTMLTextAreaElement>("pasted").value);
    if (parsed.bad.length) throw new RangeError(`not numbers: ${parsed.bad.slice(0, 5).join(" ")}`);
    const finite = parsed.values.filter(Number.isFinite);
    if (finite.length !== parsed.values.length) throw new RangeError("the tensor must be finite");
    const cols = num("paste-cols");
    if (!(Number.isInteger(cols) && cols > 0)) {
      throw new RangeError("columns must be a positive integer");
    }
    if (finite.length === 0 || finite.length % cols !== 0) {
      throw new RangeError(`${finite.length} numbers do not fill rows of ${cols} columns`);
    }
    return {
      values: Float32Array.from(finite),
      rows: finite.length / cols,
      cols,
      title: "pasted tensor",
    };
  }
  const rows = num("rows"), cols = num("cols");
  if (rows * cols > 1 << 22) throw new RangeError("at most 4M elements, please");
  const distribution = source as Distribution;
  const values = generateTensor({
    distribution,
    rows,
    cols,
    df: num("df"),
    outlierChannels: num("outliers"),
    outlierScale: num("outlier-scale"),
    seed: num("seed"),
  });
  return {
    values,
    rows,
    cols,
    title: `${
      distribution === "gaussian" ? "Gaussian" : `Student-t (df ${num("df")})`
    } ${rows} x ${cols}, ${num("outliers")} outlier channels x${num("outlier-scale")}`,
  };
}

async function renderTensor(): Promise<void> {
  const section = $("tensor-section");
  const error = $("tensor-error");
  error.textContent = "";
  section.dataset.state = "running";
  let t: ReturnType<typeof currentTensor>;
  try {
    t = currentTensor();
  } catch (e) {
    error.textContent = (e as Error).message;
    section.dataset.state = "error";
    return;
  }
  const names = [...schemeBoxes.querySelectorAll<HTMLInputElement>("input:checked")].map((b) =>
    b.value
  );
  const rows = compareTensor(t.values, t.rows, t.cols, names);
  const table = document.createElement("table");
  table.className = "data";
  table.id = "error-table";
  const head = document.createElement("tr");
  for (const h of ["scheme", "MSE", "SQNR dB", "cosine", "max abs err", "clipped %", "zero %"]) {
    head.append(cell("th", h, h === "scheme" ? "l" : ""));
  }
  table.append(head);
  for (const r of rows) {
    const tr = document.createElement("tr");
    tr.append(
      cell("td", r.scheme, "l"),
      cell("td", r.mse.toExponential(3)),
      cell("td", r.sqnrDb.toFixed(2)),
      cell("td", r.cosine.toFixed(6)),
      cell("td", r.maxAbsError.toExponential(3)),
      cell("td", Number.isNaN(r.clippedFraction) ? "-" : (100 * r.clippedFraction).toFixed(3)),
      cell("td", (100 * r.zeroFlushedFraction).toFixed(3)),
    );
    table.append(tr);
  }
  $("tensor-table").replaceChildren(table);
  $("tensor-note").textContent = `${t.title}: ${t.values.length} values.`;
  try {
    await drawChart($("histogram"), histogramSpec(t.values, `Values of the ${t.title}`));
    if (rows.length) await drawChart($("sqnr"), sqnrSpec(rows));
  } catch (e) {
    error.textContent = `chart: ${(e as Error).message}`;
  }
  section.dataset.state = "done";
}

function debounce(fn: () => void, ms: number): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return () => {
    clearTimeout(timer);
    timer = setTimeout(fn, ms);
  };
}

const numbersLater = debounce(renderNumbers, 100);
const tensorLater = debounce(() => void renderTensor(), 250);
$("numbers-form").addEventListener("input", numbersLater);
$("numbers-form").addEventListener("submit", (e) => {
  e.preventDefault();
  renderNumbers();
});
$("tensor-form").addEventListener("input", tensorLater);
$("tensor-form").addEventListener("submit", (e) => {
  e.preventDefault();
  void renderTensor();
});
$<HTMLSelectElement>("source").addEventListener("change", () => {
  const paste = $<HTMLSelectElement>("source").value === "paste";
  $("generate-fields").hidden = paste;
  $("paste-fields").hidden = !paste;
});

renderNumbers();
void renderTensor();
