// The package test suites in a module worker: one message per test, then "done".
import "./deno_shim.ts";
import { runSuite } from "./suite.ts";

const results = await runSuite((result) => postMessage({ type: "result", result }));
postMessage({ type: "done", results });
