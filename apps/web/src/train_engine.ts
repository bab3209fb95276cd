/**
 * The train page's one door to the training engine. Everything the page and its worker need
 * from `@fp4lab/train` goes through this module: the engine's `createTrainer` (the CLI's step,
 * one rank: AdamW with f32 master weights, warm-up then cosine to 10%, a dynamic loss scale,
 * clipping at 1) on the `webgpu` backend when the browser gives a WebGPU adapter, else on the
 * `cpu` backend ({@link openDevice} picks, with hard time limits on the WebGPU requests).
 *
 * Runs in Deno too: the browser tests train the same steps here and in each browser.
 *
 * @module
 */
import {
  type Backend,
  createTrainer,
  createWebGpuBackend,
  hfConfig,
  presetByName,
  RECIPES,
  setThreads,
  type Trainer,
  type WebGpuBackend,
} from "@fp4lab/train";
import { getThreads, usesRelaxedSimd } from "@fp4lab/kernels";
import { seedKey, uniformAt } from "@fp4lab/fp4-format";
import { writeSafetensors } from "@fp4lab/quant-granularity";

/** What one training run is. */
export interface RunSettings {
  /** model preset: `tiny` on the page, `smoke` in quick tests */
  readonly preset: string;
  /** recipe name: `fp4`, `bf16`, ... */
  readonly recipe: string;
  readonly steps: number;
  /** sequences per step */
  readonly batch: number;
  /** peak learning rate */
  readonly lr: number;
  readonly seed: number;
}

/** One finished step. */
export interface StepRecord {
  /** 1-based */
  readonly step: number;
  readonly loss: number;
  readonly lr: number;
  /** validation loss when measured at this step, else null */
  valLoss: number | null;
  /** seconds this step took */
  readonly seconds: number;
}

/** A run in progress: one model, its optimizer, and the steps done so far. */
export interface TrainingRun {
  readonly settings: RunSettings;
  /** parameter count */
  readonly parameters: number;
  /** tokens per step (batch x context length) */
  readonly tokensPerStep: number;
  /** context length T */
  readonly contextLength: number;
  readonly records: StepRecord[];
  /** skipped steps (non-finite gradients absorbed by the loss scale) */
  skipped: number;
  /** seconds spent in training steps */
  trainSeconds: number;
  /** the engine's trainer (model, optimizer, loss scale, schedule) */
  readonly trainer: Trainer;
  readonly tokens: Int32Array;
  readonly targets: Int32Array;
}

/** The CLI's defaults for the tiny preset (`deno task train --preset tiny`). */
export const TINY_DEFAULTS: Readonly<Omit<RunSettings, "recipe">> = Object.freeze({
  preset: "tiny",
  steps: 150,
  batch: 16,
  lr: 3e-3,
  seed: 1,
});

/** Where the compute happens, for the page: the CPU kernels, their SIMD flavour, threads. */
export function deviceDescription(): string {
  return cpuDescription();
}

/** Which device the page asks for: `auto` (WebGPU when it works, else the CPU), or one of them. */
export type DeviceChoice = "auto" | "webgpu" | "cpu";

/** The device a run trains on, as {@link openDevice} found it. */
export interface EngineDevice {
  /** `webgpu` or `cpu` */
  readonly kind: "webgpu" | "cpu";
  /** the WebGPU backend (shared by the recipes' trainers); undefined on the CPU */
  readonly backend?: WebGpuBackend;
  /** for the page: the adapter, or the CPU kernels and threads */
  readonly description: string;
  /** why the device is not the one asked for or not the fastest (empty when nothing to say) */
  readonly notice: string;
}

/** Options of {@link openDevice}. */
export interface OpenDeviceOptions {
  /** CPU threads (the kernels' worker pool size) */
  readonly threads: number;
  /** whether SharedArrayBuffer is available (the CPU backend needs it) */
  readonly isolated: boolean;
  /** hard limit on each WebGPU request (a wrong browser flag makes requestAdapter hang forever) */
  readonly timeoutMs?: number;
}

function withLimit<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${what} gave no answer within ${ms / 1000} s`)),
        ms,
      );
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Opens the WebGPU backend: adapter, device (with the adapter's full buffer limits) and the
 * backend's numerics probe, each under a hard time limit.
 *
 * @throws {Error} saying what is missing (no `navigator.gpu`, no adapter, a request that hung)
 */
export async function openWebGpu(timeoutMs = 10_000): Promise<WebGpuBackend> {
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu) throw new Error("this browser has no WebGPU (navigator.gpu is undefined)");
  const adapter = await withLimit(
    gpu.requestAdapter(),
    timeoutMs,
    "navigator.gpu.requestAdapter()",
  );
  if (!adapter) throw new Error("navigator.gpu.requestAdapter() found no adapter");
  const device = await withLimit(
    adapter.requestDevice({
      requiredLimits: {
        maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
        maxBufferSize: adapter.limits.maxBufferSize,
      },
    }),
    timeoutMs,
    "adapter.requestDevice()",
  );
  const backend = await withLimit(createWebGpuBackend({ device }), timeoutMs, "the numerics probe");
  const i = adapter.info;
  const name = [i?.vendor, i?.architecture, i?.description].filter(Boolean).join(" / ") ||
    "unnamed adapter";
  return Object.assign(backend, { device: name });
}

/** "WebGPU: adapter ..." with what its arithmetic does where adapters may differ. */
export function webGpuDescription(backend: WebGpuBackend): string {
  const n = backend.numerics;
  return `WebGPU: ${backend.device}${backend.dot4 ? ", dot4I8Packed" : ""}; subnormal results ${
    n.subnormals === "flushed" ? "flushed to zero" : "kept"
  }, a*b+c ${n.multiplyAdd}`;
}

/**
 * The device to train on: WebGPU when asked (or on `auto`) and it opens, else the CPU kernels
 * (which need SharedArrayBuffer, so a cross-origin isolated page).
 *
 * @throws {Error} when neither works, saying why each does not
 */
export async function openDevice(
  choice: DeviceChoice,
  options: OpenDeviceOptions,
): Promise<EngineDevice> {
  let gpuProblem = "";
  if (choice !== "cpu") {
    try {
      const backend = await openWebGpu(options.timeoutMs);
      return { kind: "webgpu", backend, description: webGpuDescription(backend), notice: "" };
    } catch (e) {
      gpuProblem = (e as Error).message;
    }
  }
  if (!options.isolated) {
    throw new Error(
      `${
        gpuProblem ? `WebGPU: ${gpuProblem}. ` : ""
      }The CPU backend needs SharedArrayBuffer, which the browser gives only to a cross-origin isolated page.`,
    );
  }
  setThreads(options.threads);
  const notice = gpuProblem
    ? `WebGPU ${
      choice === "webgpu" ? "was chosen but " : ""
    }is not available here (${gpuProblem}): training on the CPU instead.`
    : "";
  return { kind: "cpu", description: cpuDescription(), notice };
}

function cpuDescription(): string {
  return `CPU: WebAssembly SIMD${usesRelaxedSimd() ? " (relaxed)" : ""}, ${getThreads()} thread${
    getThreads() === 1 ? "" : "s"
  }`;
}

/** Sets the kernels' worker pool size (1 = no workers). */
export function setEngineThreads(threads: number): void {
  setThreads(threads);
}

/**
 * Random training windows: the same positions the CLI's `sampleBatch` draws (its seed mixing and
 * counter-based stream), so the same bytes, seed and step give the same batch.
 */
export function sampleWindows(
  bytes: Uint8Array,
  B: number,
  T: number,
  seed: number,
  step: number,
  tokens: Int32Array,
  targets: Int32Array,
): void {
  const key = seedKey(seed ^ 0x5bd1e995);
  const span = bytes.length - T;
  for (let b = 0; b < B; b++) {
    const start = Math.floor(uniformAt(key, step * B + b) * span);
    for (let t = 0; t < T; t++) {
      tokens[b * T + t] = bytes[start + t];
      targets[b * T + t] = bytes[start + t + 1];
    }
  }
}

/**
 * A new run: the model initialised from the seed, AdamW over its parameters, on `backend` (a
 * WebGPU backend from {@link openDevice}; default: a new `cpu` backend).
 *
 * @throws {RangeError} for an unknown preset or recipe, or non-positive counts
 */
export function createRun(settings: RunSettings, backend?: Backend): TrainingRun {
  const config = presetByName(settings.preset);
  const recipe = RECIPES[settings.recipe];
  if (!recipe) throw new RangeError(`unknown recipe "${settings.recipe}"`);
  for (const k of ["steps", "batch"] as const) {
    if (!Number.isInteger(settings[k]) || settings[k] < 1) {
      throw new RangeError(`${k} must be a positive integer, got ${settings[k]}`);
    }
  }
  if (!(settings.lr > 0)) throw new RangeError(`lr must be positive, got ${settings.lr}`);
  const T = config.contextLength;
  const trainer = createTrainer({
    config,
    recipe,
    batch: settings.batch,
    lr: settings.lr,
    steps: settings.steps,
    seed: settings.seed,
    backend,
  });
  return {
    settings,
    parameters: trainer.model.layout.total,
    tokensPerStep: settings.batch * T,
    contextLength: T,
    records: [],
    skipped: 0,
    trainSeconds: 0,
    trainer,
    tokens: new Int32Array(settings.batch * T),
    targets: new Int32Array(settings.batch * T),
  };
}

/**
 * One optimizer step on windows of `train`; returns its record.
 *
 * @throws {Error} when the loss is not finite
 */
export async function trainStep(run: TrainingRun, train: Uint8Array): Promise<StepRecord> {
  const s = run.records.length;
  if (s >= run.settings.steps) throw new RangeError(`the run has done its ${s} steps`);
  const t0 = performance.now();
  const { settings } = run;
  sampleWindows(
    train,
    settings.batch,
    run.contextLength,
    settings.seed,
    s,
    run.tokens,
    run.targets,
  );
  const { loss, lr, skipped } = await run.trainer.trainStep(run.tokens, run.targets);
  if (skipped) run.skipped++;
  const seconds = (performance.now() - t0) / 1000;
  run.trainSeconds += seconds;
  const record: StepRecord = { step: s + 1, loss, lr, valLoss: null, seconds };
  run.records.push(record);
  return record;
}

/**
 * Mean loss over consecutive windows from the start of `val` (at most `windows` sequences, in
 * batches of the run's batch size); recorded on the last step.
 */
export async function validate(
  run: TrainingRun,
  val: Uint8Array,
  windows = 16,
): Promise<number> {
  const T = run.contextLength, B = run.settings.batch;
  const n = Math.max(1, Math.floor(Math.min(windows, Math.floor((val.length - 1) / T)) / B));
  const batches: { tokens: Int32Array; targets: Int32Array }[] = [];
  for (let i = 0; i < n; i++) {
    for (let b = 0; b < B; b++) {
      const start = ((i * B + b) * T) % Math.max(1, val.length - T - 1);
      for (let t = 0; t < T; t++) {
        run.tokens[b * T + t] = val[start + t];
        run.targets[b * T + t] = val[start + t + 1];
      }
    }
    batches.push({ tokens: run.tokens.slice(), targets: run.targets.slice() });
  }
  const loss = await run.trainer.evaluate(batches);
  const last = run.records.at(-1);
  if (last) last.valLoss = loss;
  return loss;
}

/**
 * The run as a Hugging Face LLaMA folder: `model.safetensors` (f32, the standard tensor names),
 * `config.json` (`LlamaForCausalLM`), the recipe and the trainer's records.
 */
export async function checkpointFiles(run: TrainingRun): Promise<Record<string, Uint8Array>> {
  const { model } = run.trainer;
  const params = await run.trainer.params();
  const tensors: Record<string, { dtype: "F32"; shape: readonly number[]; data: Float32Array }> =
    {};
  for (const p of model.layout.params) {
    tensors[p.name] = {
      dtype: "F32",
      shape: p.shape,
      data: params.subarray(p.offset, p.offset + p.size),
    };
  }
  const enc = new TextEncoder();
  const json = (v: unknown) => enc.encode(JSON.stringify(v, null, 2) + "\n");
  return {
    "model.safetensors": writeSafetensors(tensors, { format: "pt" }),
    "config.json": json(hfConfig(model.config)),
    "recipe.json": json(RECIPES[run.settings.recipe]),
    "trainer_state.json": json({
      step: run.records.length,
      settings: run.settings,
      skippedSteps: run.skipped,
      trainSeconds: run.trainSeconds,
      records: run.records,
    }),
  };
}
