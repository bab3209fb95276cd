/**
 * Benchmark worker hosting one peer library (each in its own isolate, so onnxruntime-web can run
 * with 1 and with 2 threads in the same benchmark run). Messages:
 * `{ init: { peer: "ort" | "tfjs", threads } }` → `{ ready: true }`;
 * `{ setup: { m, k, n } }` → `{ ready: true }`; `{ run: reps }` → `{ ms }` (mean time of reps MatMuls).
 *
 * @module
 */
/// <reference lib="deno.worker" />
import * as ort from "onnxruntime-web";
import * as tf from "@tensorflow/tfjs-core";
import { setThreadsCount } from "@tensorflow/tfjs-backend-wasm";
import { onnxMatmulModel } from "./_onnx_matmul.ts";

let peer = "";
let run: () => Promise<void> = () => Promise.resolve();

function rand(len: number): Float32Array {
  return Float32Array.from({ length: len }, () => Math.random() - 0.5);
}

self.onmessage = async (e: MessageEvent) => {
  const msg = e.data;
  try {
    if (msg.init) {
      peer = msg.init.peer;
      if (peer === "ort") {
        ort.env.wasm.numThreads = msg.init.threads;
      } else {
        setThreadsCount(msg.init.threads);
        await tf.setBackend("wasm");
        await tf.ready();
      }
      self.postMessage({ ready: true });
    } else if (msg.setup) {
      const { m, k, n } = msg.setup;
      const a = rand(m * k), b = rand(k * n);
      if (peer === "ort") {
        const session = await ort.InferenceSession.create(onnxMatmulModel(m, k, n), {
          executionProviders: ["wasm"],
        });
        const A = new ort.Tensor("float32", a, [m, k]);
        const B = new ort.Tensor("float32", b, [k, n]);
        run = async () => {
          const out = await session.run({ A, B });
          if (!(out.Y.data as Float32Array).length) throw new Error("empty");
        };
      } else {
        tf.disposeVariables();
        const A = tf.tensor2d(a, [m, k]);
        const B = tf.tensor2d(b, [k, n]);
        run = () => {
          const y = tf.matMul(A, B);
          y.dataSync();
          y.dispose();
          return Promise.resolve();
        };
      }
      await run(); // warm-up
      self.postMessage({ ready: true });
    } else if (msg.run) {
      const t0 = performance.now();
      for (let i = 0; i < msg.run; i++) await run();
      self.postMessage({ ms: (performance.now() - t0) / msg.run });
    }
  } catch (err) {
    self.postMessage({ error: String(err) });
  }
};
