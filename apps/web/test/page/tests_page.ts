// tests.html: runs the package test suites in the page, then the same suites in a module
// worker, and publishes both result lists (window.__testResults) for the browser test runner.
import "./deno_shim.ts";
import { runSuite, type TestOutcome } from "./suite.ts";

const list = document.getElementById("results")!;
const summary = document.getElementById("summary")!;

function show(where: string, r: TestOutcome): void {
  const li = document.createElement("li");
  li.className = r.status;
  li.textContent = `[${where}] ${r.status === "passed" ? "ok" : r.status} ${r.name} (${
    r.ms.toFixed(0)
  } ms)${r.error ? ` - ${r.error}` : ""}`;
  list.append(li);
}

function inWorker(): Promise<TestOutcome[]> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL(`./tests_worker.js${location.search}`, import.meta.url), {
      type: "module",
    });
    worker.onmessage = (e: MessageEvent) => {
      if (e.data.type === "result") show("worker", e.data.result);
      if (e.data.type === "done") {
        worker.terminate();
        resolve(e.data.results);
      }
    };
    worker.onerror = (e) => reject(new Error(`worker: ${e.message}`));
  });
}

const count = (rs: TestOutcome[], s: string) => rs.filter((r) => r.status === s).length;
const page = await runSuite((r) => show("page", r));
let worker: TestOutcome[] = [];
let workerError: string | undefined;
try {
  worker = await inWorker();
} catch (e) {
  workerError = (e as Error).message;
}
summary.textContent = `page: ${count(page, "passed")} passed, ${
  count(page, "failed")
} failed; worker: ${
  workerError ?? `${count(worker, "passed")} passed, ${count(worker, "failed")} failed`
}`;
// deno-lint-ignore no-explicit-any
(globalThis as any).__testResults = { page, worker, workerError };
