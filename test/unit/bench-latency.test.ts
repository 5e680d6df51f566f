import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AckTimes, percentiles } from "../../src/bench/latency.js";

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
});
