import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { batchWait, CHUNK_RECORDS, chunksOfBatch, joined } from "../../src/topology/chunks.js";
import type { ItemBatch, SourceBatch } from "../../src/topology/items.js";

const source = (n: number): SourceBatch => ({
  topic: "payment.success",
  partition: 3,
  records: Array.from({ length: n }, (_, i) => ({
    key: null,
    value: Buffer.from([i % 256]),
    headers: {},
    offset: String(1_000 + i),
  })),
});

/** A chunk as decode makes it: one item per record, the offset after its last record. */
const decoded = (chunk: SourceBatch): ItemBatch => ({
  topic: chunk.topic,
  partition: chunk.partition,
  items: chunk.records.map((record) => ({
    record,
    origin: { eventId: "", topic: chunk.topic, partition: chunk.partition, offset: Number(record.offset) },
    state: { stage: "read" },
  })),
  nextOffset: String(Number(chunk.records.at(-1)?.offset) + 1),
});

describe("a source batch in chunks", () => {
  for (const n of [1, CHUNK_RECORDS - 1, CHUNK_RECORDS, CHUNK_RECORDS + 1, 3 * CHUNK_RECORDS + 7]) {
    it(`${n} records: chunks of at most ${CHUNK_RECORDS}, every record once and in order, joined back`, () => {
      const batch = source(n);
      const chunks = chunksOfBatch(batch);
      assert.equal(chunks.length, Math.ceil(n / CHUNK_RECORDS));
      assert.ok(chunks.every((c) => c.records.length <= CHUNK_RECORDS && c.records.length > 0));
      assert.deepEqual(
        chunks.flatMap((c) => c.records),
        batch.records,
      );
      const back = joined(chunks.map(decoded));
      assert.deepEqual(
        back.items.map((i) => i.record.offset),
        batch.records.map((r) => r.offset),
      );
      assert.equal(back.nextOffset, String(1_000 + n));
      assert.equal(back.partition, 3);
    });
  }

  it("a batch's chunks keep its hold (heartbeat and let-go signal)", () => {
    const hold = { signal: new AbortController().signal, heartbeat: async () => {} };
    const chunks = chunksOfBatch({ ...source(600), hold });
    assert.ok(chunks.every((c) => c.hold === hold));
  });

  it("every chunk's wait ends when the batch's would: one timeout for the whole batch", () => {
    let now = 10_000;
    const wait = batchWait({ timeoutMs: 120_000 }, () => now);
    assert.equal(wait().timeoutMs, 120_000);
    now += 90_000; // an earlier chunk waited 90 s
    assert.equal(wait().timeoutMs, 30_000);
    now += 60_000;
    assert.equal(wait().timeoutMs, 0);
  });
});
