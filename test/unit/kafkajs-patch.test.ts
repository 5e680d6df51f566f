import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { describe, it } from "node:test";
import fc from "fast-check";

// patches/kafkajs+2.2.4.patch, applied by `npm install` (postinstall: patch-package); what it
// changes must leave every byte kafkajs sends as it was.
const require = createRequire(import.meta.url);
const internal = (path: string) => require(`kafkajs/src/${path}`);
const crc32C: (b: Buffer) => number = internal("protocol/recordBatch/crc32C/index.js");
const tableCrc32C: (b: Buffer) => number = internal("protocol/recordBatch/crc32C/crc32C.js");
const Encoder = internal("protocol/encoder.js");
const Decoder = internal("protocol/decoder.js");
const Record = internal("protocol/recordBatch/record/v0/index.js");
const { RecordBatch } = internal("protocol/recordBatch/v0/index.js");
const decodeRecordBatch = internal("protocol/recordBatch/v0/decoder.js");
const groupMessagesPerPartition = internal("producer/groupMessagesPerPartition.js");
const ProduceRequest = internal("protocol/requests/produce/v3/request.js");

type DecodedRecord = { key: Buffer; value: Buffer; headers: Record<string, Buffer> };

/** A decoded batch's records as [key text, value, text of one header] to compare with what was sent. */
const recordsOf = (batch: { records: DecodedRecord[] }, header: string) =>
  batch.records.map((r) => [r.key.toString(), r.value, r.headers[header]?.toString()]);

describe("kafkajs as patched (patches/kafkajs+2.2.4.patch)", () => {
  it("is patched: the install step applied every change", () => {
    for (const file of [
      "protocol/recordBatch/crc32C/index.js",
      "protocol/encoder.js",
      "protocol/recordBatch/record/v0/index.js",
      "protocol/requests/produce/v3/request.js",
      "producer/groupMessagesPerPartition.js",
    ]) {
      const text = readFileSync(require.resolve(`kafkajs/src/${file}`), "utf8");
      assert.match(text, /finance-posting's patch/, `${file} is not patched: run npm install`);
    }
  });

  it("CRC-32C: the standard check value, and kafkajs' own table walk's value for any bytes", () => {
    assert.equal(crc32C(Buffer.from("123456789")), 0xe3069283);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 5_000 }), (bytes) => {
        const b = Buffer.from(bytes);
        assert.equal(crc32C(b), tableCrc32C(b) >>> 0);
      }),
      { numRuns: 500 },
    );
  });

  it("an encoder's buffer holds exactly what was written, though its memory is not zeroed first", () => {
    // Dirty the pool allocUnsafe draws from, so stale bytes would show if any leaked through.
    for (let i = 0; i < 64; i++) Buffer.allocUnsafe(512).fill(0xee);
    const e = new Encoder().writeInt8(1).writeVarIntBytes(Buffer.alloc(2_000, 7)).writeInt32(-1);
    const expected = Buffer.concat([
      Buffer.from([1]),
      Buffer.from([0xa0, 0x1f]),
      Buffer.alloc(2_000, 7),
      Buffer.alloc(4, 0xff),
    ]);
    assert.deepEqual(e.buffer, expected);
  });

  it("a record batch decodes to the records encoded, and its CRC covers attributes to end", async () => {
    const messages = Array.from({ length: 40 }, (_, i) => ({
      key: Buffer.from(`key-${i}`),
      value: Buffer.alloc(100 + 37 * i, i),
      headers: { h: `v${i}` },
    }));
    const records = messages.map((m, i) => Record({ ...m, offsetDelta: i, timestampDelta: 0 }));
    const encoded: Buffer = (
      await RecordBatch({ records, firstTimestamp: 1, maxTimestamp: 1, lastOffsetDelta: 39 })
    ).buffer;
    // firstOffset int64, length int32, leader epoch int32, magic int8, then the CRC
    assert.equal(encoded.readUInt32BE(17), tableCrc32C(encoded.subarray(21)) >>> 0);
    assert.deepEqual(
      recordsOf(await decodeRecordBatch(new Decoder(encoded)), "h"),
      messages.map((m) => [m.key.toString(), m.value, m.headers.h]),
    );
  });

  it("a produce request (v3) carries each partition's messages: keys, values, headers, in order", async () => {
    const messagesOf = (p: number) =>
      Array.from({ length: 5 + p }, (_, i) => ({
        key: `merchant-${p}`,
        value: Buffer.alloc(300 + 211 * i, p + i),
        ...(i % 2 === 0 ? { headers: { n: String(i) } } : {}),
      }));
    const partitions = [0, 1, 2].map((partition) => ({
      partition,
      firstSequence: 0,
      messages: messagesOf(partition),
    }));
    const request = ProduceRequest({
      acks: -1,
      timeout: 30_000,
      topicData: [{ topic: "finance.voucher", partitions }],
    });
    const d = new Decoder((await request.encode()).buffer);
    assert.equal(d.readString(), null); // transactional id
    assert.equal(d.readInt16(), -1);
    assert.equal(d.readInt32(), 30_000);
    assert.equal(d.readInt32(), 1);
    assert.equal(d.readString(), "finance.voucher");
    assert.equal(d.readInt32(), partitions.length);
    for (const { partition, messages } of partitions) {
      assert.equal(d.readInt32(), partition);
      const end = d.readInt32() + d.offset;
      const batch = await decodeRecordBatch(d); // reads the batch and moves past it
      assert.equal(d.offset, end);
      assert.deepEqual(
        recordsOf(batch, "n"),
        messages.map((m) => [m.key, m.value, m.headers?.n]),
      );
    }
  });

  it("messages grouped per partition keep their order within each partition", () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 5 }), { maxLength: 300 }), (partitions) => {
        const messages = partitions.map((partition, i) => ({ partition, value: String(i) }));
        const grouped = groupMessagesPerPartition({
          topic: "t",
          partitionMetadata: [{ partitionId: 0 }],
          messages,
          partitioner: ({ message }: { message: { partition: number } }) => message.partition,
        });
        const expected: Record<string, unknown[]> = {};
        for (const m of messages) expected[m.partition] = [...(expected[m.partition] ?? []), m];
        assert.deepEqual(grouped, expected);
      }),
    );
  });
});
