/**
 * Sharding a sweep across machines with the scheduler you already have (a SLURM job array, a
 * Kubernetes Indexed Job, `xargs -P`): `--shard i/n` runs every n-th run of the plan starting at
 * run i (0-based, so `$SLURM_ARRAY_TASK_ID` with `--array=0-3` or `$JOB_COMPLETION_INDEX` plug in
 * as they are). The result files in the shared sweep folder are the only shared state; the page
 * is built by whichever shard finds every result present, or later by `--report-only`.
 *
 * @module
 */
import { UsageError } from "../../_shared/cli.ts";

/** One shard of a sweep: this process runs the runs whose index modulo `count` is `index`. */
export interface Shard {
  /** 0-based shard number, below `count` */
  readonly index: number;
  /** number of shards */
  readonly count: number;
}

/**
 * Parses `--shard i/n`.
 *
 * @param text e.g. `"0/4"`
 * @returns the shard
 * @throws {UsageError} unless `i` and `n` are integers with 0 <= i < n <= 100000
 * @example
 * ```ts
 * import { parseShard } from "./shard.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseShard("1/4"), { index: 1, count: 4 });
 * assert.throws(() => parseShard("4/4"), /--shard/);
 * ```
 */
export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m ? Number(m[1]) : NaN, count = m ? Number(m[2]) : NaN;
  if (!m || !(count >= 1 && count <= 100000) || !(index < count)) {
    throw new UsageError(
      `--shard expects i/n with 0 <= i < n (e.g. 0/4, as $SLURM_ARRAY_TASK_ID/4), got "${text}"`,
    );
  }
  return { index, count };
}

/**
 * The runs of one shard: every `count`-th item starting at `index`, in plan order (a plan's
 * order interleaves seeds and recipes, so each shard gets a spread of run lengths).
 *
 * @param items the plan's runs, in order
 * @param shard the shard, or null for all
 * @returns the shard's runs
 * @example
 * ```ts
 * import { shardOf } from "./shard.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(shardOf([0, 1, 2, 3, 4], { index: 1, count: 2 }), [1, 3]);
 * assert.deepEqual(shardOf([0, 1, 2], null), [0, 1, 2]);
 * ```
 */
export function shardOf<T>(items: readonly T[], shard: Shard | null): T[] {
  return shard ? items.filter((_x, k) => k % shard.count === shard.index) : [...items];
}
