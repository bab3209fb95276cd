// train.html: the tiny preset trained live, fp4 beside bf16, in a worker: on the engine's webgpu
// backend when the browser gives an adapter, else on its cpu backend (WebAssembly SIMD on a
// SharedArrayBuffer worker pool, which needs a cross-origin-isolated page).
import type { FromWorker, ToWorker } from "./train_protocol.ts";
import type { DeviceChoice } from "./train_engine.ts";
import { metricsCsv, type RecipeProgress, reportJson } from "./train_report.ts";
import { type ChartView, drawChart } from "./charts.ts";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const params = new URLSearchParams(location.search);
const startButton = $<HTMLButtonElement>("start");
const pauseButton = $<HTMLButtonElement>("pause");
const checkpointButton = $<HTMLButtonElement>("download-checkpoint");
const reportButton = $<HTMLButtonElement>("download-report");
const csvButton = $<HTMLButtonElement>("download-csv");
const status = $("train-status");
const error = $("train-error");

const progress: Record<string, RecipeProgress> = {};
let device = "not started";
let webgpu = "checking...";
let dataSource = "";
let worker: Worker | undefined;
let chart: ChartView | undefined;
let pending: unknown[] = [];
type TrainState = "idle" | "running" | "paused" | "done" | "error";
let state: TrainState = "idle";
let settings: Record<string, unknown> = {};

// What the browser tests read (window.__train).
const hook: {
  progress: typeof progress;
  state: TrainState;
  device: string;
  /** the backend the worker opened: "webgpu" or "cpu" ("" before it has) */
  backend: string;
  /** why the device is not the one asked for */
  notice: string;
  /** WebGPU only: whether the adapter keeps subnormal results ("kept" or "flushed") */
  subnormals: string | null;
  /** what the page's own WebGPU check found */
  webgpu: string;
  error: string;
  checkpoint?: { name: string; zip: ArrayBuffer };
} = {
  progress,
  state,
  device: "",
  backend: "",
  notice: "",
  subnormals: null,
  webgpu: "",
  error: "",
};
(globalThis as unknown as { __train: typeof hook }).__train = hook;

function setState(s: typeof state): void {
  state = s;
  hook.state = s;
  status.dataset.state = s;
  status.textContent = {
    idle: "Not started.",
    running: "Training...",
    paused: "Paused.",
    done: "Done.",
    error: "Stopped by an error.",
  }[s];
  startButton.disabled = s === "running" || s === "paused" || !canStart();
  pauseButton.disabled = s !== "running" && s !== "paused";
  pauseButton.textContent = s === "paused" ? "Resume" : "Pause";
  pauseButton.setAttribute("aria-pressed", String(s === "paused"));
  const any = Object.values(progress).some((p) => p.records.length > 0);
  checkpointButton.disabled = !any;
  reportButton.disabled = !any;
  csvButton.disabled = !any;
}

function fmtRate(x: number): string {
  return Number.isFinite(x) ? `${Math.round(x).toLocaleString("en-US")}` : "-";
}

function renderTable(): void {
  const rows = Object.entries(progress).map(([name, p]) => {
    const last = p.records.at(-1);
    const val = [...p.records].reverse().find((r) => r.valLoss !== null)?.valLoss;
    return `<tr><td class="l">${name}</td><td>${last?.step ?? 0}</td><td>${
      last ? last.loss.toFixed(4) : "-"
    }</td><td>${val !== undefined && val !== null ? val.toFixed(4) : "-"}</td><td>${
      fmtRate(p.tokensPerSec)
    }</td><td>${p.parameters.toLocaleString("en-US")}</td><td>${p.skipped}</td></tr>`;
  }).join("");
  $("progress").innerHTML =
    `<table class="data" id="progress-table"><tr><th class="l" scope="col">recipe</th><th scope="col">step</th><th scope="col">loss</th><th scope="col">val loss</th><th scope="col">tokens/s</th><th scope="col">parameters</th><th scope="col">skipped</th></tr>${rows}</table>`;
}

async function ensureChart(): Promise<void> {
  if (chart) return;
  chart = await drawChart($("loss-chart"), {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: "Training loss (lines) and validation loss (points)",
    width: 560,
    height: 300,
    data: { name: "points" },
    layer: [
      {
        transform: [{ filter: "datum.kind === 'train'" }],
        mark: "line",
        encoding: {
          x: { field: "step", type: "quantitative", title: "step" },
          y: {
            field: "loss",
            type: "quantitative",
            scale: { zero: false },
            title: "loss (nats/byte)",
          },
          color: { field: "recipe", type: "nominal", title: "recipe" },
        },
      },
      {
        transform: [{ filter: "datum.kind === 'val'" }],
        mark: { type: "point", filled: true, size: 60 },
        encoding: {
          x: { field: "step", type: "quantitative" },
          y: { field: "loss", type: "quantitative" },
          color: { field: "recipe", type: "nominal" },
        },
      },
    ],
  });
}

let flushing = false;
/** Adds the queued points to the chart (at most one update in flight). */
async function flushChart(): Promise<void> {
  if (flushing || pending.length === 0) return;
  flushing = true;
  try {
    await ensureChart();
    const rows = pending;
    pending = [];
    await chart!.insert("points", rows).resize().runAsync();
  } catch (e) {
    error.textContent = `chart: ${(e as Error).message}`;
  } finally {
    flushing = false;
  }
  if (pending.length) void flushChart();
}

function download(name: string, data: BlobPart, type: string): void {
  const url = URL.createObjectURL(new Blob([data], { type }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function onMessage(m: FromWorker): void {
  if (m.type === "ready") {
    device = m.device;
    hook.device = device;
    hook.backend = m.kind;
    hook.notice = m.notice;
    hook.subnormals = m.subnormals;
    $("device").textContent = device;
    $("device-notice").hidden = m.notice === "";
    $("device-notice").textContent = m.notice;
  } else if (m.type === "data") {
    dataSource = m.source;
    $("data-source").textContent = `${m.source} (${(m.trainBytes / 1e6).toFixed(2)} MB)`;
  } else if (m.type === "step") {
    const p = (progress[m.recipe] ??= { records: [], tokensPerSec: 0, parameters: 0, skipped: 0 });
    p.records.push(m.record);
    p.tokensPerSec = m.tokensPerSec;
    p.parameters = m.parameters;
    p.skipped = m.skipped;
    pending.push({ recipe: m.recipe, step: m.record.step, loss: m.record.loss, kind: "train" });
    renderTable();
    void flushChart();
    if (state !== "running" && state !== "paused") setState("running");
    else setState(state);
  } else if (m.type === "val") {
    const p = progress[m.recipe];
    const r = p?.records.find((x) => x.step === m.step);
    if (r) r.valLoss = m.valLoss;
    pending.push({ recipe: m.recipe, step: m.step, loss: m.valLoss, kind: "val" });
    renderTable();
    void flushChart();
  } else if (m.type === "state") {
    setState(m.state);
  } else if (m.type === "checkpoint") {
    hook.checkpoint = { name: m.name, zip: m.zip };
    download(`${m.name}.zip`, m.zip, "application/zip");
    $("download-note").textContent = `${m.name}.zip (${(m.zip.byteLength / 1e6).toFixed(2)} MB)`;
  } else if (m.type === "error") {
    error.textContent = m.message;
    hook.error = m.message;
    setState("error");
  }
}

function send(m: ToWorker): void {
  worker?.postMessage(m);
}

function readSettings() {
  const num = (id: string) => Number($<HTMLInputElement>(id).value);
  const s = {
    // The page trains `tiny`; `?preset=smoke` (2 layers, context 16) is for quick browser tests
    // on slow software WebGPU adapters.
    preset: params.get("preset") === "smoke" ? "smoke" : "tiny",
    steps: num("steps"),
    batch: num("batch"),
    lr: num("lr"),
    seed: num("seed"),
  };
  for (const k of ["steps", "batch", "seed"] as const) {
    if (!Number.isInteger(s[k]) || s[k] < (k === "seed" ? 0 : 1)) {
      throw new RangeError(`${k} must be a ${k === "seed" ? "non-negative" : "positive"} integer`);
    }
  }
  if (!(s.lr > 0 && s.lr < 1)) throw new RangeError("learning rate must be in (0, 1)");
  const recipes = [...document.querySelectorAll<HTMLInputElement>("input[name=recipe]:checked")]
    .map((b) => b.value);
  if (recipes.length === 0) throw new RangeError("choose at least one recipe");
  const deviceChoice = $<HTMLSelectElement>("device-choice").value as DeviceChoice;
  return { settings: s, recipes, threads: num("threads"), device: deviceChoice };
}

function start(): void {
  error.textContent = "";
  let chosen: ReturnType<typeof readSettings>;
  try {
    chosen = readSettings();
  } catch (e) {
    error.textContent = (e as Error).message;
    return;
  }
  worker?.terminate();
  for (const k of Object.keys(progress)) delete progress[k];
  chart = undefined;
  pending = [];
  $("loss-chart").replaceChildren();
  settings = {
    ...chosen.settings,
    recipes: chosen.recipes,
    threads: chosen.threads,
    device: chosen.device,
  };
  device = "opening...";
  hook.device = hook.backend = hook.notice = "";
  $("device").textContent = device;
  worker = new Worker(new URL("src/train_worker.js", document.baseURI), { type: "module" });
  worker.onmessage = (e: MessageEvent<FromWorker>) => onMessage(e.data);
  worker.onerror = (e) => {
    error.textContent = `worker: ${e.message}`;
    hook.error = e.message;
    setState("error");
  };
  send({ type: "init", threads: chosen.threads, device: chosen.device });
  send({
    type: "start",
    settings: chosen.settings,
    recipes: chosen.recipes,
    dataUrl: new URL("data/", document.baseURI).href,
    valEvery: Math.max(1, Math.floor(chosen.settings.steps / 5)),
  });
  setState("running");
}

startButton.addEventListener("click", start);
pauseButton.addEventListener(
  "click",
  () => send({ type: state === "paused" ? "resume" : "pause" }),
);
checkpointButton.addEventListener("click", () => {
  send({ type: "checkpoint", recipe: $<HTMLSelectElement>("checkpoint-recipe").value });
});
const report = () =>
  reportJson({
    settings,
    device,
    webgpu,
    userAgent: navigator.userAgent,
    data: dataSource,
    recipes: progress,
  });
reportButton.addEventListener("click", () => {
  download(
    "fp4lab-train-report.json",
    JSON.stringify(report(), null, 2) + "\n",
    "application/json",
  );
});
csvButton.addEventListener(
  "click",
  () => download("metrics.csv", metricsCsv(progress), "text/csv"),
);
// deno-lint-ignore no-explicit-any
(globalThis as any).__trainReport = report;

// The settings form: the CLI's tiny defaults, overridable from the URL (?steps=20&batch=4).
const threadsSelect = $<HTMLSelectElement>("threads");
const cores = Math.max(1, Math.min(16, navigator.hardwareConcurrency || 1));
for (let t = 1; t <= cores; t++) threadsSelect.append(new Option(String(t), String(t)));
threadsSelect.value = params.get("threads") ?? String(cores);
for (const id of ["steps", "batch", "lr", "seed"]) {
  const v = params.get(id);
  if (v !== null) $<HTMLInputElement>(id).value = v;
}

// Cross-origin isolation and WebGPU: say what is missing and what runs instead. The page's own
// adapter check only informs (and enables Start on a page that is not isolated); the worker opens
// the device it trains on, with its own time limits.
let adapterFound = false;
/** Something can train here: the CPU kernels (isolated page) or a WebGPU adapter. */
function canStart(): boolean {
  return crossOriginIsolated || adapterFound;
}
const deviceSelect = $<HTMLSelectElement>("device-choice");
const wantedDevice = params.get("device");
if (wantedDevice === "auto" || wantedDevice === "webgpu" || wantedDevice === "cpu") {
  deviceSelect.value = wantedDevice;
}
if (!crossOriginIsolated) {
  deviceSelect.querySelector<HTMLOptionElement>("option[value=cpu]")!.disabled = true;
  if (deviceSelect.value === "cpu") deviceSelect.value = "auto";
  threadsSelect.disabled = true;
  $("isolation").hidden = false;
  $("isolation").textContent =
    "This page is not cross-origin isolated, so the browser withholds SharedArrayBuffer, which the CPU backend's worker pool needs: training can run only on WebGPU. Serve the site with the headers Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp (deno task web does; see the README for other hosts) to train on the CPU too. The planner and formats pages work without them.";
}
const adapterCheck = (async () => {
  const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  if (!gpu) {
    webgpu = "not in this browser (navigator.gpu is undefined)";
  } else {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const adapter = await Promise.race([
        gpu.requestAdapter(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error("no answer within 8 s")), 8000);
        }),
      ]) as { info?: { vendor?: string; architecture?: string; description?: string } } | null;
      const i = adapter?.info;
      adapterFound = adapter != null;
      webgpu = adapter
        ? `adapter ${
          [i?.vendor, i?.architecture, i?.description].filter(Boolean).join(" / ") || "(unnamed)"
        }`
        : "no adapter (requestAdapter() returned null)";
    } catch (e) {
      webgpu = `requestAdapter() failed: ${(e as Error).message}`;
    } finally {
      clearTimeout(timer);
    }
  }
  hook.webgpu = webgpu;
  $("webgpu").textContent = adapterFound
    ? `${webgpu}: Device auto trains on it (the engine's webgpu backend).`
    : `${webgpu}: training runs on the CPU${
      crossOriginIsolated ? "" : ", which this page cannot use (see above)"
    }.`;
  if (!canStart()) {
    $("isolation").textContent +=
      " This browser has no WebGPU adapter either, so training cannot start here.";
  }
  setState(state);
})();

setState("idle");
renderTable();
if (params.get("autostart") === "1") {
  adapterCheck.then(() => {
    if (canStart()) start();
  });
}
