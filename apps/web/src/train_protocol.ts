// Messages between the train page and its worker.
import type { DeviceChoice, RunSettings, StepRecord } from "./train_engine.ts";

/** Page to worker. */
export type ToWorker =
  | { type: "init"; threads: number; device: DeviceChoice }
  | {
    type: "start";
    settings: Omit<RunSettings, "recipe">;
    recipes: string[];
    dataUrl: string;
    valEvery: number;
  }
  | { type: "pause" }
  | { type: "resume" }
  | { type: "checkpoint"; recipe: string };

/** Worker to page. */
export type FromWorker =
  | {
    type: "ready";
    /** the device in words */
    device: string;
    kind: "webgpu" | "cpu";
    /** why it is not the one asked for (empty when it is) */
    notice: string;
    /** WebGPU only: whether the adapter keeps subnormal results */
    subnormals: "kept" | "flushed" | null;
  }
  | { type: "data"; source: string; trainBytes: number; valBytes: number }
  | {
    type: "step";
    recipe: string;
    record: StepRecord;
    tokensPerSec: number;
    parameters: number;
    skipped: number;
  }
  | { type: "val"; recipe: string; step: number; valLoss: number }
  | { type: "state"; state: "running" | "paused" | "done" }
  | { type: "checkpoint"; recipe: string; name: string; zip: ArrayBuffer }
  | { type: "error"; message: string };
