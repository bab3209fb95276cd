// The train page's worker: trains the recipes side by side (one step of each in turn), so the
// page stays responsive and the kernels may block in Atomics.wait (not allowed on a page's main
// thread). Talks to the page with the messages of train_protocol.ts.
import { zipSync } from "fflate";
import {
  checkpointFiles,
  createRun,
  type EngineDevice,
  openDevice,
  type TrainingRun,
  trainStep,
  validate,
} from "./train_engine.ts";
import type { FromWorker, ToWorker } from "./train_protocol.ts";

const post = (m: FromWorker, transfer: Transferable[] = []) =>
  (self as unknown as Worker).postMessage(m, transfer);

let paused = false;
let wake: (() => void) | undefined;
const runs = new Map<string, TrainingRun>();
// The device chosen at init; start waits for it.
let device: Promise<EngineDevice> | undefined;

async function fetchBytes(url: string): Promise<Uint8Array> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

async function start(m: Extract<ToWorker, { type: "start" }>): Promise<void> {
  const [train, val, info] = await Promise.all([
    fetchBytes(`${m.dataUrl}brown-train.txt`),
    fetchBytes(`${m.dataUrl}brown-val.txt`),
    fetch(`${m.dataUrl}brown.json`).then((r) => r.json()),
  ]);
  post({ type: "data", source: info.source, trainBytes: train.length, valBytes: val.length });
  if (!device) throw new Error("start before init");
  const { backend } = await device;
  runs.clear();
  for (const recipe of m.recipes) runs.set(recipe, createRun({ ...m.settings, recipe }, backend));
  post({ type: "state", state: "running" });
  for (let s = 0; s < m.settings.steps; s++) {
    for (const [recipe, run] of runs) {
      const record = await trainStep(run, train);
      post({
        type: "step",
        recipe,
        record,
        tokensPerSec: (run.records.length * run.tokensPerStep) / run.trainSeconds,
        parameters: run.parameters,
        skipped: run.skipped,
      });
      if ((s + 1) % m.valEvery === 0 || s === m.settings.steps - 1) {
        post({ type: "val", recipe, step: s + 1, valLoss: await validate(run, val) });
      }
    }
    // Let pause, resume and checkpoint messages in between steps.
    await new Promise((r) => setTimeout(r, 0));
    if (paused) {
      post({ type: "state", state: "paused" });
      await new Promise<void>((r) => (wake = r));
      post({ type: "state", state: "running" });
    }
  }
  post({ type: "state", state: "done" });
}

self.onmessage = (e: MessageEvent<ToWorker>) => {
  const m = e.data;
  try {
    if (m.type === "init") {
      device = openDevice(m.device, {
        threads: m.threads,
        isolated: (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true,
      });
      device.then((d) =>
        post({
          type: "ready",
          device: d.description,
          kind: d.kind,
          notice: d.notice,
          subnormals: d.backend?.numerics.subnormals ?? null,
        })
      ).catch((err) => post({ type: "error", message: (err as Error).message }));
    } else if (m.type === "start") {
      start(m).catch((err) => post({ type: "error", message: (err as Error).message }));
    } else if (m.type === "pause") {
      paused = true;
    } else if (m.type === "resume") {
      paused = false;
      wake?.();
      wake = undefined;
    } else if (m.type === "checkpoint") {
      const run = runs.get(m.recipe);
      if (!run) throw new Error(`no run of recipe ${m.recipe} yet`);
      const name = `fp4lab-${run.settings.preset}-${m.recipe}-step-${
        String(run.records.length).padStart(6, "0")
      }`;
      checkpointFiles(run).then((files) => {
        const zip = zipSync(
          Object.fromEntries(Object.entries(files).map(([k, v]) => [`${name}/${k}`, v])),
          { level: 6 },
        );
        post({ type: "checkpoint", recipe: m.recipe, name, zip: zip.buffer as ArrayBuffer }, [
          zip.buffer as ArrayBuffer,
        ]);
      }).catch((err) => post({ type: "error", message: (err as Error).message }));
    }
  } catch (err) {
    post({ type: "error", message: (err as Error).message });
  }
};
