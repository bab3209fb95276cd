import assert from "node:assert/strict";
import {
  getThreads,
  heapAlloc,
  heapFree,
  joinTasks,
  memoryBuffer,
  postTasks,
  runTasks,
  setThreads,
} from "./mod.ts";

Deno.test("postTasks + joinTasks: the job runs whole, with 1 and 2 threads", () => {
  const before = getThreads();
  const n = 1 << 18;
  const ptr = heapAlloc(n * 4);
  try {
    for (const threads of [1, 2]) {
      setThreads(threads);
      for (let round = 0; round < 3; round++) {
        const value = threads * 10 + round;
        // fillTask(p, n, value, per, t, scratch): 64 tasks of 4096 elements
        postTasks("fillTask", [ptr, n, value, 4096], n / 4096);
        // The calling thread is free while the job is open, but may not start another.
        assert.throws(() => runTasks("fillTask", [ptr, n, 0, 4096], 1), /still open/);
        assert.throws(() => postTasks("fillTask", [ptr, n, 0, 4096], 1), /still open/);
        joinTasks();
        const view = new Float32Array(memoryBuffer(), ptr, n);
        assert.ok(view.every((v) => v === value), `${threads} threads, round ${round}`);
      }
    }
    joinTasks(); // nothing open: a no-op
  } finally {
    heapFree(ptr);
    setThreads(before);
  }
});

Deno.test("postTasks refuses a name that is not a pool kernel", () => {
  const before = getThreads();
  setThreads(2);
  try {
    assert.throws(() => postTasks("notAKernel", [], 4), /not a pool kernel/);
    joinTasks();
  } finally {
    setThreads(before);
  }
});
