import type { PurchaseOrderReceived } from "../../../src/domain/events.js";
import type { DeadLetterReason } from "../../../src/errors.js";
import { seededAccountId } from "../../../src/ids.js";
import { money } from "../../../src/money.js";
import { SOURCE_TOPICS } from "../../../src/topics.js";
import type { ResolvedDatasetOptions } from "../options.js";
import type { SimMerchant } from "../world/merchants.js";
import { amountUnits, unitsToMoney, vnd } from "./amounts.js";
import type { EventContext } from "./context.js";
import type { EventDraft } from "./item.js";
import { paymentSuccess, routedTo } from "./payment-success.js";
import { purchasePayments } from "./purchase-order-received.js";

/**
 * Where a `bad` data set places one event of each reason it covers, evenly spread, so even a
 * small data set has them all (more are drawn at random, at `badRate`).
 */
export function placedBadEvents(o: ResolvedDatasetOptions): Map<number, DeadLetterReason> {
  const placed = new Map<number, DeadLetterReason>();
  const reasons = o.badReasons;
  if (o.bad && o.events >= reasons.length + 1) {
    reasons.forEach((reason, k) => {
      placed.set(Math.floor(((k + 1) * o.events) / (reasons.length + 1)), reason);
    });
  }
  return placed;
}

/** A deliberately bad event the pipeline must dead-letter for `reason`. */
export function badEvent(ctx: EventContext, reason: DeadLetterReason): EventDraft {
  const { rng, merchants } = ctx;
  const m = ctx.merchant();
  const base = { raw: null, delivery: "ORIGINAL" as const, intended: reason };
  if (reason === "CROSS_TENANT" && merchants.length > 1) {
    // A card payment routed to another merchant's bank account.
    const other = merchants[
      (m.index + 1 + rng.int(0, merchants.length - 2)) % merchants.length
    ] as SimMerchant;
    const e = paymentSuccess(ctx, m);
    const total = e.attempts.reduce((s, a) => s.plus(a.amount), money(0));
    e.attempts = [
      {
        uid: rng.uuid(),
        method: "CARD",
        amount: total,
        tendered: null,
        finance: routedTo(ctx.account(other, "BANK").id),
      },
    ];
    return { ...base, topic: SOURCE_TOPICS.paymentSuccess, key: e.saleOrderId, event: e };
  }
  if (reason === "UNRESOLVED") {
    // A purchase order that never reached the CDC topic.
    const env = ctx.envelope(m);
    const received = amountUnits(rng, 200_000, 5_000_000, 1_000, 0);
    const e: PurchaseOrderReceived = {
      eventId: env.eventId,
      occurredAt: env.occurredAt,
      merchantId: env.merchantId,
      currency: env.currency,
      purchaseOrderId: rng.uuid(),
      receivedValue: unitsToMoney(received),
      payments: purchasePayments(ctx, m, received, 1),
    };
    return { ...base, topic: SOURCE_TOPICS.purchaseOrderReceived, key: e.purchaseOrderId, event: e };
  }
  if (reason === "UNDECODABLE") {
    // JSON where Avro in the registry's wire format is expected.
    const key = rng.uuid();
    const raw = Buffer.from(JSON.stringify({ saleOrderId: key, amount: rng.int(10, 5000) * 1000 }), "utf8");
    return { ...base, topic: SOURCE_TOPICS.paymentSuccess, key, event: null, raw };
  }
  // INVALID_PAYLOAD (also CROSS_TENANT with a single merchant): cash tendered below the amount.
  const e = paymentSuccess(ctx, m);
  const amount = amountUnits(rng, 20_000, 2_000_000, 1_000, 0);
  e.orderTotal = unitsToMoney(amount);
  e.attempts = [
    {
      uid: rng.uuid(),
      method: "CASH",
      amount: unitsToMoney(amount),
      tendered: unitsToMoney(amount - vnd(10_000)),
      finance: routedTo(seededAccountId(m.id, "CASH")),
    },
  ];
  return {
    ...base,
    intended: "INVALID_PAYLOAD",
    topic: SOURCE_TOPICS.paymentSuccess,
    key: e.saleOrderId,
    event: e,
  };
}
