import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AckTimes, p99ByWindow, percentiles } from "../../tools/bench/latency.js";

describe("bench --live latency", () => {
  it("finds the ack time of a record by its place, whatever order the acks came in", () => {
    const acks = new AckTimes();
    acks.add([{ topic: "t", partition: 1, from: 10n, to: 20n }], 2_000);
    acks.add(
      [
        { topic: "t", partition: 1, from: 0n, to: 10n },
        { topic: "t", partition: 2, from: 0n, to: 5n },
      ],
      1_000,
    );
    acks.add([{ topic: "u", partition: 1, from: 20n, to: 21n }], 3_000);
    const cases: [string, number, bigint, number | null][] = [
      ["t", 1, 0n, 1_000],
      ["t", 1, 9n, 1_000],
      ["t", 1, 10n, 2_000],
      ["t", 1, 19n, 2_000],
      ["t", 1, 20n, null],
      ["t", 2, 4n, 1_000],
      ["t", 3, 0n, null],
      ["u", 1, 20n, 3_000],
    ];
    for (const [topic, partition, offset, at] of cases)
      assert.equal(acks.at(topic, partition, offset), at, `${topic}:${partition}@${offset}`);
  });

  it("gives nearest-rank percentiles, and null for no values", () => {
    const p = percentiles(Array.from({ length: 100 }, (_, i) => 100 - i));
    assert.deepEqual(p, { n: 100, p50: 50, p95: 95, p99: 99, max: 100 });
    assert.equal(percentiles([]), null);
  });

  it("gives the p99 of each slice of the publishing time, so a slow start shows as such", () => {
    // 60 s of acks; the first 10 s waited 3 s, the rest 100 ms, five at 35 s took 900 ms
    const samples = Array.from({ length: 600 }, (_, i) => ({
      ackedAt: 1_000_000 + i * 100,
      ms: i < 100 ? 3_000 : 100,
    }));
    for (let i = 0; i < 5; i++) samples.push({ ackedAt: 1_035_000, ms: 900 });
    assert.deepEqual(p99ByWindow(samples, 6), [3_000, 100, 100, 900, 100, 100]);
    assert.deepEqual(p99ByWindow(samples, 1), [3_000]);
    assert.deepEqual(p99ByWindow([{ ackedAt: 5, ms: 7 }], 3), [7, 0, 0]);
    assert.deepEqual(p99ByWindow([], 6), []);
  });
});
