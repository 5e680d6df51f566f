import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import { Partitioners } from "kafkajs";
import { RememberingPartitioner } from "../../src/kafka/partitioner.js";
import { partitions } from "../support/partitions.js";

describe("the remembering partitioner", () => {
  it("chooses the partition kafkajs' Java-compatible partitioner chooses, for every key and partition count", () => {
    const java = Partitioners.DefaultPartitioner();
    const remembering = RememberingPartitioner();
    const keys = [...Array.from({ length: 300 }, () => randomUUID()), "", "đồng", "merchant-1"];
    for (const count of [1, 3, 6, 12, 7]) {
      for (const key of keys) {
        for (let twice = 0; twice < 2; twice++) {
          const args = {
            topic: "finance.voucher",
            partitionMetadata: partitions(count),
            message: { key, value: null },
          };
          assert.equal(remembering(args), java(args), `key ${key}, ${count} partitions`);
        }
      }
    }
  });

  it("follows a topic that gained partitions instead of keeping the old answer", () => {
    const remembering = RememberingPartitioner();
    const java = Partitioners.DefaultPartitioner();
    const key = Array.from({ length: 50 }, () => randomUUID()).find((k) => {
      const at = (n: number) =>
        java({ topic: "t", partitionMetadata: partitions(n), message: { key: k, value: null } });
      return at(3) !== at(12);
    });
    assert.ok(key, "a key whose partition differs between 3 and 12 partitions");
    const at = (n: number) =>
      remembering({ topic: "t", partitionMetadata: partitions(n), message: { key, value: null } });
    const before = at(3);
    assert.notEqual(at(12), before);
    assert.equal(at(3), before);
  });

  it("keeps an explicit partition and hashes Buffer keys as kafkajs does", () => {
    const remembering = RememberingPartitioner();
    const java = Partitioners.DefaultPartitioner();
    const meta = partitions(6);
    assert.equal(
      remembering({ topic: "t", partitionMetadata: meta, message: { key: "k", value: null, partition: 4 } }),
      4,
    );
    for (let i = 0; i < 50; i++) {
      const key = Buffer.from(randomUUID());
      const args = { topic: "t", partitionMetadata: meta, message: { key, value: null } };
      assert.equal(remembering(args), java(args));
    }
  });
});
