import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createMetrics } from "../../src/metrics.js";
import { observeBatch } from "../../src/topology/observe.js";
import type { PublishedBatch } from "../../src/topology/publish.js";
import { log } from "../support/log.js";

const batch = (over: Partial<PublishedBatch>): PublishedBatch => ({
  topic: "payment.success",
  partition: 0,
  nextOffset: "10",
  events: 0,
  voucherKinds: [],
  skips: [],
  deadLetters: [],
  ...over,
});

describe("observeBatch: what a published batch did, in metrics", () => {
  it("counts events per topic and vouchers per kind, across batches", async () => {
    const metrics = createMetrics();
    const observe = observeBatch({ log, metrics });
    observe(batch({ events: 3, voucherKinds: ["SALE_RECEIPT", "SALE_CHANGE_RETURN", "SALE_RECEIPT"] }));
    observe(batch({ events: 2, voucherKinds: ["SALE_RECEIPT"] }));
    observe(batch({ topic: "inventory.issued-for-sale", events: 1, voucherKinds: ["SALE_COGS"] }));
    const emitted = await metrics.vouchersEmitted.get();
    const byKind = Object.fromEntries(emitted.values.map((v) => [v.labels.kind, v.value]));
    assert.deepEqual(byKind, { SALE_RECEIPT: 3, SALE_CHANGE_RETURN: 1, SALE_COGS: 1 });
    const consumed = await metrics.eventsConsumed.get();
    assert.deepEqual(Object.fromEntries(consumed.values.map((v) => [v.labels.topic, v.value])), {
      "payment.success": 5,
      "inventory.issued-for-sale": 1,
    });
  });
});
