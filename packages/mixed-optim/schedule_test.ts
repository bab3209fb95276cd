import assert from "node:assert/strict";
import { lrAt, type Schedule } from "./schedule.ts";
import { assertClose } from "../../tests/_util/assert.ts";

Deno.test("constant schedule, with and without warm-up", () => {
  assert.equal(lrAt({ kind: "constant", lr: 0.1 }, 0), 0.1);
  assert.equal(lrAt({ kind: "constant", lr: 0.1 }, 10 ** 6), 0.1);
  const warm = { kind: "constant", lr: 0.4, warmupSteps: 4 } as const;
  assert.deepEqual([0, 1, 2, 3, 4, 5].map((s) => lrAt(warm, s)), [
    0.1,
    0.2,
    0.30000000000000004,
    0.4,
    0.4,
    0.4,
  ]);
});

Deno.test("cosine schedule: linear warm-up, half-cosine to the floor, then the floor", () => {
  const s: Schedule = { kind: "cosine", peakLr: 1, minLr: 0.1, warmupSteps: 10, totalSteps: 110 };
  for (let t = 0; t < 10; t++) assertClose(lrAt(s, t), (t + 1) / 10);
  assertClose(lrAt(s, 10), 1);
  assertClose(lrAt(s, 60), 0.55); // halfway: (1 + 0.1) / 2
  assertClose(lrAt(s, 35), 0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI / 4)));
  assertClose(lrAt(s, 110), 0.1);
  assertClose(lrAt(s, 5000), 0.1);
  // Monotone after the warm-up.
  for (let t = 10; t < 120; t++) assert.ok(lrAt(s, t + 1) <= lrAt(s, t));
});

Deno.test("schedules are plain data (JSON round trip)", () => {
  const s: Schedule = {
    kind: "cosine",
    peakLr: 3e-4,
    minLr: 3e-5,
    warmupSteps: 50,
    totalSteps: 1000,
  };
  const back = JSON.parse(JSON.stringify(s)) as Schedule;
  for (const t of [0, 49, 50, 500, 999, 1000]) assert.equal(lrAt(back, t), lrAt(s, t));
});

Deno.test("bad schedules and steps get clear errors", () => {
  const ok: Schedule = { kind: "cosine", peakLr: 1, minLr: 0.1, warmupSteps: 10, totalSteps: 100 };
  assert.throws(() => lrAt(ok, -1), /step must be an integer/);
  assert.throws(() => lrAt(ok, 1.5), /step must be an integer/);
  assert.throws(
    () => lrAt({ ...ok, minLr: 2 }, 0),
    /schedule.minLr must be a finite number in \[0, 1\]/,
  );
  assert.throws(() => lrAt({ ...ok, totalSteps: 5 }, 0), /schedule.totalSteps/);
  assert.throws(() => lrAt({ ...ok, peakLr: NaN }, 0), /schedule.peakLr/);
  assert.throws(() => lrAt({ kind: "constant", lr: Infinity }, 0), /schedule.lr/);
  assert.throws(
    () => lrAt({ kind: "linear" } as unknown as Schedule, 0),
    /schedule.kind must be "constant" or "cosine", got "linear"/,
  );
});
