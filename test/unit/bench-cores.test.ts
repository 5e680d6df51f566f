import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type CpuReading, coresBySlice } from "../../tools/bench/cpu.js";

/**
 * A minute's readings once a second (each a few ms late): the broker at 0.8 cores for the
 * first 10 s and 0.4 after, `run` and its sink at 0.9, the bench's own publisher at 0.1,
 * Postgres at 0.3.
 */
function minute(): CpuReading[] {
  const start = 1_000_000;
  return Array.from({ length: 61 }, (_, s) => {
    const broker = s <= 10 ? 0.8 * s : 8 + 0.4 * (s - 10);
    const bench = 0.1 * s;
    return {
      at: start + s * 1_000 + (s % 3) * 7,
      cpu: { pipeline: bench + 0.9 * s, topology: bench, broker, postgres: 0.3 * s },
    };
  });
}

const rounded = (cores: ReturnType<typeof coresBySlice>) =>
  cores.map((c) => c && [c.financePosting, c.broker, c.postgres].map((x) => Math.round(x * 100) / 100));

describe("bench --live: cores used in each slice of the publishing time", () => {
  it("shows a broker busier in the first slice, and the pipeline's processes without the bench's own time", () => {
    const cores = coresBySlice(minute(), 1_000_000, 1_060_000, 6);
    assert.deepEqual(rounded(cores), [
      [0.9, 0.8, 0.3],
      [0.9, 0.4, 0.3],
      [0.9, 0.4, 0.3],
      [0.9, 0.4, 0.3],
      [0.9, 0.4, 0.3],
      [0.9, 0.4, 0.3],
    ]);
  });

  it("has no figure for a slice without two readings around it", () => {
    const one = minute().slice(0, 1);
    assert.deepEqual(coresBySlice(one, 1_000_000, 1_060_000, 2), [null, null]);
    assert.deepEqual(coresBySlice([], 0, 1, 1), [null]);
    // readings only in the first half: the second half's bounds both fall on the last one
    const firstHalf = minute().slice(0, 31);
    assert.deepEqual(rounded(coresBySlice(firstHalf, 1_000_000, 1_060_000, 2)), [[0.9, 0.53, 0.3], null]);
  });
});
