import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { Partitioners } from "kafkajs";
import { murmur2 } from "../../src/kafka/murmur2.js";
import { RememberingPartitioner } from "../../src/kafka/partitioner.js";
import { partitions } from "../support/partitions.js";

/**
 * Issue 20 item 11: a dead letter keeps its source record's key, and kafkajs' murmur2 hashes a
 * Buffer key with Longs that are never truncated, so its cost grows with the square of the key:
 * 20 KB took 36 ms, 200 KB 9.2 s, on every produce attempt. The project's murmur2 is Kafka's in
 * 32-bit arithmetic: the same partitions, 0.1 ms for 200 KB.
 */

describe("partitions of large keys (dead letters keep their source's key)", () => {
  it("32-bit murmur2 chooses the partition kafkajs' Java-compatible partitioner chooses", () => {
    const java = Partitioners.DefaultPartitioner();
    for (let n = 0; n < 1_500; n++) {
      const length = n < 64 ? n : (n * 7919) % 4_096;
      const key =
        n % 3 === 0 ? `🧾-${randomBytes(length).toString("hex").slice(0, length)}` : randomBytes(length);
      for (const count of [1, 6, 7]) {
        const partitionMetadata = partitions(count);
        const expected = java({
          topic: "finance.posting.dlq",
          partitionMetadata,
          message: { key, value: null },
        });
        assert.equal((murmur2(key) & 0x7fffffff) % count, expected, `key of ${length}, ${count} partitions`);
      }
    }
  });

  it("takes 0.1 ms, not seconds, for a 200 KB key", () => {
    const key = Buffer.alloc(200_000, "k");
    const started = performance.now();
    assert.equal(murmur2(key), -1825084419); // kafkajs' answer, which took 9.2 s
    assert.ok(performance.now() - started < 20);
  });

  it("the remembering partitioner places a 64 KB Buffer key within 20 ms", () => {
    const key = Buffer.alloc(64_000, "k");
    const partitioner = RememberingPartitioner();
    const started = performance.now();
    const partition = partitioner({
      topic: "finance.posting.dlq",
      partitionMetadata: partitions(6),
      message: { key, value: null },
    });
    const ms = performance.now() - started;
    assert.equal(partition, (murmur2(key) & 0x7fffffff) % 6);
    assert.ok(ms < 20, `${ms.toFixed(0)} ms`);
  });
});
