import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { deadLetterAt, dlqRecord, type SourceRecord } from "../../src/deadletter/records.js";
import { DLQ_TOPIC } from "../../src/topics.js";

const at = (headers: Record<string, string>): SourceRecord => ({
  topic: DLQ_TOPIC,
  partition: 4,
  offset: "77",
  key: Buffer.from("k"),
  value: Buffer.from([0, 1, 2]),
  headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, Buffer.from(v)])),
});

const origin = (partition: string, offset: string) => ({
  "__connect.errors.topic": "payment.success",
  "__connect.errors.partition": partition,
  "__connect.errors.offset": offset,
  "finance.dlq.reason": "INVALID_PAYLOAD",
  "__connect.errors.exception.message": "tendered < amount",
});

const placeOf = (h: Record<string, string>) => {
  const { topic, partition, offset } = dlqRecord(at(h));
  return [topic, partition, String(offset)];
};

describe("dlqRecord", () => {
  it("keys a dead letter by the failed event's place, with its reason and message", () => {
    const h = origin("2", "9223372036854775807");
    assert.deepEqual(dlqRecord(at(h)), {
      topic: "payment.success",
      partition: 2,
      offset: "9223372036854775807",
      key: Buffer.from("k"),
      value: Buffer.from([0, 1, 2]),
      headers: h,
      reason: "INVALID_PAYLOAD",
      error: "tendered < amount",
      dlq: { partition: 4, offset: "77" },
    });
    assert.deepEqual(placeOf(origin("2147483647", "0")), ["payment.success", 2147483647, "0"]);
  });

  it("falls back to its own place when the headers would not fit int4 / bigint, or are not numbers", () => {
    for (const [partition, offset] of [
      ["2147483648", "1"],
      ["99999999999", "1"],
      ["1", "9223372036854775808"],
      ["1", "9".repeat(30)],
      ["-1", "1"],
      ["1", "1e3"],
      ["", "1"],
    ] as const) {
      assert.deepEqual(placeOf(origin(partition, offset)), [DLQ_TOPIC, 4, "77"], `${partition}/${offset}`);
    }
    assert.deepEqual(placeOf({}), [DLQ_TOPIC, 4, "77"]);
    for (const topic of ["", "a\u0000b", "x".repeat(250), "topic with spaces", "ünïcode"]) {
      const h = { ...origin("1", "1"), "__connect.errors.topic": topic };
      assert.deepEqual(placeOf(h), [DLQ_TOPIC, 4, "77"], JSON.stringify(topic));
    }
    assert.equal(dlqRecord(at({})).reason, "UNKNOWN");
  });
});

describe("deadLetterAt", () => {
  it("keeps the record's own place, bytes and headers", () => {
    assert.deepEqual(deadLetterAt(at({ "x-trace": "t" }), "POSTING_FAILED", "refused"), {
      topic: DLQ_TOPIC,
      partition: 4,
      offset: "77",
      key: Buffer.from("k"),
      value: Buffer.from([0, 1, 2]),
      headers: { "x-trace": "t" },
      reason: "POSTING_FAILED",
      error: "refused",
    });
  });
});
