import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { OVERSIZE_HEADER, REASON_HEADER } from "../../src/deadletter/headers.js";
import { originalRecord } from "../../src/deadletter/inverse.js";
import { ALL_SOURCE_TOPICS, DLQ_TOPIC, VOUCHER_TOPIC } from "../../src/topics.js";

const headers = (topic: string | null, extra: Record<string, string> = {}) => ({
  ...(topic === null ? {} : { "__connect.errors.topic": Buffer.from(topic) }),
  "__connect.errors.partition": Buffer.from("0"),
  [REASON_HEADER]: Buffer.from("UNRESOLVED"),
  "x-trace": Buffer.from("t"),
  ...Object.fromEntries(Object.entries(extra).map(([k, v]) => [k, Buffer.from(v)])),
});

describe("redrive's originalRecord: where a dead letter may go back to", () => {
  it("goes back only to one of the four source topics, without the error headers", () => {
    for (const topic of ALL_SOURCE_TOPICS) {
      const t = originalRecord(headers(topic), Buffer.from("k"), Buffer.from("v"));
      assert.equal(t.kind, "send");
      if (t.kind !== "send") continue;
      assert.equal(t.topic, topic);
      assert.deepEqual(Object.keys(t.message.headers ?? {}), ["x-trace"]);
      assert.deepEqual(t.message.value, Buffer.from("v"));
    }
  });

  it("refuses whatever else a header names: the voucher topic, its own topic, a topic that may not exist, garbage, nothing", () => {
    for (const topic of [
      VOUCHER_TOPIC,
      DLQ_TOPIC,
      "nx.seller.public.merchant",
      "no-such-topic",
      "\u0000garbage",
      "",
    ]) {
      assert.deepEqual(originalRecord(headers(topic), null, null), {
        kind: "refused",
        why: topic === "" ? "NO_TOPIC" : "NOT_A_SOURCE_TOPIC",
      });
    }
    assert.deepEqual(originalRecord(headers(null), null, null), { kind: "refused", why: "NO_TOPIC" });
  });

  it("a stub of a dead letter too large for the topic is kept (its bytes are only in finance.dead_letter)", () => {
    assert.deepEqual(
      originalRecord(headers("payment.success", { [OVERSIZE_HEADER]: "2000000" }), null, null),
      {
        kind: "stub",
      },
    );
  });
});
