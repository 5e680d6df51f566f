import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ReplayTally } from "../../src/commands/replay-tally.js";
import type { PublishedBatch } from "../../src/topology/publish.js";

const batch = (b: Partial<PublishedBatch> & Pick<PublishedBatch, "topic" | "events">): PublishedBatch =>
  ({ partition: 0, nextOffset: "0", vouchers: [], skips: [], deadLetters: [], ...b }) as PublishedBatch;
const flush = (o: Partial<Parameters<ReplayTally["flushed"]>[1]>) => ({
  posted: {},
  replays: {},
  contentConflicts: 0,
  refused: 0,
  postingFailed: 0,
  ...o,
});

describe("the replay summary, tallied from what the topology published and the sink booked", () => {
  it("adds events by topic, skips and dead letters by reason, and the sink's bookings by kind", () => {
    const tally = new ReplayTally();
    tally.published(
      batch({
        topic: "sale.payment-succeeded",
        events: 3,
        skips: [{ reason: "ZERO_AMOUNT" }] as PublishedBatch["skips"],
        deadLetters: [{ reason: "UNRESOLVED" }] as PublishedBatch["deadLetters"],
      }),
    );
    tally.published(batch({ topic: "sale.payment-succeeded", events: 2 }));
    tally.published(
      batch({
        topic: "inventory.adjusted",
        events: 4,
        skips: [{ reason: "ZERO_AMOUNT" }, { reason: "NO_COST" }] as PublishedBatch["skips"],
      }),
    );
    tally.flushed(2, flush({ posted: { SALE_RECEIPT: 2 }, replays: { SALE_COGS: 1 } }));
    tally.flushed(
      3,
      flush({ posted: { SALE_RECEIPT: 1, SALE_COGS: 1 }, contentConflicts: 1, postingFailed: 2 }),
    );
    const s = tally.summary(2);
    assert.deepEqual(s.eventsByTopic, { "sale.payment-succeeded": 5, "inventory.adjusted": 4 });
    assert.equal(s.events, 9);
    assert.equal(s.eventsPerSecond, 5);
    assert.deepEqual(s.skips, { ZERO_AMOUNT: 2, NO_COST: 1 });
    // the sink's refusals are POSTING_FAILED dead letters beside the topology's
    assert.deepEqual(s.deadLetters, { UNRESOLVED: 1, POSTING_FAILED: 2 });
    assert.deepEqual(s.vouchersPosted, { SALE_RECEIPT: 3, SALE_COGS: 1 });
    assert.deepEqual(s.voucherReplays, { SALE_COGS: 1 });
    assert.equal(s.contentConflicts, 1);
  });

  it("summarizes an empty replay as zeros, not as a division by zero", () => {
    const s = new ReplayTally().summary(0);
    assert.equal(s.events, 0);
    assert.equal(s.eventsPerSecond, 0);
    assert.deepEqual(s.deadLetters, {});
  });
});
