import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ReplayTally } from "../../src/commands/replay-tally.js";
import type { Skip, SkipReason } from "../../src/domain/voucher.js";
import type { PublishedBatch } from "../../src/topology/publish.js";

const batch = (b: Partial<PublishedBatch> & Pick<PublishedBatch, "topic" | "events">): PublishedBatch =>
  ({ partition: 0, nextOffset: "0", voucherKinds: [], skips: [], deadLetters: [], ...b }) as PublishedBatch;
const skip = (reason: SkipReason): Skip => ({ reason, eventId: "e", subject: null });
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
        skips: [skip("ZERO_COST_BASIS")],
        deadLetters: [{ reason: "UNRESOLVED" }] as PublishedBatch["deadLetters"],
      }),
    );
    tally.published(batch({ topic: "sale.payment-succeeded", events: 2 }));
    tally.published(
      batch({
        topic: "inventory.adjusted",
        events: 4,
        skips: [skip("ZERO_COST_BASIS"), skip("ZERO_VALUE_DELTA")],
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
    assert.deepEqual(s.skips, { ZERO_COST_BASIS: 2, ZERO_VALUE_DELTA: 1 });
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
