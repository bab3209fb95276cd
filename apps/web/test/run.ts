/**
 * `deno task test:browser`: builds the site, serves it on 127.0.0.1 with the cross-origin
 * isolation headers, and drives Debian's chromium-headless-shell and firefox-esr headless with
 * puppeteer-core through every page: the package test suites in a page and in a worker, the
 * planner page against `deno task plan --json`, the formats page against the same code run in
 * Deno, training steps on the train page against a Deno run, and a screenshot of each page.
 *
 * Every wait has a hard limit and polls; every browser is killed in `finally`. Results go to a
 * JUnit XML file (`--junit-path`, read by .ci/junit_summary.ts) and the screenshots to `--out`
 * (default .ci/browser/). `--only train,isolation` runs just those parts of each browser's run
 * (packages, planner, formats, train, layout, isolation); `--browsers firefox` one browser.
 * Exit 0 when everything passed, 1 otherwise, 2 on bad flags.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { isDeepStrictEqual } from "node:util";
import { buildSite } from "../build.ts";
import type { Browser, Page } from "./browsers.ts";
import { serveSite } from "../serve.ts";
import {
  type BrowserKind,
  BROWSERS,
  findExecutable,
  kill,
  launch,
  withTimeout,
} from "./browsers.ts";
import { type CaseResult, junitXml } from "./junit.ts";
import { ENVIRONMENT_PROBE, SUBNORMAL_PROBE } from "./probes.ts";
import { compareTensor, generateTensor, PER_CHANNEL, SCHEMES } from "../src/formats.ts";
import {
  createRun,
  deviceDescription,
  openWebGpu,
  trainStep,
  webGpuDescription,
} from "../src/train_engine.ts";
import { findTorchPython } from "../../../tests/_util/torch.ts";
import { readSafetensors } from "@fp4lab/quant-granularity";
import { unzipSync } from "fflate";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, "../../..");

/** Planner page URLs checked against the CLI. */
const PLANNER_QUERIES = [
  "?cmd=loss",
  "?cmd=loss&params=7B&tokens=1.5T&format=e4m3&block=channel",
  "?cmd=dcrit",
  "?cmd=format&bits=1-16",
  "?cmd=budget&compute=1e21,1e24,1e27",
  "?cmd=budget&compute=1e24&params=7e9&block=32",
  "?cmd=tradeoff&compute=1e23",
];

const { values: flags } = (() => {
  try {
    return parseArgs({
      args: Deno.args,
      options: {
        browsers: { type: "string" },
        "junit-path": { type: "string" },
        out: { type: "string" },
        "skip-build": { type: "boolean" },
        only: { type: "string" },
      },
      strict: true,
    });
  } catch (e) {
    console.error(`test:browser: ${(e as Error).message.split("\n")[0]}`);
    Deno.exit(2);
  }
})();
const OUT = resolve(flags.out ?? join(ROOT, ".ci/browser"));
const wanted = (flags.browsers ?? "chromium,firefox").split(",").map((s) => s.trim());
for (const w of wanted) {
  if (!BROWSERS.some((b) => b.name === w)) {
    console.error(`test:browser: unknown browser "${w}" (chromium, firefox)`);
    Deno.exit(2);
  }
}
const inCI = Deno.env.get("CI") === "true";
/** The parts of each browser's run (`--only train,isolation` runs just those; the environment
 * checks always run). */
const SECTIONS = ["packages", "planner", "formats", "train", "layout", "isolation"];
const only = flags.only?.split(",").map((s) => s.trim());
for (const o of only ?? []) {
  if (!SECTIONS.includes(o)) {
    console.error(`test:browser: unknown --only section "${o}" (${SECTIONS.join(", ")})`);
    Deno.exit(2);
  }
}
const section = (name: string) => !only || only.includes(name);

/** Relative tolerance of the planner's fit against the CLI (an iterative solver; see its check). */
const FIT_RTOL = 1e-6;

/** The package test that needs subnormal products, and its browser twin with the FTZ tolerance. */
const FTZ_EXACT_TEST = "WGSL quantize + pack gives the CPU twin's codes bit for bit";
const FTZ_TOLERANT_TEST = "WGSL quantize + pack equals the CPU twin, allowing only flushed";

/** The training steps checked in each browser against Deno. */
const TRAIN = { steps: 20, recipes: ["fp4", "bf16"] } as const;
/**
 * The train page's runs: WebGPU first (its checkpoint is read back from the GPU and loaded in
 * transformers), then the CPU backend with a pause and a resume. WebGPU trains the `smoke` preset
 * (`?preset=smoke`): the software adapters these tests have are slow, SwiftShader (Chromium) took
 * about 28 s per step of `tiny` at batch 1 on a loaded 2-core machine (4 tokens/s), lavapipe 3 s.
 */
const TRAIN_PLANS = [
  { device: "webgpu", preset: "smoke", batch: 2, pause: false, checkpoint: true },
  { device: "cpu", preset: "tiny", batch: 4, pause: true, checkpoint: false },
] as const;
/**
 * |browser loss - Deno loss| allowed at every step on the CPU backend. Same engine, same
 * WebAssembly kernels, same data: only the JavaScript engines' Math.exp/log/pow may differ in the
 * last bit (and relaxed SIMD's FMA may be fused or not by the spec's choice). Measured on the CI
 * machine: 0 in Chromium (V8, like Deno), at most 4.4e-16 in Firefox, over 20 steps of fp4 and
 * bf16.
 */
const TRAIN_LOSS_TOLERANCE = 1e-9;
/**
 * Relative |browser loss - Deno loss| allowed at every step on WebGPU: the rule of the CLI's
 * `--device webgpu` end-to-end test for a quantized recipe (tests/trainer_webgpu_e2e_test.ts: 20
 * steps against the CPU, fp4 within 5e-3; fp32, which rounds nothing, within 1e-4). Another
 * adapter compiles the same WGSL to other code (a multiply and an add fused or not, subnormals
 * flushed or kept), f32 sums may differ in the last bits, and a value next to a rounding boundary
 * of a quantized operand then rounds the other way; bf16 rounds every GEMM operand too, so it
 * gets the quantized rule. Measured (20 steps of smoke, batch 2, fp4 and bf16): Firefox (wgpu on
 * lavapipe, like Deno) within 1.6e-16 of Deno, Chromium (Dawn on SwiftShader, which flushes
 * subnormals) within 6.5e-4.
 */
const GPU_LOSS_RTOL: Record<string, number> = { fp4: 5e-3, bf16: 5e-3 };

interface DenoTrainRun {
  losses: Record<string, number[]>;
  tokensPerSec: Record<string, number>;
  device: string;
}
interface BrowserTrainRun extends DenoTrainRun {
  error: string;
  backend: string;
  notice: string;
  subnormals: "kept" | "flushed" | null;
}
const denoTrain = new Map<string, Promise<DenoTrainRun>>();
/** The WebGPU runs' losses per browser, compared across browsers at the end. */
const browserGpuLosses = new Map<
  string,
  { losses: Record<string, number[]>; subnormals: string | null }
>();
/**
 * The same steps in Deno on the same backend (WebGPU: Deno's adapter, lavapipe here), on the
 * site's data slice: computed once per device and batch, shared by the browsers.
 */
function denoTraining(
  device: "webgpu" | "cpu",
  preset: string,
  batch: number,
): Promise<DenoTrainRun> {
  const key = `${device} ${preset} ${batch}`;
  if (!denoTrain.has(key)) {
    const run = (async () => {
      const train = await Deno.readFile(join(ROOT, "apps/web/dist/data/brown-train.txt"));
      const backend = device === "webgpu" ? await openWebGpu(30_000) : undefined;
      try {
        const runs = TRAIN.recipes.map((recipe) =>
          createRun(
            { preset, recipe, steps: TRAIN.steps, batch, lr: 3e-3, seed: 1 },
            backend,
          )
        );
        // Interleaved as the page's worker runs them.
        for (let s = 0; s < TRAIN.steps; s++) for (const run of runs) await trainStep(run, train);
        for (const run of runs) if (backend) run.trainer.dispose();
        return {
          losses: Object.fromEntries(
            runs.map((r) => [r.settings.recipe, r.records.map((x) => x.loss)]),
          ),
          tokensPerSec: Object.fromEntries(
            runs.map((r) => [r.settings.recipe, (TRAIN.steps * r.tokensPerStep) / r.trainSeconds]),
          ),
          device: backend ? webGpuDescription(backend) : deviceDescription(),
        };
      } finally {
        backend?.dispose();
      }
    })();
    denoTrain.set(key, run);
    run.catch(() => denoTrain.delete(key));
  }
  return denoTrain.get(key)!;
}

/**
 * The largest difference between two runs' losses (absolute on the CPU, relative on WebGPU);
 * throws at the first step outside the tolerance.
 */
function compareLosses(
  got: Record<string, number[]>,
  want: Record<string, number[]>,
  device: "webgpu" | "cpu",
): number {
  let worst = 0;
  for (const recipe of TRAIN.recipes) {
    const a = got[recipe] ?? [], b = want[recipe];
    if (a.length !== b.length) throw new Error(`${recipe}: ${a.length} steps, want ${b.length}`);
    for (let i = 0; i < a.length; i++) {
      const d = device === "cpu" ? Math.abs(a[i] - b[i]) : Math.abs(a[i] - b[i]) / Math.abs(b[i]);
      worst = Math.max(worst, d);
      const tol = device === "cpu" ? TRAIN_LOSS_TOLERANCE : GPU_LOSS_RTOL[recipe];
      if (!(d <= tol)) {
        throw new Error(
          `${device} ${recipe} step ${i + 1}: browser ${a[i]}, Deno ${b[i]} (${
            device === "cpu" ? "" : "relative "
          }|d| ${d.toExponential(2)} > ${tol})`,
        );
      }
    }
  }
  return worst;
}

/**
 * The unzipped checkpoint folder, as Hugging Face reads it: tests/torch/eval_ref.py checks the
 * tensor names and shapes of LlamaForCausalLM, computes the loss on a text with its own float64
 * LLaMA and with `LlamaForCausalLM.from_pretrained(folder)`; the two must agree (1e-5 relative).
 * Without PyTorch or transformers it says so (a failure in CI, which installs both).
 */
async function transformersLoads(files: Record<string, Uint8Array>): Promise<string> {
  const python = findTorchPython();
  if (python === null) {
    if (inCI) throw new Error("CI installs PyTorch and transformers");
    return "transformers not checked: no python3 with torch here";
  }
  const dir = await Deno.makeTempDir({ prefix: "web_checkpoint_" });
  try {
    let folder = "";
    for (const [path, bytes] of Object.entries(files)) {
      await Deno.mkdir(join(dir, dirname(path)), { recursive: true });
      await Deno.writeFile(join(dir, path), bytes);
      folder = join(dir, dirname(path));
    }
    const text = join(dir, "eval.txt");
    await Deno.writeTextFile(text, "The jury said the case was closed. ".repeat(40));
    const out = await withTimeout(
      new Deno.Command(python, {
        args: [join(ROOT, "tests/torch/eval_ref.py"), folder, text],
        stdout: "piped",
        stderr: "piped",
      }).output(),
      180_000,
      "eval_ref.py",
    );
    if (!out.success) throw new Error(new TextDecoder().decode(out.stderr).trim().slice(-400));
    const ref = JSON.parse(new TextDecoder().decode(out.stdout));
    if (ref.problems?.length) throw new Error(`eval_ref.py: ${ref.problems.join("; ")}`);
    if (ref.hf_loss === null || ref.hf_loss === undefined) {
      if (inCI) throw new Error("CI installs transformers");
      return `names and shapes are LlamaForCausalLM's, loss ${
        ref.loss.toFixed(5)
      } (independent PyTorch LLaMA); transformers not installed`;
    }
    if (!(Math.abs(ref.hf_loss - ref.loss) <= 1e-5 * ref.loss)) {
      throw new Error(`transformers loss ${ref.hf_loss}, independent PyTorch LLaMA ${ref.loss}`);
    }
    return `LlamaForCausalLM.from_pretrained loads it: loss ${
      ref.hf_loss.toFixed(5)
    } (independent float64 LLaMA ${ref.loss.toFixed(5)})`;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
const results: CaseResult[] = [];
const launched = new Set<Browser>();

function record(r: CaseResult): void {
  results.push(r);
  const mark = r.status === "passed" ? "ok  " : r.status === "failed" ? "FAIL" : "skip";
  console.log(`${mark} [${r.suite}] ${r.name}${r.message ? ` - ${r.message}` : ""}`);
}

/** Runs one check with a hard limit and records it; returns its value or undefined. */
async function check<T>(
  suite: string,
  name: string,
  ms: number,
  fn: () => Promise<T>,
  describe?: (value: T) => string,
): Promise<T | undefined> {
  const t0 = performance.now();
  try {
    const value = await withTimeout(fn(), ms, name);
    record({
      suite,
      name,
      status: "passed",
      seconds: (performance.now() - t0) / 1000,
      message: describe?.(value),
    });
    return value;
  } catch (e) {
    record({
      suite,
      name,
      status: "failed",
      seconds: (performance.now() - t0) / 1000,
      message: e instanceof Error
        ? `${e.message}${e.cause ? ` (cause: ${e.cause})` : ""}`.replace(/\s*\n\s*/g, " | ").slice(
          0,
          600,
        )
        : String(e),
    });
    return undefined;
  }
}

/** Waits (polling) until the page's expression is truthy. */
async function until(page: Page, expression: string, ms: number): Promise<unknown> {
  // Our own polling loop rather than page.waitForFunction: under WebDriver BiDi (Firefox) that
  // once failed with a bare "Waiting failed" mid-run; a failed poll is retried here until the
  // deadline, and each poll has its own limit.
  const deadline = Date.now() + ms;
  let last = "";
  for (;;) {
    try {
      const value = await withTimeout(page.evaluate(expression), 15_000, "one poll");
      if (value) return value;
      last = "";
    } catch (e) {
      last = e instanceof Error ? e.message : String(e);
    }
    if (Date.now() >= deadline) {
      throw new Error(
        `waited ${ms / 1000} s for ${expression.slice(0, 120)}${last ? ` (${last})` : ""}`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

const cliCache = new Map<string, unknown>();
async function planJson(args: string[], cwd = ROOT): Promise<unknown> {
  const key = JSON.stringify([args, cwd]);
  if (cliCache.has(key)) return cliCache.get(key);
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      join(ROOT, "apps/planner/main.ts"),
      ...args,
      "--json",
    ],
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `deno task plan ${args.join(" ")}: ${new TextDecoder().decode(out.stderr).trim()}`,
    );
  }
  const json = JSON.parse(new TextDecoder().decode(out.stdout));
  cliCache.set(key, json);
  return json;
}

/** The first path where two JSON values differ, for a readable failure. */
/** `rtol` > 0 lets numbers differ by that much relative to the CLI's (0: exact). */
function firstDifference(a: unknown, b: unknown, path = "$", rtol = 0): string | undefined {
  if (isDeepStrictEqual(a, b)) return undefined;
  if (
    rtol > 0 && typeof a === "number" && typeof b === "number" &&
    Math.abs(a - b) <= rtol * Math.abs(b)
  ) {
    return undefined;
  }
  if (typeof a === "object" && a && typeof b === "object" && b) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const d = firstDifference(
        (a as Record<string, unknown>)[k],
        (b as Record<string, unknown>)[k],
        `${path}.${k}`,
        rtol,
      );
      if (d) return d;
    }
    // Every member matched (within rtol): the same shape and numbers.
    if (Array.isArray(a) === Array.isArray(b)) return undefined;
  }
  return `${path}: page ${JSON.stringify(a)}, CLI ${JSON.stringify(b)}`;
}

async function screenshot(page: Page, browser: string, name: string): Promise<void> {
  await Deno.mkdir(OUT, { recursive: true });
  await page.screenshot({
    path: join(OUT, `${browser}-${name}.png`) as `${string}.png`,
    fullPage: true,
  });
}

async function runBrowser(kind: BrowserKind, base: string): Promise<void> {
  const suite = kind.name;
  const executable = findExecutable(kind);
  if (!executable) {
    const message = `not installed (apt-get install ${kind.debianPackage})`;
    record({ suite, name: "browser", status: inCI ? "failed" : "skipped", seconds: 0, message });
    return;
  }
  let browser: Browser | undefined;
  try {
    browser = await check(
      suite,
      "starts",
      100_000,
      () => launch(kind, executable),
      () => executable,
    );
    if (!browser) return;
    launched.add(browser);
    const page = await browser.newPage();
    page.setDefaultTimeout(60_000);
    page.setDefaultNavigationTimeout(60_000);
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e instanceof Error ? e.message : String(e)));
    await page.setViewport({ width: 1200, height: 900 });

    // The environment: isolation, WebGPU, and whether subnormal products survive.
    await check(suite, "cross-origin isolated, WebGPU adapter", 60_000, async () => {
      await page.goto(`${base}/index.html`);
      const env = await page.evaluate(ENVIRONMENT_PROBE) as {
        crossOriginIsolated: boolean;
        threads: number;
        adapter: string | null;
        error: string | null;
      };
      if (!env.crossOriginIsolated) throw new Error("the page is not cross-origin isolated");
      if (!env.adapter) throw new Error(`no WebGPU adapter${env.error ? `: ${env.error}` : ""}`);
      return env;
    }, (env) => `adapter ${env.adapter}, ${env.threads} threads`);
    const probe = await check(
      suite,
      "WebGPU subnormal probe (2^-70 * 2^-70 in WGSL)",
      60_000,
      async () => {
        const r = await page.evaluate(SUBNORMAL_PROBE) as {
          product?: number;
          flushes?: boolean;
          error?: string;
        };
        if (r.error) throw new Error(r.error);
        return r;
      },
      (r) =>
        r.flushes
          ? "this WebGPU flushes subnormal products to zero (SwiftShader does): GPU results below 2^-126 may read 0"
          : `subnormals kept (product ${r.product})`,
    );
    await screenshot(page, suite, "index");

    if (section("packages")) {
      // The package test suites, unchanged, in the page and in a worker.
      const suites = await check(suite, "package tests load and finish", 400_000, async () => {
        await page.goto(`${base}/tests.html${inCI ? "?ci=1" : ""}`);
        await until(page, "globalThis.__testResults", 380_000);
        return await page.evaluate("globalThis.__testResults") as {
          page: { name: string; status: string; ms: number; error?: string }[];
          worker: { name: string; status: string; ms: number; error?: string }[];
          workerError?: string;
        };
      }, (r) => `${r.page.length} tests in the page, ${r.worker.length} in a worker`);
      if (suites) {
        for (const [where, list] of [["page", suites.page], ["worker", suites.worker]] as const) {
          const tolerant = list.find((t) => t.name.startsWith(FTZ_TOLERANT_TEST));
          for (const t of list) {
            let status: CaseResult["status"] = t.status === "passed"
              ? "passed"
              : t.status === "ignored"
              ? "skipped"
              : "failed";
            let message = t.error;
            // The one known deviation: on an adapter that flushes subnormal products (the probe
            // above says so), the package's bit-exact BF16 check with a non-unit scale cannot
            // hold. It is reported as skipped, saying why, only when the tolerant check of the
            // same kernels passed in the same place; any other failure stays a failure.
            if (
              status === "failed" && t.name === FTZ_EXACT_TEST && probe?.flushes === true &&
              /^AssertionError: BF16/.test(t.error ?? "") && tolerant?.status === "passed"
            ) {
              status = "skipped";
              message =
                `known: this adapter flushes subnormal products to zero (probe), so BF16 codes of x*scale < 2^-126 read 0 (${t.error}); "${tolerant.name}" passed with exactly that tolerance`;
            }
            record({ suite, name: `${where}: ${t.name}`, status, seconds: t.ms / 1000, message });
          }
        }
        if (suites.workerError) {
          record({
            suite,
            name: "worker starts",
            status: "failed",
            seconds: 0,
            message: suites.workerError,
          });
        }
        await screenshot(page, suite, "tests");
      }
    }
    if (section("planner")) {
      // The planner page gives what `deno task plan --json` gives.
      for (const query of PLANNER_QUERIES) {
        await check(suite, `planner ${query} equals deno task plan --json`, 90_000, async () => {
          await page.goto(`${base}/planner.html${query}`);
          await until(page, `document.getElementById("status")?.dataset.state === "done"`, 60_000);
          const pageJson = JSON.parse(await page.$eval("#json", (e) => e.textContent ?? ""));
          const args = JSON.parse(
            await page.$eval("#cli", (e) => (e as HTMLElement).dataset.args ?? "[]"),
          );
          const cli = await planJson(args);
          const diff = firstDifference(pageJson, cli);
          if (diff) throw new Error(diff);
          const charted = await page.$eval("#chart", (e) => e.querySelector("svg") !== null);
          if (!charted) throw new Error("no chart drawn");
        });
      }
      await check(
        suite,
        `planner fit on the example runs equals deno task plan fit --json (numbers within ${FIT_RTOL} relative, iterations within 2)`,
        180_000,
        async () => {
          await page.goto(`${base}/planner.html?cmd=fit`);
          await page.click("#fields button");
          await until(
            page,
            `document.getElementById("status")?.dataset.state === "done" && document.getElementById("json").textContent !== ""`,
            150_000,
          );
          const pageJson = JSON.parse(await page.$eval("#json", (e) => e.textContent ?? ""));
          const args = JSON.parse(
            await page.$eval("#cli", (e) => (e as HTMLElement).dataset.args ?? "[]"),
          );
          const runs = await page.$eval("#f-runs", (e) => (e as HTMLTextAreaElement).value);
          const dir = await Deno.makeTempDir();
          try {
            await Deno.writeTextFile(join(dir, "runs.csv"), runs);
            const cli = await planJson(args, dir) as Record<string, unknown>;
            // The solver may stop one iteration earlier or later on such a difference.
            const di = Math.abs((pageJson.iterations as number) - (cli.iterations as number));
            if (!(di <= 2)) {
              throw new Error(`iterations: page ${pageJson.iterations}, CLI ${cli.iterations}`);
            }
            const diff = firstDifference(
              { ...pageJson, iterations: 0 },
              { ...cli, iterations: 0 },
              "$",
              FIT_RTOL,
            );
            if (diff) throw new Error(diff);
          } finally {
            await Deno.remove(dir, { recursive: true });
          }
        },
      );
      await check(
        suite,
        "planner: a bad input names the flag, a slider moves the numbers",
        60_000,
        async () => {
          await page.goto(`${base}/planner.html?cmd=loss&params=-5`);
          await until(page, `document.getElementById("status")?.dataset.state === "error"`, 30_000);
          const error = await page.$eval("#error", (e) => e.textContent ?? "");
          if (!/--params must be a positive number/.test(error)) {
            throw new Error(`error shown: "${error}"`);
          }
          await page.goto(`${base}/planner.html?cmd=loss`);
          await until(page, `document.getElementById("status")?.dataset.state === "done"`, 30_000);
          const before = await page.$eval("#json", (e) => JSON.parse(e.textContent ?? "{}").loss);
          // Keyboard: focus the N slider and press the right arrow five times.
          await page.focus("#f-params-s0");
          for (let i = 0; i < 5; i++) await page.keyboard.press("ArrowRight");
          await until(
            page,
            `document.getElementById("f-params").value === "1.78e9" && JSON.parse(document.getElementById("json").textContent).params === 1.78e9`,
            30_000,
          );
          const after = await page.$eval("#json", (e) => JSON.parse(e.textContent ?? "{}").loss);
          if (!(after < before)) {
            throw new Error(`a bigger model should predict a lower loss: ${before} -> ${after}`);
          }
          if (!page.url().includes("params=1.78e9")) {
            throw new Error(`the URL did not follow: ${page.url()}`);
          }
        },
      );
      await page.goto(`${base}/planner.html?cmd=dcrit`);
      await until(page, `document.getElementById("status")?.dataset.state === "done"`, 30_000)
        .catch(
          () => {},
        );
      await screenshot(page, suite, "planner");
    }
    if (section("formats")) {
      // The formats page: numbers in every format, and the scheme table against Deno.
      await check(suite, "formats: numbers in every format", 60_000, async () => {
        await page.goto(`${base}/formats.html`);
        await until(
          page,
          `document.getElementById("numbers-section")?.dataset.state === "done"`,
          30_000,
        );
        await page.$eval("#numbers", (e) => {
          (e as HTMLTextAreaElement).value = "100 2.5";
          e.dispatchEvent(new Event("input", { bubbles: true }));
        });
        await until(
          page,
          `document.querySelector("#numbers-table td")?.textContent === "100"`,
          30_000,
        );
        const rows = await page.$$eval(
          "#numbers-table tr",
          (trs) => trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent)),
        );
        const e2m1 = rows.find((r) => r[0] === "100" && r[1] === "E2M1");
        if (!e2m1 || e2m1[2] !== "6" || e2m1[3] !== "0x7" || e2m1[7] !== "saturated") {
          throw new Error(`100 in E2M1: ${JSON.stringify(e2m1)}`);
        }
        const tie = rows.find((r) => r[0] === "2.5" && r[1] === "E2M1");
        if (!tie || tie[2] !== "2") {
          throw new Error(`2.5 in E2M1 (ties to even): ${JSON.stringify(tie)}`);
        }
        const bf16 = rows[rows.findIndex((r) => r[0] === "2.5") + 6];
        if (!bf16 || bf16[1] !== "BF16" || bf16[3] !== "0x4020") {
          throw new Error(`2.5 in BF16: ${JSON.stringify(bf16)}`);
        }
      });
      await check(
        suite,
        "formats: scheme error table equals the Deno computation",
        90_000,
        async () => {
          await until(
            page,
            `document.getElementById("tensor-section")?.dataset.state === "done"`,
            60_000,
          );
          const shown = await page.$$eval(
            "#error-table tr",
            (trs) =>
              trs.slice(1).map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent)),
          );
          const names = [
            ...Object.keys(SCHEMES).slice(0, 2),
            PER_CHANNEL,
            ...Object.keys(SCHEMES).slice(2),
          ];
          const x = generateTensor({
            distribution: "student-t",
            rows: 64,
            cols: 256,
            df: 3,
            outlierChannels: 4,
            outlierScale: 20,
            seed: 0,
          });
          const want = compareTensor(x, 64, 256, names).map((r) => [
            r.scheme,
            r.mse.toExponential(3),
            r.sqnrDb.toFixed(2),
          ]);
          const got = shown.map((r) => r.slice(0, 3));
          const diff = firstDifference(got, want);
          if (diff) {
            throw new Error(diff);
          }
          const charts = await page.$$eval(".chart svg", (s) => s.length);
          if (charts < 2) throw new Error(`${charts} charts drawn, want 2`);
        },
      );
      await screenshot(page, suite, "formats");
    }
    if (section("train")) {
      // Training: 20 steps of fp4 and bf16 on the train page, on WebGPU and on the CPU backend,
      // against the same steps in Deno on the same backend.
      for (const plan of TRAIN_PLANS) {
        const tol = plan.device === "cpu"
          ? `within ${TRAIN_LOSS_TOLERANCE}`
          : `within ${GPU_LOSS_RTOL.fp4} relative`;
        const trained = await check(
          suite,
          `train on ${plan.device}: ${TRAIN.steps} steps of ${
            TRAIN.recipes.join(" and ")
          } (${plan.preset}, batch ${plan.batch}) equal the Deno run on ${plan.device} ${tol}`,
          plan.device === "cpu" ? 600_000 : 900_000,
          async () => {
            const want = await denoTraining(plan.device, plan.preset, plan.batch);
            await page.goto(
              `${base}/train.html?preset=${plan.preset}&steps=${TRAIN.steps}&batch=${plan.batch}&device=${plan.device}&autostart=1`,
            );
            if (plan.pause) {
              // Pause after a few steps, check nothing moves, resume.
              await until(
                page,
                `(globalThis.__train?.progress.fp4?.records.length ?? 0) >= 3 || globalThis.__train?.state === "error"`,
                300_000,
              );
              await page.click("#pause");
              await until(
                page,
                `globalThis.__train.state === "paused" || globalThis.__train.state === "error"`,
                60_000,
              );
              const held = await page.evaluate(
                `globalThis.__train.progress.fp4.records.length`,
              ) as number;
              // A negative check needs some time to pass: one second in which no step may land.
              await new Promise((r) => setTimeout(r, 1000));
              const still = await page.evaluate(
                `globalThis.__train.progress.fp4.records.length`,
              ) as number;
              if (still !== held) throw new Error(`paused at step ${held}, but step ${still} ran`);
              await page.click("#pause");
            }
            await until(
              page,
              `globalThis.__train.state === "done" || globalThis.__train.state === "error"`,
              plan.device === "cpu" ? 540_000 : 840_000,
            );
            const got = await page.evaluate(
              `JSON.stringify({ error: __train.error, device: __train.device, backend: __train.backend,
            notice: __train.notice, subnormals: __train.subnormals,
            losses: Object.fromEntries(Object.entries(__train.progress).map(([k, p]) => [k, p.records.map((r) => r.loss)])),
            tokensPerSec: Object.fromEntries(Object.entries(__train.progress).map(([k, p]) => [k, p.tokensPerSec])) })`,
            ) as string;
            const r = JSON.parse(got) as BrowserTrainRun;
            if (r.error) throw new Error(r.error);
            // No silent fallback: the page trained on the device asked for.
            if (r.backend !== plan.device) {
              throw new Error(`asked for ${plan.device}, trained on ${r.backend}: ${r.notice}`);
            }
            const worst = compareLosses(r.losses, want.losses, plan.device);
            let vsCpu: number | undefined;
            if (plan.device === "webgpu") {
              // The CLI's end-to-end rule too: the GPU run tracks the CPU run.
              vsCpu = compareLosses(
                r.losses,
                (await denoTraining("cpu", plan.preset, plan.batch)).losses,
                "webgpu",
              );
              browserGpuLosses.set(suite, { losses: r.losses, subnormals: r.subnormals });
            }
            return { worst, vsCpu, r, want };
          },
          ({ worst, vsCpu, r, want }) =>
            `largest |d loss| ${plan.device === "cpu" ? "" : "relative "}${worst.toExponential(2)}${
              vsCpu === undefined ? "" : ` (against Deno's cpu run: ${vsCpu.toExponential(2)})`
            }${
              r.subnormals === "flushed"
                ? "; this adapter flushes subnormal results to zero (the backend's probe): the GPU losses include its effect, within the tolerance"
                : r.subnormals === "kept"
                ? "; this adapter keeps subnormals"
                : ""
            }; tokens/s fp4 ${r.tokensPerSec.fp4.toFixed(0)} bf16 ${
              r.tokensPerSec.bf16.toFixed(0)
            } on ${r.device}; Deno: fp4 ${want.tokensPerSec.fp4.toFixed(0)} bf16 ${
              want.tokensPerSec.bf16.toFixed(0)
            } on ${want.device}`,
        );
        await screenshot(page, suite, `train-${plan.device}`);
        if (trained && plan.checkpoint) {
          await check(
            suite,
            `train on ${plan.device}: the checkpoint downloads as a Hugging Face folder (zip) that transformers loads`,
            240_000,
            async () => {
              await page.select("#checkpoint-recipe", "fp4");
              await page.click("#download-checkpoint");
              await until(page, `globalThis.__train.checkpoint !== undefined`, 60_000);
              const b64 = await page.evaluate(
                `(() => { const b = new Uint8Array(__train.checkpoint.zip); let s = "";
            for (let i = 0; i < b.length; i += 32768) s += String.fromCharCode(...b.subarray(i, i + 32768));
            return __train.checkpoint.name + " " + btoa(s); })()`,
              ) as string;
              const [name, data] = b64.split(" ");
              const files = unzipSync(Uint8Array.from(atob(data), (c) => c.charCodeAt(0)));
              const st = readSafetensors(files[`${name}/model.safetensors`]);
              for (
                const t of [
                  "model.embed_tokens.weight",
                  "model.layers.1.mlp.down_proj.weight",
                  "lm_head.weight",
                ]
              ) {
                if (!st.tensors[t]) throw new Error(`${t} missing from model.safetensors`);
              }
              const config = JSON.parse(new TextDecoder().decode(files[`${name}/config.json`]));
              if (config.architectures?.[0] !== "LlamaForCausalLM") {
                throw new Error("config.json is not LLaMA");
              }
              const state = JSON.parse(
                new TextDecoder().decode(files[`${name}/trainer_state.json`]),
              );
              if (state.step !== TRAIN.steps) {
                throw new Error(`trainer_state.json step ${state.step}`);
              }
              const report = await page.evaluate(
                `JSON.stringify(globalThis.__trainReport())`,
              ) as string;
              if (JSON.parse(report).recipes.bf16.steps !== TRAIN.steps) {
                throw new Error("report incomplete");
              }
              return `${name}.zip; ${await transformersLoads(files)}`;
            },
            (what) => what,
          );
        }
      }
      await screenshot(page, suite, "train");
    }
    if (section("layout")) {
      // Phone-sized screens: nothing wider than the screen.
      await page.setViewport({ width: 390, height: 844 });
      for (const p of ["planner.html?cmd=loss", "formats.html", "train.html"]) {
        await check(
          suite,
          `phone-sized layout (390 px): ${p} has no horizontal scroll`,
          120_000,
          async () => {
            await page.goto(`${base}/${p}`);
            await until(
              page,
              `[...document.querySelectorAll("[data-state]")].every((e) => e.dataset.state === "done" || e.id === "train-status")`,
              100_000,
            );
            const width = await page.evaluate("document.documentElement.scrollWidth") as number;
            if (width > 390) throw new Error(`${p} is ${width} px wide`);
            await screenshot(page, suite, `phone-${p.split(".")[0]}`);
          },
        );
      }
      await page.setViewport({ width: 1200, height: 900 });
    }
    if (section("isolation")) {
      if (kind.name === "chromium") {
        await check(
          suite,
          "train: without isolation headers the page says why, offers no CPU, and trains on WebGPU",
          240_000,
          async () => {
            const plain = serveSite(join(ROOT, "apps/web/dist"), {
              port: 0,
              quiet: true,
              isolate: false,
            });
            try {
              await page.goto(`http://127.0.0.1:${plain.addr.port}/train.html`);
              await until(page, `document.getElementById("isolation")?.hidden === false`, 30_000);
              const text = await page.$eval("#isolation", (e) => e.textContent ?? "");
              if (!/not cross-origin isolated.*only on WebGPU/.test(text)) {
                throw new Error(`message: ${text}`);
              }
              if (
                !(await page.$eval(
                  "#device-choice option[value=cpu]",
                  (e) => (e as HTMLOptionElement).disabled,
                ))
              ) throw new Error("the CPU device is offered");
              // The adapter check decides Start: this Chromium has one (SwiftShader).
              await until(page, `globalThis.__train?.webgpu !== ""`, 30_000);
              if (await page.$eval("#start", (e) => (e as HTMLButtonElement).disabled)) {
                throw new Error("Start is disabled although WebGPU has an adapter");
              }
              // One step of each recipe on WebGPU (smoke: SwiftShader is slow), without
              // SharedArrayBuffer.
              await page.goto(
                `http://127.0.0.1:${plain.addr.port}/train.html?preset=smoke&steps=1&batch=1&autostart=1`,
              );
              await until(
                page,
                `globalThis.__train?.state === "done" || globalThis.__train?.state === "error"`,
                200_000,
              );
              const r = JSON.parse(
                await page.evaluate(
                  `JSON.stringify({ e: __train.error, b: __train.backend, n: Object.values(__train.progress).map((p) => p.records.length) })`,
                ) as string,
              );
              if (r.e) throw new Error(r.e);
              if (r.b !== "webgpu" || r.n.join() !== "1,1") {
                throw new Error(`trained on ${r.b}, steps ${r.n}`);
              }
              await page.goto(`http://127.0.0.1:${plain.addr.port}/planner.html`);
              await until(
                page,
                `document.getElementById("status")?.dataset.state === "done"`,
                30_000,
              );
            } finally {
              await plain.shutdown();
            }
          },
        );
      }
    }
    if (errors.length) {
      record({
        suite,
        name: "no uncaught page errors",
        status: "failed",
        seconds: 0,
        message: errors.join(" | "),
      });
    } else {
      record({ suite, name: "no uncaught page errors", status: "passed", seconds: 0 });
    }
  } finally {
    if (browser) {
      await kill(browser);
      launched.delete(browser);
    }
  }
}

/**
 * The WebGPU losses of the two browsers side by side: where one adapter flushes subnormal results
 * and the other keeps them, this is how far apart the flush (with the other compiler) puts them.
 * Reported, not asserted beyond the per-browser checks against Deno.
 */
function compareBrowsersOnWebGpu(): void {
  const [a, b] = [browserGpuLosses.get("chromium"), browserGpuLosses.get("firefox")];
  if (!a || !b) return;
  let worst = 0, identical = true;
  for (const recipe of TRAIN.recipes) {
    a.losses[recipe].forEach((x, i) => {
      const y = b.losses[recipe][i];
      if (x !== y) identical = false;
      worst = Math.max(worst, Math.abs(x - y) / Math.abs(y));
    });
  }
  record({
    suite: "site",
    name: "train on webgpu: Chromium's losses beside Firefox's (reported)",
    status: "passed",
    seconds: 0,
    message: `${
      identical ? "identical" : `largest relative difference ${worst.toExponential(2)}`
    }; subnormal results: Chromium ${a.subnormals}, Firefox ${b.subnormals}${
      a.subnormals !== b.subnormals && !identical
        ? " (the difference includes the flush and the two WGSL compilers; it cannot be split between them here)"
        : ""
    }`,
  });
}

async function main(): Promise<number> {
  // A last resort: whatever hangs, the run ends and the browsers die.
  const watchdog = setTimeout(async () => {
    console.error("test:browser: the whole run took more than 25 minutes; killing the browsers");
    await Promise.all([...launched].map(kill));
    Deno.exit(1);
  }, 25 * 60_000);
  let server: Deno.HttpServer<Deno.NetAddr> | undefined;
  try {
    if (!flags["skip-build"]) {
      await check("site", "builds", 300_000, () => buildSite(), (files) => {
        const js = files.filter((f) => f.path.endsWith(".js"));
        return `${files.length} files, scripts ${
          (js.reduce((s, f) => s + f.gzipBytes, 0) / 1000).toFixed(0)
        } kB gzip`;
      });
    }
    server = serveSite(join(ROOT, "apps/web/dist"), { port: 0, quiet: true });
    const base = `http://127.0.0.1:${server.addr.port}`;
    await check("site", "serves with COOP same-origin and COEP require-corp", 10_000, async () => {
      const r = await fetch(`${base}/index.html`);
      await r.body?.cancel();
      if (r.headers.get("cross-origin-opener-policy") !== "same-origin") throw new Error("no COOP");
      if (r.headers.get("cross-origin-embedder-policy") !== "require-corp") {
        throw new Error("no COEP");
      }
    });
    for (const kind of BROWSERS.filter((b) => wanted.includes(b.name))) {
      await runBrowser(kind, base);
    }
    compareBrowsersOnWebGpu();
  } finally {
    await server?.shutdown();
    clearTimeout(watchdog);
  }
  const passed = results.filter((r) => r.status === "passed").length;
  const failed = results.filter((r) => r.status === "failed").length;
  const skipped = results.filter((r) => r.status === "skipped").length;
  if (flags["junit-path"]) {
    await Deno.mkdir(dirname(resolve(flags["junit-path"])), { recursive: true });
    const tmp = `${flags["junit-path"]}.tmp`;
    await Deno.writeTextFile(tmp, junitXml(results));
    await Deno.rename(tmp, flags["junit-path"]);
  }
  console.log(`screenshots: ${OUT}`);
  console.log(
    `browser tests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`,
  );
  return failed === 0 ? 0 : 1;
}

if (import.meta.main) {
  try {
    Deno.exit(await main());
  } catch (e) {
    console.error(`test:browser: internal error: ${e instanceof Error ? e.message : String(e)}`);
    await Promise.all([...launched].map(kill));
    Deno.exit(1);
  }
}
